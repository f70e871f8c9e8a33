"""Scales: how a model and its input shrink from the paper's size to ``cpu`` and ``smoke``.

One place holds the reduction rules, so no model is shrunk by hand (issue 4). A scale is a value,
a :class:`ScaleSpec`: every builder takes one (:data:`PAPER` by default), a family file reads its
paper configuration and applies :func:`scaled_width` / :func:`scaled_depth` with it, and the input
clip of a scale is its ``frames`` x ``size`` x ``size``. :data:`PAPER` is the identity.
:data:`SCALES` names the three scales of the study for the CLI, the profiles and the benchmarks;
:func:`get_scale` turns such a name into its value.

Rules (documented in the book's efficiency page):

* widths (channels, embedding dims) are multiplied by ``width`` and rounded to a multiple of
  ``width_multiple`` (at least that multiple), so attention heads and group convs stay valid;
* the number of repeated blocks of a stage is multiplied by ``depth`` and rounded up, at least 1;
* the clip is ``frames`` x ``size`` x ``size``; skeleton clips use ``frames`` too.
"""

from __future__ import annotations

import math

from musclemap_lib.config import CPU_SCALE as CPU
from musclemap_lib.config import PAPER_SCALE as PAPER
from musclemap_lib.config import SMOKE_SCALE as SMOKE
from musclemap_lib.config import ScaleSpec

# The scale values live with the other configs (torch-free, so the study's profiles hold them).
SCALES: dict[str, ScaleSpec] = {s.name: s for s in (PAPER, CPU, SMOKE)}


def get_scale(scale: ScaleSpec | str) -> ScaleSpec:
    """Return ``scale`` itself, or the :class:`ScaleSpec` of a name in :data:`SCALES`.

    Raises:
        ValueError: for anything else (the message lists the scale names).
    """
    if isinstance(scale, str):
        if scale in SCALES:
            return SCALES[scale]
    elif isinstance(scale, ScaleSpec):
        return scale
    raise ValueError(f"unknown scale {scale!r}; pass a ScaleSpec or one of {', '.join(SCALES)}")


def scaled_width(channels: int, spec: ScaleSpec) -> int:
    """Scale a channel count by the width rule of ``spec``."""
    if spec.width == 1.0:
        return channels
    m = spec.width_multiple
    return max(m, int(round(channels * spec.width / m)) * m)


def scaled_depth(blocks: int, spec: ScaleSpec) -> int:
    """Scale a number of repeated blocks by the depth rule of ``spec`` (at least 1)."""
    if spec.depth == 1.0:
        return blocks
    return max(1, math.ceil(blocks * spec.depth))


def scaled_heads(width: int, head_width: int, spec: ScaleSpec) -> tuple[int, int]:
    """Scale an attention stage: width and head width by the width rule, heads their ratio.

    Returns:
        ``(width, num_heads)`` at ``spec``.

    Raises:
        ValueError: when the scaled width is not a multiple of the scaled head width.
    """
    embed, head = scaled_width(width, spec), scaled_width(head_width, spec)
    if embed % head:
        raise ValueError(f"scaled width {embed} is not a multiple of the head width {head}")
    return embed, embed // head
