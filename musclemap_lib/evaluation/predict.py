"""Multi-view scoring and the metrics of one run.

Every model, learned or not (Random and All Ones included), is evaluated by the same two calls:

1. :func:`score_split` runs the model over ``k`` temporal views of each clip of a split, turns
   logits into scores (sigmoid for BCE, softmax for the released code's loss) and averages the
   scores of each clip over its views;
2. :func:`run_metrics` computes the paper's mAP on ``known_val``, ``new_val``, ``known_test`` and
   ``new_test`` (in percent), derives ``mean_val`` and ``mean_test``, and adds per-muscle AP and
   bootstrap intervals.

DEVIATION: the released code scores one clip per video, the video's start, with one centre crop
(reference/official-code.md section 5). The number of views is a profile setting here; ``k = 1``
with a centre view is the closest to the released protocol.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap_lib.config import LossKind
from musclemap_lib.evaluation.metrics import (
    bootstrap_map,
    mean_average_precision,
    per_muscle_average_precision,
)
from musclemap_lib.muscles import MUSCLE_GROUPS
from musclemap_lib.splits import EVAL_SPLITS, MEANS, METRIC_SPLITS
from musclemap_lib.training.losses import logits_of, scores_from_logits

log = logging.getLogger(__name__)


@dataclass
class SplitScores:
    """The scores of one split: one row per clip, in a fixed clip order.

    Attributes:
        clip_ids: ``N`` clip ids.
        scores: ``(N, 20)`` float32 scores in [0, 1], averaged over the views.
        labels: ``(N, 20)`` uint8 multi-hot labels.
        views: number of views averaged.
    """

    clip_ids: list[str]
    scores: np.ndarray
    labels: np.ndarray
    views: int = 1

    def __post_init__(self) -> None:
        n = len(self.clip_ids)
        if self.scores.shape != (n, self.labels.shape[1]) or self.labels.shape[0] != n:
            raise ValueError(
                f"SplitScores: {n} clip ids, scores {self.scores.shape}, labels {self.labels.shape}"
            )


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def score_split(
    model: nn.Module,
    loader: Iterable[Mapping[str, Any]],
    activation: LossKind,
    device: torch.device | str = "cpu",
) -> tuple[SplitScores, int]:
    """Score one split; the views of a clip (items sharing a ``clip_id``) are averaged.

    The data pipeline's multi-view loader (``MuscleMapDataModule.split_dataloader(split,
    views=k)``) yields ``k`` items per clip, evenly spaced in time; a single-view loader yields
    one.

    Args:
        model: the model (put in eval mode here).
        loader: batch dicts with the model's modalities, ``labels`` ``(B, 20)`` and ``clip_id``
            (and optionally ``skipped``: clip ids the pipeline dropped as bad).
        activation: ``bce`` -> sigmoid scores, ``softmax_bce`` -> softmax scores.
        device: where the model runs; bf16 autocast on a CUDA device only.

    Returns:
        ``(scores, skipped)``: the :class:`SplitScores` in order of first appearance, and the
        number of distinct clips skipped as bad.

    Raises:
        KeyError: when a batch lacks ``clip_id`` or ``labels``.
        ValueError: when the views of one clip disagree on its labels, or clips have different
            numbers of views.
    """
    device = torch.device(device)
    model.eval().to(device)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    )
    index: dict[str, int] = {}
    sums: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    counts: list[int] = []
    skipped: set[str] = set()
    for batch in loader:
        skipped.update(str(c) for c in batch.get("skipped", ()))
        if "clip_id" not in batch or "labels" not in batch:
            raise KeyError(f"an evaluation batch needs 'clip_id' and 'labels'; got {sorted(batch)}")
        if len(batch["clip_id"]) == 0:
            continue  # every clip of this batch was skipped
        with autocast:
            logits = logits_of(model(_to_device(batch, device)))
        s = scores_from_logits(logits, activation).cpu().numpy().astype(np.float64)  # (B, 20)
        y = batch["labels"].cpu().numpy().astype(np.uint8)
        for i, cid in enumerate(str(c) for c in batch["clip_id"]):
            j = index.get(cid)
            if j is None:
                index[cid] = len(sums)
                sums.append(s[i].copy())
                labels.append(y[i])
                counts.append(1)
                continue
            if not np.array_equal(labels[j], y[i]):
                raise ValueError(f"the views of clip {cid!r} carry different labels")
            sums[j] += s[i]
            counts[j] += 1
    n = len(sums)
    if n == 0:
        empty = np.zeros((0, len(MUSCLE_GROUPS)))
        return SplitScores([], empty.astype(np.float32), empty.astype(np.uint8)), len(skipped)
    if len(set(counts)) != 1:
        raise ValueError(
            f"clips were scored with different numbers of views: {sorted(set(counts))}"
        )
    mean = (np.stack(sums) / np.asarray(counts)[:, None]).astype(np.float32)
    return SplitScores(list(index), mean, np.stack(labels), views=counts[0]), len(skipped)


def run_metrics(
    splits: Mapping[str, SplitScores],
    bootstrap_n: int = 1000,
    bootstrap_seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """The metrics of one run, in percent: the four splits, the two means, AP per muscle, CIs.

    Args:
        splits: scores of ``known_val``, ``new_val``, ``known_test`` and ``new_test``.
        bootstrap_n: bootstrap resamples per split (0 = no intervals).
        bootstrap_seed: seed of the resampling.
        level: coverage of the intervals.

    Returns:
        ``{"known_val": 91.2, ..., "mean_test": ..., "per_muscle_ap": {split: {muscle: AP or
        None}}, "intervals": {split: [low, high]}, "num_clips": {split: N}, "views": k,
        "bootstrap": {...}}``.

    Raises:
        ValueError: when a split is missing or empty, or its mAP is undefined.
    """
    missing = [s for s in EVAL_SPLITS if s not in splits]
    if missing:
        raise ValueError(f"run_metrics needs scores for {', '.join(missing)}")
    out: dict[str, Any] = {}
    per_muscle: dict[str, dict[str, float | None]] = {}
    intervals: dict[str, list[float]] = {}
    for name in EVAL_SPLITS:
        s = splits[name]
        if len(s.clip_ids) == 0:
            raise ValueError(f"split {name!r} has no clip to evaluate")
        out[name] = 100.0 * mean_average_precision(s.scores, s.labels)
        ap = per_muscle_average_precision(s.scores, s.labels)
        per_muscle[name] = {
            m: (None if math.isnan(a) else 100.0 * float(a))
            for m, a in zip(MUSCLE_GROUPS, ap, strict=True)
        }
        if bootstrap_n > 0:
            lo, hi = bootstrap_map(
                s.scores, s.labels, n=bootstrap_n, seed=bootstrap_seed, level=level
            )
            intervals[name] = [100.0 * lo, 100.0 * hi]
    for mean_name, (a, b) in MEANS.items():
        out[mean_name] = (out[a] + out[b]) / 2.0
    ordered = {k: out[k] for k in METRIC_SPLITS}
    ordered["per_muscle_ap"] = per_muscle
    ordered["intervals"] = intervals
    ordered["bootstrap"] = {"n": bootstrap_n, "seed": bootstrap_seed, "level": level}
    ordered["num_clips"] = {name: len(splits[name].clip_ids) for name in EVAL_SPLITS}
    ordered["views"] = {name: splits[name].views for name in EVAL_SPLITS}
    return ordered
