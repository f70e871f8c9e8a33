"""The statistical baselines of Table 2: Random and All Ones.

PAPER: appendix D, "statistic calculations, e.g., randomly guess (Random)". Neither has a
parameter; both go through the same evaluation code path as the learned models.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.registry import register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec
from musclemap_lib.muscles import NUM_MUSCLES


def _batch_size(batch: Mapping[str, torch.Tensor]) -> tuple[int, torch.device]:
    for value in batch.values():
        if isinstance(value, torch.Tensor):
            return value.shape[0], value.device
    raise ValueError("the batch holds no tensor, so its size is unknown (expected e.g. 'labels')")


class RandomScores(AMGEModel):
    """Scores drawn uniformly at random from a seeded generator, independent of the input.

    The generator is reset by :meth:`reset`, so two evaluations of the same model with the same
    seed score the same clips identically. The registered ``random`` takes its seed from torch's
    global RNG (:func:`torch.initial_seed`, which ``seed_everything(seed)`` sets), so a run's seed
    seeds it as it seeds every other model's initialisation.

    Args:
        num_classes: number of muscle groups.
        seed: seed of the score stream.
    """

    def __init__(self, num_classes: int = NUM_MUSCLES, seed: int = 0) -> None:
        super().__init__((), num_classes)
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """Restart the score stream from :attr:`seed`."""
        self._gen = torch.Generator().manual_seed(self.seed)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        b, device = _batch_size(batch)
        # Uniform in (0, 1) read as probabilities: logit(u) keeps the order and is a valid logit.
        u = torch.rand(b, self.num_classes, generator=self._gen).clamp(1e-6, 1 - 1e-6)
        return torch.logit(u).to(device)


class AllOnes(AMGEModel):
    """Predicts every muscle group as active with the same score for every clip."""

    def __init__(self, num_classes: int = NUM_MUSCLES) -> None:
        super().__init__((), num_classes)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        b, device = _batch_size(batch)
        return torch.ones(b, self.num_classes, device=device)


def _no_options(name: str, variant: Mapping[str, object]) -> None:
    if variant:
        raise ValueError(
            f"{name} takes no option, got {sorted(variant)} (a seed comes from torch.manual_seed "
            "or seed_everything before the build)"
        )


@register_model
def random(
    scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: object
) -> nn.Module:
    """Random scores seeded by torch's global RNG (the scale changes nothing: no parameter)."""
    _no_options("random", variant)
    # torch.initial_seed() is the seed of torch.manual_seed / seed_everything: the run's seed.
    return RandomScores(num_classes=num_classes, seed=torch.initial_seed())


@register_model
def all_ones(
    scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: object
) -> nn.Module:
    """A constant score of one for every muscle group."""
    _no_options("all_ones", variant)
    return AllOnes(num_classes=num_classes)
