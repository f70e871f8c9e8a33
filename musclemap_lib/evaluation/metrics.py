"""The single definition of the study's metric: mean average precision over muscle groups.

PAPER: section 3.4. "We first select the subset of y and I by calculating the mask through
m = where(I = 1) ... Then we calculated the mean averaged precision score using the function and
code from sklearn." The released code (reference/official-code.md, section 5, ``get_map``) makes
that precise: drop every class column whose labels are all 0 in the evaluated set, take
``sklearn.metrics.average_precision_score(labels, preds, average=None)`` per class, and return the
plain mean of those APs, as a fraction in [0, 1].

DEVIATION: the released code turns any sklearn ``ValueError`` into an mAP of 0. We raise a
``ValueError`` that names the problem instead, so that a broken evaluation never passes as a
(terrible) result.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score


def _validate(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if scores.ndim != 2 or targets.ndim != 2:
        raise ValueError(
            f"scores and targets must be 2-D (clips, classes); got shapes {scores.shape} and "
            f"{targets.shape}"
        )
    if scores.shape != targets.shape:
        raise ValueError(
            f"scores {scores.shape} and targets {targets.shape} must have the same shape"
        )
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"cannot score an empty input (shape {scores.shape})")
    if not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise ValueError(f"scores contain {bad} non-finite values (NaN or inf)")
    if not np.isin(targets, (0, 1)).all():
        raise ValueError("targets must be binary (0/1 multi-hot); found other values")
    return scores, targets.astype(np.int64)


def per_muscle_average_precision(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Average precision of each class, as scikit-learn computes it.

    Args:
        scores: ``(N, C)`` real-valued scores (logits, sigmoids or softmaxes: AP only uses order).
        targets: ``(N, C)`` 0/1 multi-hot labels.

    Returns:
        ``(C,)`` float array; ``NaN`` for a class with no positive clip (it has no AP).

    Raises:
        ValueError: for mismatched shapes, an empty input, non-finite scores or non-binary targets.
    """
    scores, targets = _validate(scores, targets)
    ap = np.full(scores.shape[1], np.nan)
    present = targets.sum(axis=0) > 0
    if present.any():
        ap[present] = average_precision_score(targets[:, present], scores[:, present], average=None)
    return ap


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """The paper's mAP: the mean AP over the classes that have at least one positive clip.

    Args:
        scores: ``(N, C)`` scores.
        targets: ``(N, C)`` 0/1 multi-hot labels.

    Returns:
        mAP as a fraction in [0, 1] (the book multiplies by 100 for display).

    Raises:
        ValueError: for mismatched shapes, an empty input, non-finite scores, non-binary targets,
            or targets where no class has a positive clip.
    """
    ap = per_muscle_average_precision(scores, targets)
    if np.isnan(ap).all():
        raise ValueError("no class has a positive clip in targets; mAP is undefined")
    return float(np.nanmean(ap))


def resampled_map(scores: np.ndarray, targets: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The mAP of many resamples of the clips at once, each given as clip counts.

    Resample ``b`` holds clip ``i`` ``counts[b, i]`` times. Its mAP equals
    :func:`mean_average_precision` of the rows repeated that often (tested against it): per class,
    AP is the sum over the distinct scores, from the highest, of the recall gained at that score
    times the precision there (scikit-learn's step-wise AP), with tied scores counted together.
    One sort per class serves every resample, so 200 resamples of 500 clips take milliseconds
    instead of 200 scikit-learn calls.

    Args:
        scores: ``(N, C)`` float scores (validated by the caller).
        targets: ``(N, C)`` 0/1 labels.
        counts: ``(B, N)`` non-negative integer clip counts.

    Returns:
        ``(B,)`` mAP per resample; ``NaN`` where a resample holds no positive of any class.
    """
    counts = np.asarray(counts, dtype=np.float64)
    ap_sum = np.zeros(counts.shape[0])
    present = np.zeros(counts.shape[0])
    for c in range(scores.shape[1]):
        order = np.argsort(-scores[:, c], kind="stable")
        s_sorted = scores[order, c]
        y_sorted = targets[order, c].astype(np.float64)
        # the last position of each run of equal scores: thresholds as scikit-learn takes them
        ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
        w = counts[:, order]
        tp = np.cumsum(w * y_sorted, axis=1)[:, ends]  # (B, thresholds)
        seen = np.cumsum(w, axis=1)[:, ends]
        total = tp[:, -1]
        gained = np.diff(tp, axis=1, prepend=0.0)
        precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
        has = total > 0  # a class with no positive in a resample has no AP there
        ap = np.divide((gained * precision).sum(axis=1), total, out=np.zeros_like(total), where=has)
        ap_sum += ap
        present += has
    return np.divide(ap_sum, present, out=np.full_like(ap_sum, np.nan), where=present > 0)


def bootstrap_map(
    scores: np.ndarray,
    targets: np.ndarray,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mAP, resampling clips with replacement.

    Args:
        scores: ``(N, C)`` scores.
        targets: ``(N, C)`` 0/1 multi-hot labels.
        n: number of bootstrap resamples.
        seed: seed of the resampling generator (the interval is a pure function of the inputs).
        level: coverage of the interval.

    Returns:
        ``(low, high)`` as fractions in [0, 1].

    Raises:
        ValueError: as :func:`mean_average_precision`, or for ``n < 1`` or ``level`` outside (0, 1).
    """
    scores, targets = _validate(scores, targets)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    point = mean_average_precision(scores, targets)  # also rejects targets with no positive
    rng = np.random.default_rng(seed)
    num_clips = scores.shape[0]
    # Each resample as clip counts (how often each clip was drawn): the same draws, in the same
    # order, as indexing scores[idx] one resample at a time, scored all at once.
    counts = np.empty((n, num_clips), dtype=np.int64)
    for b in range(n):
        counts[b] = np.bincount(rng.integers(0, num_clips, size=num_clips), minlength=num_clips)
    values = resampled_map(scores, targets, counts)
    values = values[~np.isnan(values)]
    if values.size == 0:  # every resample lacked a positive: only the point itself is known
        return point, point
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)
