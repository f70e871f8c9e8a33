"""Two-branch models (TransM3E, late fusion): their shared base and the stage-1 weight loading.

PAPER: section 4.5, the two-stage schedule. Stage 1 trains each branch alone with MCT only
(``mvitv2_s_mct`` and ``hdgcn_mct``, or their variants: see
:func:`musclemap_lib.models.transm3e.stage1_models`); stage 2 builds the two-branch model and
starts its branches from those weights, which :meth:`TwoBranchModel.load_stage1` loads. The
training engine calls that method for any model that depends on stage-1 runs, so it never needs
to know which family the model belongs to.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from musclemap_lib.models.base import AMGEModel

log = logging.getLogger(__name__)


class TwoBranchModel(AMGEModel):
    """A main (RGB) branch and an auxiliary branch that reads the batch dict together.

    The model reads the union of the two branches' modalities (main first).

    Args:
        main: the main-branch model (an ``AMGEModel``).
        aux: the auxiliary-branch model.
        num_classes: number of muscle groups.
    """

    def __init__(self, main: AMGEModel, aux: AMGEModel, num_classes: int) -> None:
        super().__init__(tuple(dict.fromkeys((*main.modalities, *aux.modalities))), num_classes)
        self.main, self.aux = main, aux

    def load_stage1(self, states: Sequence[Mapping[str, torch.Tensor]]) -> str:
        """Load the two stage-1 single-branch models into this stage-2 model.

        Each state dict goes into its branch by name (``states[0]`` into :attr:`main`,
        ``states[1]`` into :attr:`aux`). Everything stage 2 adds (distillation tokens, their P_s
        merges, the fusions, the KD projections, a late-fusion head) keeps its fresh
        initialisation and is listed in the report.

        Args:
            states: ``state_dict()`` of the stage-1 main-branch model and of the stage-1
                auxiliary model, in that order.

        Returns:
            The human-readable report of :class:`Stage1Report` (also logged).

        Raises:
            ValueError: for another number of state dicts than 2, when a name matches with
                another shape, or when no name matches at all (a checkpoint of another model, or
                one with a prefix such as ``model.``).
        """
        return str(load_stage1_weights(self, states))


@dataclass(frozen=True)
class Stage1Report:
    """What :meth:`TwoBranchModel.load_stage1` did, per branch (``main``, ``aux``)."""

    loaded: dict[str, tuple[str, ...]]  # parameter/buffer names copied from the stage-1 model
    missing: dict[str, tuple[str, ...]]  # stage-2 names the stage-1 model lacks (kept fresh)
    unused: dict[str, tuple[str, ...]]  # stage-1 names stage 2 has no place for

    def __str__(self) -> str:
        lines = []
        for branch in self.loaded:
            lines.append(
                f"{branch}: loaded {len(self.loaded[branch])}, fresh {list(self.missing[branch])}, "
                f"unused {list(self.unused[branch])}"
            )
        return "\n".join(lines)


def load_stage1_weights(
    model: TwoBranchModel, states: Sequence[Mapping[str, torch.Tensor]]
) -> Stage1Report:
    """What :meth:`TwoBranchModel.load_stage1` does, returning the :class:`Stage1Report` itself."""
    if len(states) != 2:
        raise ValueError(
            f"stage 2 starts from 2 stage-1 state dicts (main, aux), got {len(states)}"
        )
    loaded, missing, unused = {}, {}, {}
    for name, branch, source in zip(("main", "aux"), (model.main, model.aux), states, strict=True):
        target = branch.state_dict()
        bad = [
            f"{k}: stage-1 {tuple(v.shape)} vs stage-2 {tuple(target[k].shape)}"
            for k, v in source.items()
            if k in target and v.shape != target[k].shape
        ]
        if bad:
            raise ValueError(
                f"stage-1 {name} weights do not fit the {name} branch (was stage 1 trained with "
                f"the same num_tokens, scale and modality?): " + "; ".join(bad)
            )
        hits = [k for k in source if k in target]
        if not hits:
            raise ValueError(
                f"no stage-1 {name} key matches the {name} branch (e.g. stage 1 has "
                f"{list(source)[:3]}, the branch has {list(target)[:3]}); pass the single-branch "
                f"model's own state_dict() (strip any 'model.' prefix of a training checkpoint)"
            )
        merged = dict(target)
        merged.update({k: source[k] for k in hits})
        branch.load_state_dict(merged, strict=True)
        loaded[name] = tuple(hits)
        missing[name] = tuple(k for k in target if k not in source)
        unused[name] = tuple(k for k in source if k not in target)
    report = Stage1Report(loaded, missing, unused)
    log.info("stage-1 weights loaded:\n%s", report)
    return report
