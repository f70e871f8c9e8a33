"""The input modalities and the batch contract shared by the data pipeline and the models.

A batch is a ``dict``. Each modality a model reads is a float32 tensor under its own key:

==============  ======================  ==========================================================
key             shape                   meaning
==============  ======================  ==========================================================
``rgb``         ``(B, 3, T, H, W)``     normalised RGB frames
``rgb_diff``    ``(B, 3, T, H, W)``     ``|F_t - F_{t-1}|`` of the [0, 1] frames, first frame 0
``flow``        ``(B, 2, T, H, W)``     Farneback optical flow (dx, dy), scaled to about [-1, 1]
``skeleton``    ``(B, M, T, V, 3)``     2-D joints (x, y, confidence), M persons, V = 17 (COCO)
==============  ======================  ==========================================================

plus ``labels`` ``(B, 20)`` float32 multi-hot, and ``clip_id`` / ``activity`` lists of strings.
Models never import the data package; both sides import this module.
"""

from __future__ import annotations

from typing import Literal

Modality = Literal["rgb", "rgb_diff", "flow", "skeleton"]
MODALITIES: tuple[str, ...] = ("rgb", "rgb_diff", "flow", "skeleton")
VIDEO_MODALITIES: tuple[str, ...] = ("rgb", "rgb_diff", "flow")
# Channels of each video modality (the C of (B, C, T, H, W)).
VIDEO_CHANNELS: dict[str, int] = {"rgb": 3, "rgb_diff": 3, "flow": 2}
SKELETON_CHANNELS: int = 3  # x, y, confidence


def check_modality(name: str) -> str:
    """Return ``name`` if it is a known modality, else raise a ``ValueError`` listing them."""
    if name not in MODALITIES:
        raise ValueError(f"unknown modality {name!r}; expected one of {', '.join(MODALITIES)}")
    return name
