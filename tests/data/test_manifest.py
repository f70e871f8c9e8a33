"""Manifest loading and validation: every problem names the file, the line and the fix."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from tinydata import read_rows, write_manifest

from musclemap_lib.data.manifest import SPLITS, ManifestError, load_manifest
from musclemap_lib.muscles import MUSCLE_GROUPS, MUSCLE_INDEX


def test_loads_rows_splits_and_labels(tiny_data):
    m = load_manifest(tiny_data)
    assert len(m) == 10
    sizes = m.split_sizes()
    assert set(sizes) == set(SPLITS)
    assert sizes == {"train": 4, "known_val": 1, "new_val": 1, "known_test": 2, "new_test": 2}
    row = m.split("train")[1]
    assert row.clip_id == "c1" and row.line == 3
    vec = row.multihot()
    assert vec.shape == (20,) and vec.dtype == np.float32
    assert {i for i in np.flatnonzero(vec)} == {
        MUSCLE_INDEX[x] for x in ("chest", "triceps", "shoulder")
    }
    # labels are kept in the paper's order whatever order the file uses
    assert list(row.labels) == ["chest", "shoulder", "triceps"]
    assert m.label_matrix("new_test").shape == (2, 20)
    assert m.has_skeletons()
    assert m.protocol_problems() == []


def test_verify_returns_fingerprint(tiny_data):
    m = load_manifest(tiny_data)
    report = m.verify()
    # Computed from the content: the value stored in dataset.json is not taken on trust.
    assert report.fingerprint == m.fingerprint != "test-fp-0001"
    assert report.fingerprint.startswith("data1-")
    assert report.num_clips == 10 and report.num_files == 20


def test_fingerprint_follows_the_content(fresh_data, tmp_path):
    fp = load_manifest(fresh_data).fingerprint
    (fresh_data / "dataset.json").unlink()  # metadata only
    assert load_manifest(fresh_data).fingerprint == fp
    copy = tmp_path / "copy"
    shutil.copytree(fresh_data, copy)  # another folder, other mtimes: the same data
    assert load_manifest(copy).fingerprint == fp
    # Relabelling every known-test row (the probe of issue 15) changes it.
    rows = read_rows(fresh_data)
    for r in rows:
        if r["split"] == "known_test":
            r["labels"] = "calves"
    write_manifest(fresh_data, rows)
    relabelled = load_manifest(fresh_data).fingerprint
    assert relabelled != fp
    with open(fresh_data / "skeletons" / "c0.npy", "ab") as f:
        f.write(b"\0" * 64)  # a changed file changes it
    assert load_manifest(fresh_data).fingerprint not in (fp, relabelled)
    video = fresh_data / "videos" / "c3.mp4"
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    before = load_manifest(fresh_data).fingerprint
    video.write_bytes(bytes(data))
    assert load_manifest(fresh_data).fingerprint != before


def _edit(root, line, **changes):
    rows = read_rows(root)
    rows[line - 2].update(changes)  # line 1 is the header
    write_manifest(root, rows)


@pytest.mark.parametrize(
    "change, needle",
    [
        (dict(split="tset"), "unknown split 'tset'"),
        (dict(labels="chest;bicepz"), "unknown muscle id(s) ['bicepz']"),
        (dict(labels=""), "no labels"),
        (dict(clip_id="c0"), "already used on line 2"),
        (dict(video=""), "empty video path"),
    ],
)
def test_bad_rows_name_file_and_line(fresh_data, change, needle):
    _edit(fresh_data, 5, **change)
    with pytest.raises(ManifestError) as exc:
        load_manifest(fresh_data)
    msg = str(exc.value)
    assert needle in msg
    assert "line 5" in msg and "manifest.csv" in msg


def test_all_problems_reported_at_once(fresh_data):
    rows = read_rows(fresh_data)
    rows[0]["split"] = "bogus"
    rows[3]["labels"] = "nope"
    write_manifest(fresh_data, rows)
    with pytest.raises(ManifestError, match="2 problem") as exc:
        load_manifest(fresh_data)
    assert "line 2" in str(exc.value) and "line 5" in str(exc.value)


def test_missing_column(fresh_data):
    text = (fresh_data / "manifest.csv").read_text().replace("labels", "label", 1)
    (fresh_data / "manifest.csv").write_text(text)
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['labels'\]"):
        load_manifest(fresh_data)


def test_missing_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="musclemap synth"):
        load_manifest(tmp_path)


def test_verify_missing_file(fresh_data):
    (fresh_data / "videos" / "c3.mp4").unlink()
    m = load_manifest(fresh_data)  # loading does not touch the files
    with pytest.raises(ManifestError) as exc:
        m.verify()
    msg = str(exc.value)
    assert "line 5 (clip 'c3')" in msg and "c3.mp4 does not exist" in msg


def test_verify_skeleton_wrong_shape(fresh_data):
    np.save(fresh_data / "skeletons" / "c2.npy", np.zeros((40, 18, 2), np.float32))
    with pytest.raises(ManifestError) as exc:
        load_manifest(fresh_data).verify()
    assert "line 4 (clip 'c2')" in str(exc.value) and "(40, 18, 2)" in str(exc.value)


def test_protocol_problem_detected(fresh_data):
    _edit(fresh_data, 7, activity="squats")  # c5 (new_val) becomes a training activity
    problems = load_manifest(fresh_data).protocol_problems()
    assert any("activity 'squats' is in train and in new_val" in p for p in problems)


@pytest.mark.parametrize(
    "line, change, needle",
    [
        (7, dict(activity="squats"), "activity 'squats' is in train and in new_val"),  # issue 12.8
        (2, dict(activity="v_ups"), "activity 'v_ups' is in train and in new_val"),
        (6, dict(activity="v_ups"), "activity 'v_ups' is in known_val but not in train"),
        (8, dict(source="src_c0"), "source video 'src_c0' has clips in known_test, train"),
    ],
)
def test_verify_refuses_a_broken_protocol(fresh_data, line, change, needle):
    _edit(fresh_data, line, **change)
    with pytest.raises(ManifestError) as exc:
        load_manifest(fresh_data).verify()
    msg = str(exc.value)
    assert needle in msg and "split protocol" in msg and "manifest.csv" in msg
    load_manifest(fresh_data).verify(protocol=False)  # the files themselves are fine


def _write_activities(root, rows):
    with open(root / "activities.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["activity", "role", *MUSCLE_GROUPS, "rationale"])
        for name, value in rows:
            w.writerow([name, "known", *([0] * 19), value, "test"])


def test_verify_refuses_unknown_activities(fresh_data):
    names = sorted({r["activity"] for r in read_rows(fresh_data)})
    _write_activities(fresh_data, [(n, 1) for n in names])
    load_manifest(fresh_data).verify()
    _edit(fresh_data, 2, activity="sqats")  # a typo, but train keeps squats via c2
    with pytest.raises(ManifestError) as exc:
        load_manifest(fresh_data).verify()
    assert "line 2 (clip 'c0'): unknown activity 'sqats'" in str(exc.value)


@pytest.mark.parametrize("value", [2, -1])
def test_activity_labels_must_be_0_or_1(fresh_data, value):
    names = sorted({r["activity"] for r in read_rows(fresh_data)})
    _write_activities(fresh_data, [(n, value if n == "squats" else 1) for n in names])
    with pytest.raises(ManifestError) as exc:
        load_manifest(fresh_data).verify()
    assert f"activity 'squats'): {MUSCLE_GROUPS[-1]} is '{value}'; labels are 0 or 1" in str(
        exc.value
    )


def test_verify_checks_only_the_files_a_model_reads(fresh_data):
    (fresh_data / "skeletons" / "c3.npy").unlink()
    m = load_manifest(fresh_data)
    m.verify(modalities=("rgb",))  # an RGB model reads no skeleton
    assert m.fingerprint  # a missing file enters the fingerprint as missing
    with pytest.raises(ManifestError, match="c3.npy does not exist"):
        m.verify(modalities=("rgb", "skeleton"))
    with pytest.raises(ManifestError, match="c3.npy does not exist"):
        m.verify()
