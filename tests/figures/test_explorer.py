"""The book's client-side explorer (musclemap_lib/figures/explorer.py) on hand-made results.

The results are a few clips per activity with random scores (test inputs, not results); the data
folder holds two tiny videos, for the frames. The page itself is driven in a browser by
tests/test_browser.py.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from musclemap_lib.evaluation.records import load_scores
from musclemap_lib.figures import explorer as X
from musclemap_lib.figures import explorer_data as D
from musclemap_lib.figures.bodymap import VIEWS, view_outlines
from musclemap_lib.muscles import MUSCLE_GROUPS, names_to_multihot

# split -> activity -> (active muscle groups, clips)
ACTIVITIES: dict[str, dict[str, tuple[tuple[str, ...], int]]] = {
    "known_test": {
        "squats": (("quadriceps", "gluteus", "hamstring"), 3),
        "lunges": (("quadriceps", "gluteus"), 2),
    },
    "new_test": {
        "hollow hold": (("upper_abdominis", "lower_abdominis"), 6),
        "v-ups": (("upper_abdominis", "lower_abdominis", "quadriceps"), 5),
    },
}
WITH_VIDEO = ("hollow_hold-s00100-c0", "v-ups-s00106-c0")  # clips whose video the data folder has


def _clips(split: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(clip id, activity, labels) of a split, ids numbered like MuscleMap-Synth's."""
    base = {"known_test": 0, "new_test": 100}[split]
    out = []
    for activity, (labels, n) in ACTIVITIES[split].items():
        for _ in range(n):
            out.append(
                (f"{activity.replace(' ', '_')}-s{base + len(out):05d}-c0", activity, labels)
            )
    return out


def _write_scores(folder: Path, seed: int, splits=("known_test", "new_test"), flip=None) -> None:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split in splits:
        rows = _clips(split)
        labels = np.stack([names_to_multihot(lab) for _, _, lab in rows]).astype(np.uint8)
        if flip is not None:
            labels[0, flip] = 1 - labels[0, flip]
        arrays[f"{split}/clip_ids"] = np.array([c for c, _, _ in rows])
        arrays[f"{split}/scores"] = rng.random((len(rows), 20)).astype(np.float32)
        arrays[f"{split}/labels"] = labels
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "scores.npz", **arrays)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A results root with profile ``toy``: three runs, plus folders the explorer must ignore."""
    root = tmp_path_factory.mktemp("results")
    _write_scores(root / "toy" / "transm3e", 0)
    _write_scores(root / "toy" / "mvitv2_s_pt", 1)
    _write_scores(root / "toy" / "stgcn", 2, splits=("known_test",))  # no new-test scores
    _write_scores(root / "toy" / "transm3e--seed1", 3)  # another seed: not in the menus
    _write_scores(root / "toy" / ".tmp-transm3e-x", 4)  # a run being written
    (root / "toy" / "ctrgcn").mkdir()  # no scores yet
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A data folder: a manifest of every toy clip, and videos for the clips of WITH_VIDEO."""
    from musclemap_lib.synth.writer import MANIFEST_COLUMNS, encode_video

    root = tmp_path_factory.mktemp("data")
    (root / "videos").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for split in ACTIVITIES:
        for clip, activity, labels in _clips(split):
            video = f"videos/{clip}.mp4"
            if clip in WITH_VIDEO:
                frames = rng.integers(0, 255, (8, 64, 64, 3), dtype=np.uint8)
                encode_video(root / video, frames, fps=15, crf=28)
            rows.append(
                {
                    "clip_id": clip,
                    "split": split,
                    "activity": activity,
                    "source": clip.split("-c")[0],
                    "video": video,
                    "skeleton": "",
                    "labels": ";".join(labels),
                }
            )
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return root


@pytest.fixture(scope="module")
def page_data(results, data) -> D.ExplorerData:
    return D.load_explorer_data("toy", results, data)


def test_menus_list_the_scored_runs_by_display_name(results):
    assert D.scored_experiments("toy", results) == ["mvitv2_s_pt", "stgcn", "transm3e"]
    assert D.scored_experiments("none", results) == []
    assert D.menu_label("transm3e_fusion_sum", "Sum") == "Sum (transm3e_fusion_sum)"
    assert D.menu_label("x", "x") == "x"
    assert D.display_name("transm3e") == "TransM3E"
    assert D.display_name("not_a_run") == "not_a_run"


@pytest.mark.parametrize(
    ("clip", "activity"),
    [
        ("sumo_squats-s00012-c0", "sumo squats"),
        ("v-ups-s02031-c3", "v-ups"),
        ("videos__clip01", "(unknown)"),
    ],
)
def test_activity_from_a_synth_clip_id(clip, activity):
    assert D.clip_activity(clip) == activity


def test_page_data_holds_every_scored_value_as_thousandths(results, page_data):
    d = page_data
    assert d.experiments == ("mvitv2_s_pt", "stgcn", "transm3e")
    assert d.names["transm3e"] == "TransM3E"
    assert list(d.splits) == ["known_test", "new_test"]  # no run scored a validation split
    for exp in d.experiments:
        stored = load_scores(results / "toy" / exp)
        assert set(d.scores[exp]) == set(stored)
        for split, s in stored.items():
            clips = d.splits[split]
            assert list(clips.clip_ids) == s.clip_ids
            assert np.array_equal(clips.labels, s.labels)
            q = d.scores[exp][split]
            assert q.dtype == np.uint16 and q.shape == (len(s.clip_ids), 20)
            assert np.abs(q / D.SCALE - s.scores).max() <= 0.5 / D.SCALE + 1e-7
    new = d.splits["new_test"]
    assert new.activities == ("hollow hold", "v-ups")
    assert [new.activities[a] for a in new.activity[[0, 6]]] == ["hollow hold", "v-ups"]
    assert set(d.ap["transm3e"]) == {"new_test"} and d.ap["stgcn"] == {}
    assert d.ap["transm3e"]["new_test"].shape == (2, 21)


def test_page_data_from_scores_alone_reads_activities_from_clip_ids(results, tmp_path):
    d = D.load_explorer_data("toy", results, data=tmp_path / "no-data")
    assert d.splits["new_test"].activities == ("hollow hold", "v-ups")
    assert d.sprites == {} and "No frames" in d.frames_note


def test_runs_that_disagree_on_the_labels_are_refused(tmp_path):
    _write_scores(tmp_path / "toy" / "transm3e", 0)
    _write_scores(tmp_path / "toy" / "mvitv2_s", 1, flip=3)
    with pytest.raises(ValueError, match="disagree on the labels"):
        D.load_explorer_data("toy", tmp_path, frames=False)


def test_activity_ap_by_hand():
    # activities: a0 = clips 0, 1 (group 0 active); a1 = clips 2, 3 (group 1 active);
    # a2 = clip 4 (group 0 active)
    activity = np.array([0, 0, 1, 1, 2])
    labels = np.zeros((5, 20), dtype=np.uint8)
    labels[[0, 1, 4], 0] = 1
    labels[[2, 3], 1] = 1
    scores = np.full((5, 20), 0.5)
    scores[:, 0] = [0.9, 0.2, 0.5, 0.1, 0.05]
    scores[:, 1] = [0.3, 0.1, 0.8, 0.6, 0.2]
    ap = D.activity_ap(scores, labels, activity, 3)
    assert ap.shape == (3, 21)
    # group 0 on a0: its clips against the negatives 2, 3 (clip 4 is another activity's positive)
    # ranked 0.9 (+), 0.5 (-), 0.2 (+), 0.1 (-): AP = (1/1 + 2/3) / 2
    assert ap[0, 0] == pytest.approx((1 + 2 / 3) / 2)
    assert ap[1, 1] == pytest.approx(1.0)  # a1's clips score above every negative of group 1
    assert ap[2, 0] == pytest.approx(1 / 3)  # clip 4 ranks below both negatives
    assert np.isnan(ap[0, 1]) and np.isnan(ap[1, 0]) and np.isnan(ap[0, 2:20]).all()
    assert ap[0, 20] == pytest.approx(ap[0, 0]) and ap[1, 20] == pytest.approx(1.0)
    # the same as scikit-learn on the subset
    keep = np.array([True, True, True, True, False])
    assert ap[0, 0] == pytest.approx(average_precision_score(labels[keep, 0], scores[keep, 0]))


def test_activity_ap_of_the_page_matches_a_direct_computation(results, page_data):
    s = load_scores(results / "toy" / "transm3e")["new_test"]
    clips = page_data.splits["new_test"]
    q = page_data.ap["transm3e"]["new_test"]
    for a, name in enumerate(clips.activities):
        mine = clips.activity == a
        active = set(np.flatnonzero(s.labels[mine].any(axis=0)))
        for g in range(20):
            if g not in active:
                assert q[a, g] == D.NO_VALUE, (name, MUSCLE_GROUPS[g])
                continue
            keep = mine | (s.labels[:, g] == 0)
            want = average_precision_score(s.labels[keep, g], s.scores[keep, g])
            assert abs(q[a, g] / D.SCALE - want) <= 0.5 / D.SCALE + 1e-9


def test_frames_for_the_first_clips_of_each_test_activity(page_data):
    chosen = D.frame_clips(page_data.splits, per_activity=2)
    assert chosen == [
        "squats-s00000-c0",
        "squats-s00001-c0",
        "lunges-s00003-c0",
        "lunges-s00004-c0",
        "hollow_hold-s00100-c0",
        "hollow_hold-s00101-c0",
        "v-ups-s00106-c0",
        "v-ups-s00107-c0",
    ]
    # only the clips with a video get a sprite; the rest are logged, never fatal
    assert set(page_data.sprites) == set(WITH_VIDEO)
    assert f"{len(WITH_VIDEO)} clips" in page_data.frames_note


def test_a_sprite_is_a_small_jpeg_strip(data):
    from PIL import Image

    jpeg = D.clip_sprite(data / "videos" / f"{WITH_VIDEO[0]}.mp4", frames=4, height=32)
    img = Image.open(io.BytesIO(jpeg))
    assert img.format == "JPEG" and img.size == (4 * 32, 32)
    assert len(jpeg) < 10_000


def test_sprites_are_data_uris(page_data):
    uri = page_data.sprites[WITH_VIDEO[0]]
    head, payload = uri.split(",", 1)
    assert head == "data:image/jpeg;base64"
    assert base64.b64decode(payload)[:2] == b"\xff\xd8"  # JPEG start of image


def test_body_map_glyphs_are_the_body_map_geometry():
    sil, reg = X.body_map_source_data()
    n_sil, n_reg = 0, 0
    for view in VIEWS:
        outline, regions = view_outlines(view, shared=True)
        for xy in outline:
            assert np.allclose(sil["xs"][n_sil], xy[:, 0], atol=0.01)
            n_sil += 1
        for muscle, _, xy in regions:
            assert reg["m"][n_reg] == MUSCLE_GROUPS.index(muscle) and reg["view"][n_reg] == view
            assert np.allclose(reg["ys"][n_reg], xy[:, 1], atol=0.01)
            n_reg += 1
    assert (len(sil["xs"]), len(reg["xs"])) == (n_sil, n_reg)
    assert set(reg["m"]) == set(range(20))
    assert {len(v) for v in reg.values()} == {n_reg}


def test_the_html_is_self_contained_and_small(page_data):
    html = X.explorer_html(page_data)
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<iframe\b", html), "a resource is linked"
    assert "BEGIN bokeh.min.js" in html and "BEGIN bokeh-widgets.min.js" in html
    assert "BEGIN bokeh-tables" not in html and "BEGIN bokeh-mathjax" not in html
    assert "document_ready" in html  # the first draw runs in the browser
    for name in ("explorer-model-a", "explorer-model-b", "explorer-clip", "explorer-scores"):
        assert name in html
    assert len(html) < 3_000_000


def test_the_layout_defaults_to_transm3e_beside_mvitv2_s_on_new_test(page_data):
    from bokeh.models import Select

    layout, _ = X.explorer_layout(page_data)
    values = {m.name: m.value for m in layout.select({"type": Select}) if m.name}
    assert values["explorer-model-a"] == "transm3e"
    assert values["explorer-model-b"] == "mvitv2_s_pt"
    assert values["explorer-split"] == "new_test"
    assert values["explorer-ap-split"] == "new_test"


def test_no_scored_run_gives_a_message_not_a_page(tmp_path):
    from IPython.display import Markdown

    out = X.explorer_page("toy", results=tmp_path, data=tmp_path / "no-data")
    assert isinstance(out, Markdown) and "No scored run" in out.data
    empty = D.load_explorer_data("toy", tmp_path, frames=False)
    with pytest.raises(ValueError, match="nothing to explore"):
        X.explorer_layout(empty)


def test_launch_links_open_the_notebook(tmp_path):
    cfg = tmp_path / "_config.yml"
    cfg.write_text(
        "repository:\n  url: https://github.com/org/study\n  branch: pages\n"
        "launch_buttons:\n  notebook_interface: jupyterlab\n"
        "  binderhub_url: https://mybinder.org/\n  jupyterhub_url: https://hub.example.org\n"
        '  colab_url: "https://colab.research.google.com"\n',
        encoding="utf-8",
    )
    links = dict(D.launch_links(cfg))
    assert links["Binder"] == (
        "https://mybinder.org/v2/gh/org/study/pages?urlpath=lab/tree/notebooks/explore.ipynb"
    )
    assert links["Colab"] == (
        "https://colab.research.google.com/github/org/study/blob/pages/notebooks/explore.ipynb"
    )
    assert links["JupyterHub"].startswith("https://hub.example.org/hub/user-redirect/git-pull?")
    assert "urlpath=lab/tree/study/notebooks/explore.ipynb" in links["JupyterHub"]
    cfg.write_text("repository:\n  url: https://gitlab.com/org/study\n", encoding="utf-8")
    assert D.launch_links(cfg) == []


def test_the_books_config_has_launch_buttons_and_the_study_footer():
    import yaml

    from musclemap_lib.study.book import book_dir

    cfg_path = book_dir() / "_config.yml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    assert cfg["copyright"] == "2026 MuscleMap Study"
    assert cfg["repository"]["url"].startswith("https://github.com/")
    names = [n for n, _ in D.launch_links(cfg_path)]
    assert "Binder" in names and "Colab" in names


def test_sprites_log_an_unreadable_video(tmp_path, page_data, caplog):
    bad = tmp_path / "data"
    (bad / "videos").mkdir(parents=True)
    clip = WITH_VIDEO[0]
    (bad / "videos" / f"{clip}.mp4").write_bytes(b"not a video")
    (bad / "manifest.csv").write_text(
        "clip_id,split,activity,source,video,skeleton,labels\n"
        f"{clip},new_test,hollow hold,s00100,videos/{clip}.mp4,,upper_abdominis\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger=D.__name__):
        sprites, note = D.load_sprites(page_data.splits, bad)
    assert sprites == {} and "0 clips" in note
    assert clip in caplog.text
