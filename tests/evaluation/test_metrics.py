import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from musclemap_lib.evaluation.metrics import (
    bootstrap_map,
    mean_average_precision,
    per_muscle_average_precision,
    resampled_map,
)


def test_hand_computed_single_class() -> None:
    # Ranking by score: pos (0.9), neg (0.8), pos (0.7), neg (0.1).
    # Precision at the two positives: 1/1 and 2/3 -> AP = (1 + 2/3) / 2 = 5/6.
    scores = np.array([[0.9], [0.8], [0.7], [0.1]])
    targets = np.array([[1], [0], [1], [0]])
    assert mean_average_precision(scores, targets) == pytest.approx(5 / 6)


def test_hand_computed_drops_classes_without_positive() -> None:
    # Class 0: perfect ranking (AP 1). Class 1: positive ranked last of 3 (AP 1/3).
    # Class 2 has no positive and is dropped, as the paper and the released code do.
    scores = np.array([[0.9, 0.9, 0.5], [0.1, 0.8, 0.4], [0.2, 0.1, 0.3]])
    targets = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 0]])
    ap = per_muscle_average_precision(scores, targets)
    assert ap[0] == pytest.approx(1.0) and ap[1] == pytest.approx(1 / 3) and np.isnan(ap[2])
    assert mean_average_precision(scores, targets) == pytest.approx((1 + 1 / 3) / 2)


def test_agrees_with_sklearn_on_random_data() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        targets = (rng.random((200, 20)) < 0.3).astype(int)
        targets[:, 5] = 0  # a class without positives, dropped by both
        scores = rng.normal(size=(200, 20)) + targets
        keep = targets.sum(0) > 0
        expected = np.mean(average_precision_score(targets[:, keep], scores[:, keep], average=None))
        assert mean_average_precision(scores, targets) == pytest.approx(expected, abs=1e-12)
        assert 0.0 <= mean_average_precision(scores, targets) <= 1.0


def test_perfect_and_order_only() -> None:
    targets = np.eye(4, dtype=int)
    assert mean_average_precision(targets * 5.0, targets) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    s = rng.normal(size=(4, 4))
    # AP depends only on the order of scores within a class.
    assert mean_average_precision(s, targets) == pytest.approx(
        mean_average_precision(np.exp(s), targets)
    )


@pytest.mark.parametrize(
    ("scores", "targets", "match"),
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), "same shape"),
        (np.zeros(3), np.zeros(3), "2-D"),
        (np.array([[np.nan, 0.0]]), np.array([[1, 0]]), "non-finite"),
        (np.array([[np.inf, 0.0]]), np.array([[1, 0]]), "non-finite"),
        (np.array([[0.1, 0.2]]), np.array([[2, 0]]), "binary"),
        (np.zeros((0, 20)), np.zeros((0, 20)), "empty"),
        (np.zeros((3, 2)), np.zeros((3, 2)), "no class has a positive"),
    ],
)
def test_bad_inputs_raise(scores: np.ndarray, targets: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mean_average_precision(scores, targets)


def test_bootstrap_contains_point_and_is_reproducible() -> None:
    rng = np.random.default_rng(3)
    targets = (rng.random((300, 20)) < 0.25).astype(int)
    scores = rng.normal(size=(300, 20)) + 1.5 * targets
    point = mean_average_precision(scores, targets)
    low, high = bootstrap_map(scores, targets, n=200, seed=0)
    assert low < point < high
    assert high - low < 0.2
    assert bootstrap_map(scores, targets, n=200, seed=0) == (low, high)
    assert bootstrap_map(scores, targets, n=200, seed=1) != (low, high)


def test_bootstrap_rejects_bad_arguments() -> None:
    targets = np.eye(3, dtype=int)
    with pytest.raises(ValueError, match="n must be"):
        bootstrap_map(targets * 1.0, targets, n=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_map(targets * 1.0, targets, level=1.5)
    with pytest.raises(ValueError, match="no class has a positive"):
        bootstrap_map(np.zeros((3, 3)), np.zeros((3, 3), dtype=int))


def _sklearn_bootstrap_values(scores, targets, n, seed):
    """The resampled mAPs the slow way: one scikit-learn mAP per resample (the reference)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        idx = rng.integers(0, scores.shape[0], size=scores.shape[0])
        t = targets[idx]
        out.append(mean_average_precision(scores[idx], t) if t.sum() else np.nan)
    return np.array(out)


@pytest.mark.parametrize("ties", [False, True])
def test_resampled_map_equals_sklearn_per_resample(ties: bool) -> None:
    # Tied scores across clips with different labels, rare classes that some resamples lack, and
    # a class with no positive at all: every case of the step-wise AP.
    rng = np.random.default_rng(11)
    targets = (rng.random((60, 6)) < [0.3, 0.5, 0.05, 0.2, 0.02, 0.0]).astype(int)
    scores = rng.normal(size=(60, 6)) + targets
    if ties:
        scores = np.round(scores, 0)
    n, seed = 150, 4
    expected = _sklearn_bootstrap_values(scores, targets, n, seed)
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, 60, size=60), minlength=60) for _ in range(n)])
    got = resampled_map(scores.astype(float), targets, counts)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_resampled_map_is_nan_without_any_positive() -> None:
    scores = np.array([[0.2, 0.1], [0.9, 0.4], [0.5, 0.5]])
    targets = np.array([[1, 0], [0, 0], [0, 1]])
    counts = np.array([[0, 3, 0], [1, 1, 1]])  # the first resample holds only the negative clip
    got = resampled_map(scores, targets, counts)
    assert np.isnan(got[0])
    assert got[1] == pytest.approx(mean_average_precision(scores, targets))


def test_bootstrap_interval_is_the_quantiles_of_the_sklearn_resamples() -> None:
    rng = np.random.default_rng(5)
    targets = (rng.random((120, 20)) < 0.15).astype(int)
    scores = np.round(rng.normal(size=(120, 20)) + targets, 1)
    values = _sklearn_bootstrap_values(scores, targets, 100, 2)
    expected = np.quantile(values[~np.isnan(values)], [0.025, 0.975])
    np.testing.assert_allclose(bootstrap_map(scores, targets, n=100, seed=2), expected, atol=1e-12)
