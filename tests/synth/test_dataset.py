"""Protocol, files, determinism and errors of a generated smoke data set."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import decord
import numpy as np
import pytest

from musclemap_lib.muscles import MUSCLE_GROUPS
from musclemap_lib.synth import motions, writer


def rows(root: Path) -> list[dict[str, str]]:
    return writer.read_manifest(root)


def test_manifest_columns_and_paths(smoke_dir: Path) -> None:
    with open(smoke_dir / "manifest.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == writer.MANIFEST_COLUMNS
    for r in rows(smoke_dir):
        assert not Path(r["video"]).is_absolute() and (smoke_dir / r["video"]).is_file()
        assert (smoke_dir / r["skeleton"]).is_file()
        assert r["split"] in writer.SPLITS
        assert set(r["labels"].split(";")) <= set(MUSCLE_GROUPS)


def test_new_activities_only_in_new_splits_half_each(smoke_dir: Path) -> None:
    new = set(motions.PAPER_NEW_ACTIVITIES)
    per = defaultdict(Counter)
    for r in rows(smoke_dir):
        per[r["activity"]][r["split"]] += 1
        if r["split"] in ("train", "known_val", "known_test"):
            assert r["activity"] not in new
        else:
            assert r["activity"] in new
    for a in new:
        assert per[a]["new_val"] == per[a]["new_test"] > 0
    train_acts = {a for a, c in per.items() if c["train"]}
    for split in ("known_val", "known_test"):
        assert {a for a, c in per.items() if c[split]} <= train_acts


def test_sources_stay_in_one_split(smoke_dir: Path) -> None:
    split_of: dict[str, set[str]] = defaultdict(set)
    for r in rows(smoke_dir):
        split_of[r["source"]].add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())


@pytest.mark.parametrize("profile", ["cpu", "full"])
def test_split_shares_close_to_paper(profile: str) -> None:
    counts = writer.split_counts(writer.plan_sources(writer.get_profile(profile)))
    total, paper_total = sum(counts.values()), sum(writer.PAPER_SPLIT_COUNTS.values())
    for s, n in writer.PAPER_SPLIT_COUNTS.items():
        assert abs(counts[s] / total - n / paper_total) < 0.015, s
    if profile == "full":
        assert 13_000 < total < 17_000


def test_smoke_split_shares_roughly_paper(smoke_dir: Path) -> None:
    c = Counter(r["split"] for r in rows(smoke_dir))
    total, paper_total = sum(c.values()), sum(writer.PAPER_SPLIT_COUNTS.values())
    for s, n in writer.PAPER_SPLIT_COUNTS.items():
        assert abs(c[s] / total - n / paper_total) < 0.03, s


def test_activities_csv_and_label_vocabulary(smoke_dir: Path) -> None:
    with open(smoke_dir / "activities.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["activity", "role", *MUSCLE_GROUPS, "rationale"]
    labels = {t["activity"]: frozenset(m for m in MUSCLE_GROUPS if t[m] == "1") for t in table}
    train = {r["activity"] for r in rows(smoke_dir) if r["split"] == "train"}
    for t in table:
        assert t["role"] in ("known", "new") and t["rationale"]
        if t["role"] == "new":
            assert labels[t["activity"]] not in {labels[a] for a in train}
    for r in rows(smoke_dir):
        assert frozenset(r["labels"].split(";")) == labels[r["activity"]]
    used = set().union(*labels.values())
    assert used == set(MUSCLE_GROUPS), f"never labelled: {set(MUSCLE_GROUPS) - used}"


def test_protocol_check_raises_on_a_clash(monkeypatch: pytest.MonkeyPatch) -> None:
    clash = motions.Activity(**{**motions.NEW[0].__dict__, "actions": motions.KNOWN[0].actions})
    monkeypatch.setattr(motions, "NEW", (clash, *motions.NEW[1:]))
    monkeypatch.setattr(motions, "ACTIVITIES", motions.KNOWN + motions.NEW)
    with pytest.raises(ValueError, match="same muscle set"):
        writer.check_protocol()


def test_decord_reads_every_video_with_the_skeleton_length(smoke_dir: Path) -> None:
    meta = json.loads((smoke_dir / "dataset.json").read_text())
    w, h = meta["frame_size"]
    for r in rows(smoke_dir):
        vr = decord.VideoReader(str(smoke_dir / r["video"]))
        skel = np.load(smoke_dir / r["skeleton"])
        assert skel.dtype == np.float32 and skel.shape == (len(vr), 17, 3)
        assert len(vr) == meta["frames_per_clip"]
        assert vr[0].shape == (h, w, 3)
        assert (skel[..., 0] >= 0).all() and (skel[..., 0] <= w).all()
        assert ((skel[..., 2] >= 0) & (skel[..., 2] <= 1)).all()


def test_skeleton_follows_the_person(smoke_dir: Path) -> None:
    # Low-confidence joints exist (pose-estimator-like), most are confident.
    confs = np.concatenate(
        [np.load(smoke_dir / r["skeleton"])[..., 2].ravel() for r in rows(smoke_dir)[:50]]
    )
    assert 0.005 < (confs < 0.4).mean() < 0.2


def test_dataset_json(smoke_dir: Path) -> None:
    meta = json.loads((smoke_dir / "dataset.json").read_text())
    assert meta["seed"] == 0 and meta["profile"]["name"] == "smoke"
    assert sum(meta["counts"].values()) == len(rows(smoke_dir))
    fp, _ = writer.fingerprint(smoke_dir, rows(smoke_dir))
    assert meta["fingerprint"] == fp and len(fp) == 64


def test_deterministic_and_independent_of_workers(smoke_dir: Path, tmp_path: Path) -> None:
    """Re-render a few sources with one worker: same rows, skeletons and decoded frames."""
    prof = writer.get_profile("smoke")
    plans = writer.plan_sources(prof)
    (tmp_path / "videos").mkdir()
    (tmp_path / "skeletons").mkdir()
    by_id = {r["clip_id"]: r for r in rows(smoke_dir)}
    for plan in (plans[0], plans[len(plans) // 2], plans[-1]):
        for r in writer.render_source((plan, prof, 0, str(tmp_path))):
            assert r == by_id[r["clip_id"]]
            np.testing.assert_array_equal(
                np.load(tmp_path / r["skeleton"]), np.load(smoke_dir / r["skeleton"])
            )
            a = (
                decord.VideoReader(str(tmp_path / r["video"]))
                .get_batch(range(prof.frames))
                .asnumpy()
            )
            b = (
                decord.VideoReader(str(smoke_dir / r["video"]))
                .get_batch(range(prof.frames))
                .asnumpy()
            )
            np.testing.assert_array_equal(a, b)
    # A different seed gives a different data set.
    other = writer.render_source((plans[0], prof, 1, str(tmp_path)))[0]
    assert not np.array_equal(
        np.load(tmp_path / other["skeleton"]),
        np.load(smoke_dir / by_id[other["clip_id"]]["skeleton"]),
    )


def test_refuses_to_overwrite(smoke_dir: Path) -> None:
    with pytest.raises(FileExistsError, match="--overwrite"):
        writer.generate(smoke_dir, "smoke", seed=0)


def test_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown synth profile 'huge'"):
        writer.generate(tmp_path / "x", "huge")
    assert not (tmp_path / "x").exists()


def test_full_profile_plan_is_paper_sized() -> None:
    prof = writer.get_profile("full")
    assert min(prof.width, prof.height) >= 256 and prof.frames >= 64


def test_the_data_folder_has_the_usual_permissions(smoke_dir: Path) -> None:
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(smoke_dir.stat().st_mode) == 0o777 & ~umask  # mkdtemp made 0700
