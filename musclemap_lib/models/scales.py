"""Scales: how a model and its input shrink from the paper's size to ``cpu`` and ``smoke``.

One place holds the reduction rules, so no model is shrunk by hand (issue 4). A family file reads
its paper configuration and applies :func:`scaled_width` / :func:`scaled_depth` to it; the input
clip for a scale is :data:`INPUT_SIZES`. The ``paper`` scale is the identity.

Rules (documented in the book's efficiency page):

* widths (channels, embedding dims) are multiplied by ``width`` and rounded to a multiple of
  ``width_multiple`` (at least that multiple), so attention heads and group convs stay valid;
* the number of repeated blocks of a stage is multiplied by ``depth`` and rounded, at least 1;
* the clip is ``frames`` x ``size`` x ``size``; skeleton clips use ``frames`` too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from musclemap_lib.models.registry import SCALES, Scale


@dataclass(frozen=True)
class ScaleSpec:
    """Reduction rule of one scale."""

    width: float  # multiplier on every channel / embedding width
    depth: float  # multiplier on the number of repeated blocks per stage
    width_multiple: int  # widths are rounded to a multiple of this (>= it)
    frames: int  # clip length T
    size: int  # crop side H = W in pixels


SCALE_SPECS: dict[str, ScaleSpec] = {
    # PAPER: 16 frames x 224 x 224 (section 4.6 / appendix C).
    "paper": ScaleSpec(width=1.0, depth=1.0, width_multiple=1, frames=16, size=224),
    # A 2-core CPU trains a few thousand clips per minute at this size.
    "cpu": ScaleSpec(width=0.25, depth=0.25, width_multiple=8, frames=8, size=64),
    # Tests and CI: seconds per model.
    "smoke": ScaleSpec(width=0.125, depth=0.125, width_multiple=8, frames=4, size=32),
}
assert tuple(SCALE_SPECS) == SCALES


def spec(scale: Scale) -> ScaleSpec:
    """Return the :class:`ScaleSpec` of a scale name."""
    if scale not in SCALE_SPECS:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    return SCALE_SPECS[scale]


def scaled_width(channels: int, scale: Scale) -> int:
    """Scale a channel count by the scale's width rule."""
    s = spec(scale)
    if s.width == 1.0:
        return channels
    m = s.width_multiple
    return max(m, int(round(channels * s.width / m)) * m)


def scaled_depth(blocks: int, scale: Scale) -> int:
    """Scale a number of repeated blocks by the scale's depth rule (at least 1)."""
    s = spec(scale)
    if s.depth == 1.0:
        return blocks
    return max(1, math.ceil(blocks * s.depth))
