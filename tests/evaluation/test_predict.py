"""Multi-view scoring and the run metrics (musclemap_lib.evaluation.predict)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musclemap_lib.evaluation.metrics import mean_average_precision
from musclemap_lib.evaluation.predict import (
    EVAL_SPLITS,
    METRIC_SPLITS,
    SplitScores,
    run_metrics,
    score_split,
)
from musclemap_lib.models import build_model
from musclemap_lib.muscles import MUSCLE_GROUPS


class Echo(torch.nn.Module):
    """Logits are the input feature itself, so the expected scores are known exactly."""

    def forward(self, batch):
        return batch["x"]


def _loader(views: int, n: int = 6, seed: int = 0):
    """Batches as the multi-view loader gives them: the views of a clip follow each other."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, views, 20, generator=g)
    y = (torch.rand(n, 20, generator=g) > 0.5).float()
    y[0] = 1.0  # every class has a positive
    items = [(f"c{i}", x[i, v], y[i]) for i in range(n) for v in range(views)]
    batches = []
    for k in range(0, len(items), 4):
        chunk = items[k : k + 4]
        batches.append(
            {
                "clip_id": [c for c, _, _ in chunk],
                "x": torch.stack([t for _, t, _ in chunk]),
                "labels": torch.stack([t for _, _, t in chunk]),
                "skipped": ["bad1"] if k == 0 else [],
            }
        )
    return batches, x, y


@pytest.mark.parametrize("views", [1, 3])
def test_views_are_averaged_per_clip(views):
    batches, x, y = _loader(views)
    scores, skipped = score_split(Echo(), batches, "bce")
    assert scores.clip_ids == [f"c{i}" for i in range(6)]
    assert scores.views == views and skipped == 1
    expected = torch.sigmoid(x).mean(dim=1).numpy()
    np.testing.assert_allclose(scores.scores, expected, rtol=1e-6)
    np.testing.assert_array_equal(scores.labels, y.numpy().astype(np.uint8))


def test_softmax_scores_for_the_released_loss():
    batches, x, _ = _loader(1)
    scores, _ = score_split(Echo(), batches, "softmax_bce")
    np.testing.assert_allclose(scores.scores, torch.softmax(x[:, 0], 1).numpy(), rtol=1e-6)


def test_inconsistent_views_are_refused():
    batches, _, _ = _loader(2)
    batches[0]["labels"][1] = 1 - batches[0]["labels"][1]  # view 1 of c0 disagrees
    with pytest.raises(ValueError, match="different labels"):
        score_split(Echo(), batches, "bce")
    with pytest.raises(KeyError, match="clip_id"):
        score_split(Echo(), [{"x": torch.zeros(1, 20), "labels": torch.zeros(1, 20)}], "bce")


def test_random_baseline_is_reproducible_after_a_reset():
    torch.manual_seed(3)  # the Random baseline is seeded by torch's global seed
    model = build_model("random", scale="smoke")
    a, _ = score_split(model, _loader(1, seed=1)[0], "bce")
    b, _ = score_split(model, _loader(1, seed=1)[0], "bce")
    assert not np.array_equal(a.scores, b.scores)  # one stream across splits
    model.reset()
    c, _ = score_split(model, _loader(1, seed=1)[0], "bce")
    np.testing.assert_array_equal(a.scores, c.scores)


def _splits(seed: int = 0) -> dict[str, SplitScores]:
    rng = np.random.default_rng(seed)
    out = {}
    for s in EVAL_SPLITS:
        y = (rng.random((30, 20)) > 0.6).astype(np.uint8)
        y[:, 5] = 0  # a muscle without positives: AP undefined there
        out[s] = SplitScores([f"{s}{i}" for i in range(30)], rng.random((30, 20)), y)
    return out


def test_run_metrics_percent_means_per_muscle_and_intervals():
    splits = _splits()
    m = run_metrics(splits, bootstrap_n=30)
    for s in EVAL_SPLITS:
        assert m[s] == pytest.approx(
            100 * mean_average_precision(splits[s].scores, splits[s].labels)
        )
        lo, hi = m["intervals"][s]
        assert lo <= m[s] <= hi
        assert m["per_muscle_ap"][s][MUSCLE_GROUPS[5]] is None
        assert m["num_clips"][s] == 30
    assert m["mean_val"] == pytest.approx((m["known_val"] + m["new_val"]) / 2)
    assert m["mean_test"] == pytest.approx((m["known_test"] + m["new_test"]) / 2)
    assert list(m)[:6] == list(METRIC_SPLITS)
    assert run_metrics(splits, bootstrap_n=30) == m  # a pure function of the scores


def test_run_metrics_needs_every_split():
    splits = _splits()
    del splits["new_test"]
    with pytest.raises(ValueError, match="new_test"):
        run_metrics(splits)
