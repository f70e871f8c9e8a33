"""Run records: round trip, provenance, atomic writes, skip rule, the tidy summary."""

from __future__ import annotations

import errno
import json

import numpy as np
import pandas as pd
import pytest

from musclemap_lib import paths
from musclemap_lib.evaluation import locks, records
from musclemap_lib.evaluation.predict import SplitScores, run_metrics
from musclemap_lib.splits import EVAL_SPLITS


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A temporary results/ folder (results_dir is the one place that says where results go)."""
    root = tmp_path / "results"
    monkeypatch.setattr(
        paths, "results_dir", lambda profile=None: root / profile if profile else root
    )
    return root


def _record(experiment="mvitv2_s", seed=0, sha="abc", fp="fp1"):
    rng = np.random.default_rng(seed)
    splits = {
        s: SplitScores(
            [f"{s}{i}" for i in range(12)],
            rng.random((12, 20)).astype(np.float32),
            (rng.random((12, 20)) > 0.5).astype(np.uint8),
        )
        for s in EVAL_SPLITS
    }
    metrics = {
        "experiment": experiment,
        "model": experiment,
        "profile": "smoke",
        "seed": seed,
        **run_metrics(splits, bootstrap_n=10),
        "bad_clips_skipped": 2,
        "wall_time_s": {"train": 1.0, "evaluate": 0.5, "total": 1.5},
        "config_sha": sha,
        "data_fingerprint": fp,
        "git_sha": records.git_sha(),
        "created_utc": records.utc_now(),
    }
    config = {"experiment": experiment, "seed": seed, "config_sha": sha}
    return config, metrics, records.environment(), splits


def test_round_trip_and_provenance(results):
    config, metrics, env, splits = _record()
    folder = records.write_run(records.run_dir("smoke", "mvitv2_s"), config, metrics, env, splits)
    assert folder == results / "smoke" / "mvitv2_s"
    run = records.load_run("smoke", "mvitv2_s")
    assert run["metrics"]["known_test"] == pytest.approx(metrics["known_test"])
    for key in ("git_sha", "config_sha", "data_fingerprint", "created_utc"):
        assert run["metrics"][key]
    for key in ("python", "torch", "lightning", "device", "cuda_version", "git_sha"):
        assert key in run["env"]
    for s in EVAL_SPLITS:
        np.testing.assert_array_equal(run["scores"][s].scores, splits[s].scores)
        assert run["scores"][s].clip_ids == splits[s].clip_ids
    assert records.run_dir("smoke", "x", seed=2).name == "x--seed2"


def test_up_to_date_only_with_same_sha_and_fingerprint(results):
    config, metrics, env, splits = _record(sha="s1", fp="f1")
    folder = records.write_run(records.run_dir("smoke", "a"), config, metrics, env, splits)
    assert records.is_up_to_date(folder, "s1", "f1")
    assert not records.is_up_to_date(folder, "s2", "f1")
    assert not records.is_up_to_date(folder, "s1", "f2")
    (folder / records.SCORES_NPZ).unlink()  # incomplete -> not up to date
    assert not records.is_up_to_date(folder, "s1", "f1")


def test_a_failed_write_leaves_nothing_behind(results, monkeypatch):
    config, metrics, env, splits = _record(sha="old")
    dest = records.run_dir("smoke", "a")
    records.write_run(dest, config, metrics, env, splits)
    (dest / "checkpoints").mkdir()
    (dest / "checkpoints" / "last.ckpt").write_bytes(b"x")

    real = records._write_json

    def full_disk(path, data):
        if path.name == records.METRICS_JSON:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(records, "_write_json", full_disk)
    new = dict(metrics, config_sha="new")
    with pytest.raises(OSError, match="No space"):
        records.write_run(dest, config, new, env, splits)
    # The old record is intact, no temporary folder is left, checkpoints untouched.
    assert json.loads((dest / records.METRICS_JSON).read_text())["config_sha"] == "old"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["a"]
    assert (dest / "checkpoints" / "last.ckpt").exists()
    monkeypatch.setattr(records, "_write_json", real)
    records.write_run(dest, config, new, env, splits)  # a replacement keeps the checkpoints
    assert json.loads((dest / records.METRICS_JSON).read_text())["config_sha"] == "new"
    assert (dest / "checkpoints" / "last.ckpt").exists()


def test_tidy_summary_rebuilt_from_run_folders(results):
    for exp, seed in (("a", 0), ("a", 1), ("b", 0)):
        config, metrics, env, splits = _record(exp, seed)
        records.write_run(records.run_dir("smoke", exp, seed), config, metrics, env, splits)
    (results / "smoke" / ".a.tmp-123").mkdir()  # an abandoned temporary: ignored
    out = records.rebuild_summary("smoke")
    df = records.read_summary_csv(out)
    assert list(df.columns) == list(records.SUMMARY_COLUMNS)
    maps = df[df.metric == "map"]
    assert len(maps) == 3 * 6
    assert set(maps.split) == {
        "known_val",
        "new_val",
        "mean_val",
        "known_test",
        "new_test",
        "mean_test",
    }
    assert (df[df.metric == "bad_clips_skipped"].value == 2).all()
    wide = records.load_metrics("smoke")
    assert len(wide) == 3 and set(wide.seed) == {0, 1}
    agg = records.aggregate_seeds(wide)
    a = agg[agg.experiment == "a"].iloc[0]
    assert a.n_seeds == 2
    assert a.known_test == pytest.approx(wide[wide.experiment == "a"].known_test.mean())
    assert a.known_test_std == pytest.approx(wide[wide.experiment == "a"].known_test.std())
    per = records.load_per_muscle("smoke", "known_test")
    assert "chest" in per.columns


def test_paper_reference_is_the_registry(results, tmp_path):
    from musclemap_lib.study.commands import write_paper_reference

    committed = paths.repo_root() / "results" / records.PAPER_REFERENCE_CSV
    fresh = write_paper_reference(tmp_path / "ref.csv")
    assert fresh.read_text() == committed.read_text(), "regenerate results/paper_reference.csv"
    df = pd.read_csv(committed)
    assert list(df.columns) == list(records.REFERENCE_COLUMNS)
    assert set(df.source) == {f"Table {t}" for t in range(2, 8)}
    # 36 rows of Tables 2-7, six numbers each.
    assert len(df) == 36 * 6
    t2 = df[(df.source == "Table 2") & (df.experiment == "mvitv2_s_pt")].set_index("split").value
    assert t2["mean_val"] == 79.6 and t2["mean_test"] == 79.7


def test_stale_reason_names_what_changed(results):
    config, metrics, env, splits = _record(sha="s1", fp="f1")
    folder = records.write_run(
        records.run_dir("smoke", "a"), config, dict(metrics, engine_version=1), env, splits
    )
    assert records.stale_reason(folder, "s1", "f1", 1) == ""
    assert "config changed (config sha s1 -> s2)" in records.stale_reason(folder, "s2", "f1", 1)
    assert "engine changed (version 1 -> 2)" in records.stale_reason(folder, "s1", "f1", 2)
    assert "data changed (fingerprint f1 -> f2" in records.stale_reason(folder, "s1", "f2", 1)
    (folder / records.METRICS_JSON).write_text("{}")
    assert "unreadable" in records.stale_reason(folder, "s1", "f1", 1)


@pytest.mark.parametrize("broken", ["{}", "[]", "{not json", '{"experiment": "b"}'])
def test_summary_skips_a_broken_record_and_names_it(results, broken, capsys):
    """Issue 15 probe 5: one unreadable metrics.json broke every command."""
    for exp in ("a", "b", "c"):
        config, metrics, env, splits = _record(exp)
        records.write_run(records.run_dir("smoke", exp), config, metrics, env, splits)
    bad = results / "smoke" / "b" / records.METRICS_JSON
    bad.write_text(broken)
    report = records.summarise("smoke")
    df = records.read_summary_csv(report.path)
    assert set(df.experiment) == {"a", "c"} and report.runs == 2
    assert len(report.skipped) == 1 and str(bad) in report.skipped[0]
    assert "run its experiment again" in report.skipped[0]
    with pytest.raises(records.RecordError, match="metrics.json"):
        records.load_run("smoke", "b")
    from argparse import Namespace

    assert records.cli_summary(Namespace(profile="smoke")) == 1  # non-zero at the end
    err = capsys.readouterr().err
    assert str(bad) in err and "1 record(s) left out" in err


def test_result_files_have_the_usual_permissions(results):
    """Issue 15 probe 6: summary.csv was written with mode 0600."""
    import os
    import stat

    config, metrics, env, splits = _record()
    folder = records.write_run(records.run_dir("smoke", "a"), config, metrics, env, splits)
    out = records.rebuild_summary("smoke")
    umask = os.umask(0)
    os.umask(umask)
    for p in (out, *(folder / n for n in (records.METRICS_JSON, records.SCORES_NPZ))):
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask


_HOLD = """
import sys, time
from pathlib import Path
from musclemap_lib.evaluation import locks
with locks.run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(folder, seconds):
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(folder), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(paths.repo_root())},
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_of_one_folder_is_refused_or_waits(results):
    """Issue 15 probe 2: two concurrent runs of one experiment mixed their files."""
    import os
    import time

    folder = records.run_dir("smoke", "a")
    proc = _holder(folder, 4)
    try:
        t0 = time.monotonic()
        with pytest.raises(locks.RunLockedError) as exc:
            with locks.run_lock(folder):
                pytest.fail("the lock was taken twice")
        msg = str(exc.value)
        assert f"pid {proc.pid}" in msg and "being written by" in msg and "--wait" in msg
        assert str(folder) in msg
        with locks.run_lock(records.run_dir("smoke", "a", seed=1)):
            pass  # another seed is another folder: not blocked
        with locks.run_lock(folder, wait=120):  # waits for the holder to finish
            assert time.monotonic() - t0 > 2
            holder = json.loads((folder.parent / ".locks" / "a.json").read_text())
            assert holder["pid"] == os.getpid()
    finally:
        proc.kill()
        proc.wait()
    assert not (folder.parent / ".locks" / "a.json").exists()  # released


def test_an_unwritable_results_folder_is_named(results, monkeypatch):
    import os

    (results / "smoke").mkdir(parents=True)
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root passes any chmod
    with pytest.raises(PermissionError) as exc:
        locks.check_writable(results / "smoke" / "a", "the results folder")
    assert str(results / "smoke") in str(exc.value) and "chmod -R u+w" in str(exc.value)


def test_summary_reads_a_sha_that_looks_like_a_number(results):
    # 61798e36500686... parses as a float with a huge exponent: pandas 2.3.3 segfaults on it
    # unless the identifier columns are read as text (the CI failure of stop 24).
    sha = "61798e3650068663f2887e15d4ef3bca174303c7+dirty"
    config, metrics, env, splits = _record("a", 0, sha="1e999999999999")
    records.write_run(
        records.run_dir("smoke", "a"), config, dict(metrics, git_sha=sha), env, splits
    )
    df = records.load_summary("smoke")
    assert set(df.git_sha) == {sha} and set(df.config_sha) == {"1e999999999999"}
    assert df.value.dtype.kind == "f" and df.seed.dtype.kind == "i"


def test_git_sha_is_dirty_for_changed_code_not_for_rewritten_results(tmp_path, monkeypatch):
    # A `make reproduce` on a fresh clone rewrites the committed results/ (its own outputs):
    # the record keeps the clean commit. A changed source file is still `+dirty`.
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    (tmp_path / "results" / "cpu" / "stgcn").mkdir(parents=True)
    (tmp_path / "results" / "cpu" / "stgcn" / "metrics.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "init")
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    head = records.git_sha()
    assert len(head) == 40 and not head.endswith("+dirty")
    (tmp_path / "results" / "cpu" / "stgcn" / "metrics.json").write_text('{"new": 1}')
    assert records.git_sha() == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert records.git_sha() == head + "+dirty"
