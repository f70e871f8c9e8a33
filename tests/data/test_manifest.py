"""Manifest loading and validation: every problem names the file, the line and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from tinydata import read_rows, write_manifest

from musclemap_lib.data.manifest import SPLITS, ManifestError, load_manifest
from musclemap_lib.muscles import MUSCLE_INDEX


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
    report = load_manifest(tiny_data).verify()
    assert report.fingerprint == "test-fp-0001"
    assert report.num_clips == 10 and report.num_files == 20


def test_fingerprint_computed_without_dataset_json(fresh_data):
    (fresh_data / "dataset.json").unlink()
    fp1 = load_manifest(fresh_data).verify().fingerprint
    assert fp1.startswith("files-")
    with open(fresh_data / "skeletons" / "c0.npy", "ab") as f:
        f.write(b"\0" * 64)  # a changed file changes the fingerprint
    fp2 = (
        load_manifest(
            fresh_data,
        )
        .verify(check_skeleton_headers=False)
        .fingerprint
    )
    assert fp2 != fp1


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
    assert any("new_val holds training activities ['squats']" in p for p in problems)
