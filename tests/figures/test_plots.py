"""Comparison tables and the known-vs-new scatter, on small synthetic frames (test data only)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from musclemap_lib.figures import names, plots


def _ours(values: dict[tuple[str, str], float], seed: int = 0, ci: float = 2.0) -> pd.DataFrame:
    rows = []
    for (exp, split), v in values.items():
        for metric, val in (("map", v), ("map_ci_low", v - ci), ("map_ci_high", v + ci)):
            rows.append(
                {
                    "experiment": exp,
                    "model": exp,
                    "profile": "test",
                    "split": split,
                    "metric": metric,
                    "value": val,
                    "seed": seed,
                }
            )
    return pd.DataFrame(rows)


def _paper(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"experiment": e, "model": e, "split": s, "metric": "map", "value": v, "source": "test"}
            for (e, s), v in values.items()
        ]
    )


OURS = _ours(
    {
        ("stgcn", "known_test"): 80.0,
        ("stgcn", "new_test"): 50.0,
        ("transm3e", "known_test"): 90.0,
        ("transm3e", "new_test"): 60.5,
    }
)
PAPER = _paper(
    {
        ("random", "known_test"): 28.9,
        ("random", "new_test"): 29.5,
        ("stgcn", "known_test"): 90.5,
        ("stgcn", "new_test"): 63.3,
    }
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_comparison_frame_values_difference_and_order():
    f = plots.comparison_frame(OURS, PAPER, splits=("known_test", "new_test"))
    # the paper's order first, then ours-only experiments
    assert list(dict.fromkeys(f["experiment"])) == ["random", "stgcn", "transm3e"]
    row = f[(f.experiment == "stgcn") & (f.split == "new_test")].iloc[0]
    assert row.ours == 50.0 and row.paper == 63.3
    assert row.difference == pytest.approx(50.0 - 63.3)
    assert (row.ci_low, row.ci_high) == (48.0, 52.0)
    missing = f[(f.experiment == "random")]
    assert missing["ours"].isna().all() and missing["paper"].notna().all()
    assert f[f.experiment == "transm3e"]["paper"].isna().all()


def test_comparison_frame_seeds_and_errors():
    two = pd.concat([OURS, _ours({("stgcn", "new_test"): 70.0}, seed=1)])
    f = plots.comparison_frame(two, PAPER, splits=("new_test",), seed=1)
    assert f.set_index("experiment").loc["stgcn", "ours"] == 70.0
    with pytest.raises(ValueError, match="seed"):
        plots.comparison_frame(two, PAPER, seed=None)
    with pytest.raises(ValueError, match="tidy"):
        plots.comparison_frame(OURS.drop(columns="metric"), PAPER)


def test_formatted_table_reads_ours_paper_difference_ci():
    f = plots.comparison_frame(OURS, PAPER, splits=("known_test", "new_test"))
    t = plots.format_comparison_table(f)
    assert list(t.index) == ["Random", "ST-GCN", "TransM3E"]
    assert list(t.columns.get_level_values(0).unique()) == ["known test", "new test"]
    cells = t.loc["ST-GCN", "new test"]
    assert list(cells.index) == ["ours", "paper", "difference", "95% CI"]
    assert list(cells) == ["50.0", "63.3", "-13.3", "[48.0, 52.0]"]
    assert t.loc["TransM3E", ("new test", "difference")] == "\N{EM DASH}"
    assert t.loc["Random", ("known test", "ours")] == "\N{EM DASH}"


def test_scatter_draws_ours_and_paper_points():
    fig = plots.known_vs_new_scatter(OURS, PAPER, stage="test", title="test data")
    ax = fig.axes[0]
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    pts = {tuple(np.round(o, 1)) for o in offsets}
    assert (80.0, 50.0) in pts and (90.0, 60.5) in pts  # ours
    assert (90.5, 63.3) in pts and (28.9, 29.5) in pts  # paper
    assert len(offsets) == 4
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Random", "ST-GCN", "TransM3E"]
    with pytest.raises(ValueError, match="stage"):
        plots.known_vs_new_scatter(OURS, PAPER, stage="train")


def test_display_names():
    assert names.model_name("mvitv2_s") == "MViTv2-S"
    assert names.experiment_name("transm3e") == "TransM3E"
    assert names.split_name("mean_val") == "mean val"
    assert names.muscle_name("neck_head") == "Neck & head"
    # Experiment labels live in the catalogue: an unknown name lists the known ones.
    with pytest.raises(ValueError, match="unknown experiment 'no_such_experiment'; known"):
        names.experiment_name("no_such_experiment")
    assert names.profile_name("cpu") == "cpu (laptop, MuscleMap-Synth)"
    with pytest.raises(ValueError, match="muscle"):
        names.muscle_name("spleen")
