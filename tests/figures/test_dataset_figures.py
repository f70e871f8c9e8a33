"""Dataset-chapter figures and tables from a smoke MuscleMap-Synth folder."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from musclemap_lib.data import load_manifest
from musclemap_lib.figures import dataset
from musclemap_lib.muscles import MUSCLE_GROUPS
from musclemap_lib.synth.writer import PAPER_SPLIT_COUNTS

# Fixtures shared with the other figure tests.


def test_split_table_beside_paper(smoke_data):
    df = dataset.split_table(smoke_data)
    sizes = load_manifest(smoke_data).split_sizes()
    assert list(df["clips (ours)"]) == [sizes[s] for s in dataset.SPLIT_ORDER]
    assert list(df["clips (paper)"]) == [7069, 1599, 2355, 1594, 2360]
    assert list(df["clips (paper)"]) == [PAPER_SPLIT_COUNTS[s] for s in dataset.SPLIT_ORDER]
    assert df["share (ours, %)"].sum() == pytest.approx(100, abs=0.3)


def test_label_table_matches_activities_csv(smoke_data):
    df = dataset.label_table(smoke_data)
    with open(smoke_data / "activities.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(df) == len(rows) and set(df["role"]) == {"known", "new"}
    first = rows[0]
    active = [m for m in MUSCLE_GROUPS if first[m] == "1"]
    assert df["muscle groups"][0].count(",") == len(active) - 1
    assert df["rationale"][0] == first["rationale"]


def test_region_counts_count_clips_and_activities(smoke_data):
    df = dataset.region_counts(smoke_data)
    man = load_manifest(smoke_data)
    i = MUSCLE_GROUPS.index("quadriceps")
    assert df["clips"][i] == sum("quadriceps" in r.labels for r in man.rows)
    assert df["activities"][i] == len({r.activity for r in man.rows if "quadriceps" in r.labels})


def test_clip_modalities_shapes(smoke_data):
    clip = dataset.default_clip(smoke_data)
    m = dataset.clip_modalities(smoke_data, clip, frames=3)
    k, (h, w) = len(m["indices"]), m["rgb"].shape[1:3]
    assert k == 3 and m["rgb"].dtype == np.uint8
    assert m["rgb_diff"].shape == (k, h, w, 3) and m["flow"].shape == (k, h, w, 2)
    assert m["skeleton"].shape == (k, 17, 3)
    assert m["rgb_diff"].max() > 0  # the person moves
    with pytest.raises(KeyError, match="not in"):
        dataset.clip_modalities(smoke_data, "no-such-clip")


def test_flow_colours_encode_direction_and_magnitude():
    flow = np.zeros((2, 2, 2), np.float32)
    flow[0, 0] = (1, 0)
    flow[0, 1] = (-1, 0)
    rgb = dataset.flow_to_rgb(flow)
    assert rgb[1, 1].max() == 0  # no motion -> black
    assert not np.allclose(rgb[0, 0], rgb[0, 1])  # opposite directions, different hues


def test_checkbox_panel_ticks_active_groups():
    import matplotlib.pyplot as plt

    labels = np.zeros(20)
    labels[[2, 5]] = 1
    fig, ax = plt.subplots()
    dataset.draw_checkboxes(ax, labels)
    ticks = [t for t in ax.texts if t.get_text() == "\u2713"]
    assert len(ticks) == 2 and len(ax.patches) == 20
    plt.close(fig)


def test_render_dataset_figures_writes_files(smoke_data, tmp_path):
    rec = dataset.render_dataset_figures(smoke_data, tmp_path, frames=3)
    for name in rec["files"]:
        assert (tmp_path / name).stat().st_size > 100
    saved = json.loads((tmp_path / "dataset.json").read_text())
    assert saved["num_clips"] == len(load_manifest(smoke_data).rows)
    assert saved["num_known_activities"] + saved["num_new_activities"] == saved["num_activities"]
