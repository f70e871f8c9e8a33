"""What every model of the study shares: the modalities it reads, input and config checking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from musclemap_lib.modalities import SKELETON_CHANNELS, VIDEO_CHANNELS, check_modality


class AMGEModel(nn.Module):
    """Base class: a model reads the batch dict and returns logits ``(B, num_classes)``.

    Subclasses set ``modalities`` (the batch keys they read, in order) and implement
    ``forward_features`` / ``forward_head``. :meth:`inputs` fetches and checks the tensors, so a
    missing key, a wrong shape or a wrong dtype gets an error that names what was expected.
    """

    modalities: tuple[str, ...] = ()

    def __init__(self, modalities: tuple[str, ...], num_classes: int) -> None:
        super().__init__()
        self.modalities = tuple(check_modality(m) for m in modalities)
        self.num_classes = num_classes

    def inputs(self, batch: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """Return the tensors of :attr:`modalities` from ``batch``, checked.

        Raises:
            KeyError: when a modality is missing from the batch.
            ValueError: for a wrong rank, channel count or dtype.
        """
        if not isinstance(batch, Mapping):
            raise TypeError(
                f"{type(self).__name__} takes the batch dict (keys {list(self.modalities)}), "
                f"got {type(batch).__name__}"
            )
        out = []
        for m in self.modalities:
            if m not in batch:
                raise KeyError(
                    f"{type(self).__name__} reads modality {m!r}, which the batch lacks "
                    f"(batch keys: {sorted(batch)}); ask the data module for modalities={list(self.modalities)}"
                )
            out.append(check_input(m, batch[m]))
        return out


def check_input(modality: str, x: torch.Tensor) -> torch.Tensor:
    """Check one modality tensor against the batch contract of :mod:`musclemap_lib.modalities`."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"modality {modality!r} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"modality {modality!r} must be a floating-point tensor, got {x.dtype}")
    if modality == "skeleton":
        if x.ndim != 5 or x.shape[-1] != SKELETON_CHANNELS:
            raise ValueError(
                f"modality 'skeleton' must have shape (B, M, T, V, {SKELETON_CHANNELS}), got {tuple(x.shape)}"
            )
    else:
        c = VIDEO_CHANNELS[modality]
        if x.ndim != 5 or x.shape[1] != c:
            raise ValueError(
                f"modality {modality!r} must have shape (B, {c}, T, H, W), got {tuple(x.shape)}"
            )
    return x


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise a ValueError naming the config field when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
