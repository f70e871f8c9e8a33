"""FLOPs per clip of a registered model at a scale (``torch.utils.flop_counter``).

A clip is one example (batch size 1) of each modality the model reads, at the scale's input size
(its ``frames`` and ``size``, :mod:`musclemap_lib.models.scales`): video ``(1, C, T, S, S)``,
skeleton ``(1, 1, T, 17, 3)`` (one person, COCO-17). The model runs in eval mode, forward only.

Counting convention (``FlopCounterMode``): one multiply-add is 2 FLOPs, and only the operators
it knows are counted (matmuls, convolutions, attention); element-wise ops, norms and pooling
count zero. The model and the clip are built on the ``meta`` device, so even paper-scale models
are counted in about a second without computing anything; a model whose forward cannot run on
``meta`` (e.g. it reads a tensor value) is counted on the CPU instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from musclemap_lib.modalities import SKELETON_CHANNELS, VIDEO_CHANNELS
from musclemap_lib.models.registry import build_model
from musclemap_lib.models.scales import PAPER, ScaleSpec, get_scale
from musclemap_lib.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)


def example_batch(
    modalities: Sequence[str],
    scale: ScaleSpec | str,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
    persons: int = 1,
    num_classes: int = 20,
) -> dict[str, torch.Tensor]:
    """A random batch dict holding ``modalities`` at the scale's input size, plus ``labels``.

    Args:
        modalities: the batch keys to fill (a model's ``.modalities``).
        scale: a :class:`ScaleSpec` or a scale name (sets T and the crop size S).
        batch_size: B.
        device: where the tensors live (``"meta"`` for shape-only counting).
        generator: seeds the values (CPU only); ignored on ``meta``.
        persons: M of the skeleton tensor.
        num_classes: width of the multi-hot ``labels`` (B, num_classes), which every batch of the
            contract holds (and which the parameter-free baselines read their batch size from).

    Returns:
        ``{"rgb": (B, 3, T, S, S), "flow": (B, 2, T, S, S), "skeleton": (B, M, T, 17, 3), ...,
        "labels": (B, num_classes)}``, float32; standard-normal values (skeleton confidences in
        [0, 1]), all-zero labels.
    """
    s = get_scale(scale)
    device = torch.device(device)
    batch: dict[str, torch.Tensor] = {}
    for m in modalities:
        if m == "skeleton":
            shape: tuple[int, ...] = (batch_size, persons, s.frames, NUM_JOINTS, SKELETON_CHANNELS)
        elif m in VIDEO_CHANNELS:
            shape = (batch_size, VIDEO_CHANNELS[m], s.frames, s.size, s.size)
        else:
            raise ValueError(
                f"unknown modality {m!r}; expected one of skeleton, {', '.join(VIDEO_CHANNELS)}"
            )
        if device.type == "meta":
            batch[m] = torch.empty(shape, device=device)
            continue
        x = torch.randn(shape, generator=generator)
        if m == "skeleton":
            x[..., 2] = torch.rand(shape[:-1], generator=generator)  # confidence in [0, 1]
        batch[m] = x.to(device)
    batch["labels"] = torch.zeros(batch_size, num_classes, device=device)
    return batch


def count_flops(model: nn.Module, batch: dict[str, torch.Tensor]) -> int:
    """Total FLOPs of one forward pass of ``model`` on ``batch`` (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(batch)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def flops_per_clip(name: str, scale: ScaleSpec | str = PAPER, **overrides: object) -> int:
    """FLOPs of one forward pass on one clip of a registered model at a scale.

    Args:
        name: a registered model name.
        scale: a :class:`ScaleSpec` or a scale name.
        **overrides: builder options (e.g. ``modality="flow"``).
    """
    try:
        with torch.device("meta"):
            model = build_model(name, scale=scale, **overrides)
        return count_flops(model, example_batch(model.modalities, scale, device="meta"))
    except Exception as err:  # noqa: BLE001  (anything meta cannot run -> count on the CPU)
        log.info("%s cannot run on the meta device (%s); counting FLOPs on the CPU", name, err)
    model = build_model(name, scale=scale, **overrides)
    gen = torch.Generator().manual_seed(0)
    return count_flops(model, example_batch(model.modalities, scale, generator=gen))
