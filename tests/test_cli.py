"""The engine end to end through the console script, on a small MuscleMap-Synth smoke set.

The smoke data set is generated once per session with the synth generator; to keep the tests
fast, the runs read a subset of it (32 training clips, 8 per evaluation split) that shares its
video and skeleton files. Results go to a temporary results folder: ``paths.results_dir`` is
monkeypatched, the one place that says where results live.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import lightning as L
import pytest

from musclemap_lib import paths, study
from musclemap_lib.cli import main
from musclemap_lib.evaluation import locks, records
from musclemap_lib.study import freshness, pipeline

SIX = list(study.SPLITS)
TWO_EPOCHS = {"train.epochs": 2}
SET_TWO_EPOCHS = ("--set", "train.epochs=2")


@pytest.fixture
def results(smoke_root, tmp_path, monkeypatch):
    """Data root pointed at the smoke subset; results in a temporary folder."""
    monkeypatch.setenv("MUSCLEMAP_DATA_ROOT", str(smoke_root))
    results = tmp_path / "results"
    monkeypatch.setattr(
        paths, "results_dir", lambda profile=None: results / profile if profile else results
    )
    return results


def _metrics(results: Path, exp: str, seed: int = 0) -> dict:
    name = exp if seed == 0 else f"{exp}--seed{seed}"
    return json.loads((results / "smoke" / name / "metrics.json").read_text())


def _same_numbers(a: dict, b: dict) -> None:
    assert [a[s] for s in SIX] == [b[s] for s in SIX]
    assert a["per_muscle_ap"] == b["per_muscle_ap"]
    assert a["intervals"] == b["intervals"]


def test_experiments_json(capsys):
    assert main(["experiments", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    rows = [i for i in items if i["table"] is not None]
    assert len(rows) == 45 and len([i for i in rows if i["paper"]]) == 36  # 9 rows of ours
    for i in items:
        assert {"name", "table", "row", "paper"} <= set(i)
    t2 = {i["row"]: i for i in rows if i["table"] == 2}
    assert t2["MViTv2-S"]["name"] == "mvitv2_s_pt"
    assert t2["MViTv2-S"]["paper"]["mean_test"] == 79.7
    assert main(["experiments", "--table", "7"]) == 0
    assert "mvitv2_s_mct_flow" in capsys.readouterr().out


def test_video_skeleton_and_transm3e_end_to_end(results, capsys):
    stage0 = "pretrain_mvitv2_s_fractal"  # mvitv2_s_mct starts from it
    for exp in ("c2d_r50", "stgcn", stage0, "mvitv2_s_mct", "hdgcn_mct", "transm3e", "random"):
        assert main(["train", exp, "--profile", "smoke"]) == 0, exp
    for exp in ("c2d_r50", "stgcn", "transm3e", "random"):
        folder = results / "smoke" / exp
        assert records.is_complete(folder)
        m = _metrics(results, exp)
        for s in SIX:
            assert 0.0 < m[s] <= 100.0
        assert m["mean_test"] == pytest.approx((m["known_test"] + m["new_test"]) / 2)
        views = 1 if exp == "random" else study.get_profile("smoke").data.test_views  # no input
        assert m["views"]["known_test"] == views
        config = json.loads((folder / "config.json").read_text())
        assert config["config_sha"] == m["config_sha"] and config["experiment"] == exp
        env = json.loads((folder / "env.json").read_text())
        assert env["torch"] and env["lightning"]
    assert (results / "smoke" / "c2d_r50" / "checkpoints" / "last.ckpt").is_file()
    assert not (results / "smoke" / "random" / "checkpoints").exists()  # never trained
    # TransM3E records the stage-1 runs it started from.
    cfg = json.loads((results / "smoke" / "transm3e" / "config.json").read_text())
    assert [d for d, _ in cfg["stage1"]] == ["mvitv2_s_mct", "hdgcn_mct"]
    summary = records.read_summary_csv(results / "smoke" / "summary.csv")
    assert list(summary.columns) == list(records.SUMMARY_COLUMNS)
    assert set(summary.experiment) >= {"c2d_r50", "stgcn", "transm3e", "random"}

    # A second run skips everything (the CLI run-all over the same experiments).
    names = ["c2d_r50", "stgcn", "transm3e", "random"]
    before = {n: (results / "smoke" / n / "metrics.json").stat().st_mtime_ns for n in names}
    outcomes = pipeline.run_all("smoke", names=names, progress=False)
    assert {o.status for o in outcomes} == {"skipped"} and len(outcomes) == 7  # + stage 0, 1
    assert main(["evaluate", "stgcn", "--profile", "smoke"]) == 0  # re-evaluation: same numbers
    _same_numbers(
        _metrics(results, "stgcn"),
        outcomes[[o.experiment for o in outcomes].index("stgcn")].metrics,
    )
    after = {n: (results / "smoke" / n / "metrics.json").stat().st_mtime_ns for n in names}
    assert {n: before[n] == after[n] for n in names} == {
        "c2d_r50": True,
        "stgcn": False,
        "transm3e": True,
        "random": True,
    }
    capsys.readouterr()
    assert main(["summary", "--profile", "smoke"]) == 0
    assert "rebuilt from 7 run folder(s)" in capsys.readouterr().out


def test_run_all_cli_skips_up_to_date_runs(results, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "experiments_for_tables", lambda tables=None: ["random", "stgcn"])
    assert main(["run-all", "--profile", "smoke", "--tables", "2"]) == 0
    first = capsys.readouterr().out
    assert "trained" in first and "evaluated" in first
    assert main(["run-all", "--profile", "smoke", "--tables", "2"]) == 0
    second = capsys.readouterr().out
    assert second.count("skipped") == 2 and "trained" not in second
    # Checkpoints are not committed: a result without one (a fresh clone) is trained again.
    for ckpt in (results / "smoke" / "stgcn" / "checkpoints").iterdir():
        ckpt.unlink()
    assert main(["run-all", "--profile", "smoke", "--tables", "2"]) == 0
    third = capsys.readouterr().out
    assert third.count("skipped") == 1 and third.count("trained") == 1
    assert (results / "smoke" / "stgcn" / "checkpoints" / "last.ckpt").is_file()


class Kill(L.Callback):
    """Raises in the middle of an epoch, as a killed process would stop."""

    def __init__(self, after_steps: int) -> None:
        self.after = after_steps

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.after:
            raise RuntimeError("killed")


def test_resume_after_a_kill_mid_epoch_gives_the_same_metrics(results, monkeypatch, tmp_path):
    pipeline.run_experiment("stgcn", "smoke", progress=False, overrides=TWO_EPOCHS)
    reference = _metrics(results, "stgcn")
    config = json.loads((results / "smoke" / "stgcn" / "config.json").read_text())
    assert config["train"]["epochs"] == 2  # --set / overrides reach the run's config
    # A rerun with the same seed gives identical metrics.
    pipeline.run_experiment("stgcn", "smoke", force=True, progress=False, overrides=TWO_EPOCHS)
    _same_numbers(_metrics(results, "stgcn"), reference)
    # Another seed gives other metrics, in its own folder.
    assert main(["train", "stgcn", "--profile", "smoke", "--seed", "1", *SET_TWO_EPOCHS]) == 0
    assert _metrics(results, "stgcn", seed=1)["known_test"] != reference["known_test"]

    # Killed in epoch 2 (4 steps per epoch) in a fresh results folder, then resumed.
    other = tmp_path / "other"
    monkeypatch.setattr(paths, "results_dir", lambda p=None: other / p if p else other)
    with pytest.raises(RuntimeError, match="killed"):
        pipeline.run_experiment(
            "stgcn", "smoke", callbacks=[Kill(after_steps=6)], progress=False, overrides=TWO_EPOCHS
        )
    folder = other / "smoke" / "stgcn"
    assert not (folder / "metrics.json").exists()  # no result from a killed run
    assert (folder / "checkpoints" / "last.ckpt").is_file()  # but the epoch-1 checkpoint
    assert main(["train", "stgcn", "--profile", "smoke", "--resume", *SET_TWO_EPOCHS]) == 0
    _same_numbers(_metrics(other, "stgcn"), reference)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(results, monkeypatch, capsys):
    import torch

    from musclemap_lib.training import system

    real = system.classification_loss
    calls = {"n": 0}

    def nan_in_epoch_2(logits, labels, kind):
        calls["n"] += 1
        loss = real(logits, labels, kind)
        return loss * torch.tensor(float("nan")) if calls["n"] > 5 else loss

    monkeypatch.setattr(system, "classification_loss", nan_in_epoch_2)
    # No validation: the patched loss counts training steps only.
    no_val = ("--set", "train.val_every_n_epochs=0")
    assert main(["train", "stgcn", "--profile", "smoke", *SET_TWO_EPOCHS, *no_val]) == 3
    err = capsys.readouterr().err
    assert "global step 5" in err and "last good checkpoint" in err
    folder = results / "smoke" / "stgcn"
    state = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["epoch"] == 0 and not (folder / "metrics.json").exists()


def test_bad_inputs(results, smoke_root, monkeypatch, tmp_path, capsys):
    assert main(["train", "mvit9", "--profile", "smoke"]) == 2
    assert "unknown experiment 'mvit9'; known experiments: random" in capsys.readouterr().err
    # A stage-1 dependency that was never trained.
    assert main(["train", "late_fusion_sum", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "mvitv2_s_mct, hdgcn_mct" in err and "musclemap train mvitv2_s_mct" in err
    # Evaluating a run that was never trained.
    assert main(["evaluate", "stgcn", "--profile", "smoke"]) == 2
    assert "train it first" in capsys.readouterr().err
    # Data missing for the profile.
    monkeypatch.setenv("MUSCLEMAP_DATA_ROOT", str(tmp_path / "empty"))
    assert main(["train", "stgcn", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "make data PROFILE=smoke" in err and "musclemap data --profile smoke" in err
    assert main(["train", "stgcn", "--profile", "smoke", "--data", str(tmp_path)]) == 2
    assert "holds no manifest.csv" in capsys.readouterr().err
    # run-all fails before training anything when the data is missing.
    assert main(["run-all", "--profile", "smoke", "--tables", "2"]) == 2
    assert main(["run-all", "--profile", "smoke", "--tables", "x"]) == 2
    assert "--tables" in capsys.readouterr().err
    # `data` verifies a given folder.
    assert main(["data", "--profile", "smoke", "--data", str(smoke_root / "synth-smoke")]) == 0
    assert "32" not in "" and "verified" in capsys.readouterr().out


# ---- reliability (issue 15, issue 12 point 8) ---------------------------------------------------
def _private_data(smoke_root: Path, dst: Path) -> Path:
    """A copy of the smoke subset that a test may damage: its own manifest, one link per file."""
    src = smoke_root / "synth-smoke"
    dst.mkdir(parents=True)
    (dst / "manifest.csv").write_bytes((src / "manifest.csv").read_bytes())
    for sub in ("videos", "skeletons"):
        (dst / sub).mkdir()
        for f in (src / sub).iterdir():
            os.symlink(f.resolve(), dst / sub / f.name)
    return dst


def _rows(root: Path) -> list[dict]:
    with open(root / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def _write_rows(root: Path, rows: list[dict]) -> None:
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_relabelled_data_is_rerun_and_says_why(results, smoke_root, tmp_path, capsys, caplog):
    """Probe 1: after relabelling every known-test row, `train` printed "skipped"."""
    import logging

    data = _private_data(smoke_root, tmp_path / "data")
    argv = ["train", "random", "--profile", "smoke", "--data", str(data)]
    assert main(argv) == 0
    first = _metrics(results, "random")
    assert main(argv) == 0 and "skipped" in capsys.readouterr().out
    rows = _rows(data)
    for r in rows:
        if r["split"] == "known_test":
            r["labels"] = "calves"
    _write_rows(data, rows)
    with caplog.at_level(logging.INFO, logger="musclemap_lib.study.pipeline"):
        assert main(argv) == 0
    assert "evaluated" in capsys.readouterr().out
    assert "the data changed (fingerprint" in caplog.text
    second = _metrics(results, "random")
    assert second["data_fingerprint"] != first["data_fingerprint"]
    assert second["known_test"] != first["known_test"]  # scored against the new labels
    assert second["engine_version"] == pipeline.ENGINE_VERSION


def test_a_second_run_of_an_experiment_is_refused_naming_the_first(results, capsys):
    """Probe 2: concurrent runs of one experiment mixed their checkpoints, records and logs."""
    folder = records.run_dir("smoke", "random")
    with locks.run_lock(folder):  # as another `musclemap train random` holds it
        assert main(["train", "random", "--profile", "smoke"]) == 2
        err = capsys.readouterr().err
        assert f"is being written by pid {os.getpid()}" in err and "--wait" in err
        assert not folder.exists()  # the refused run wrote nothing
        assert main(["train", "random", "--profile", "smoke", "--seed", "1"]) == 0  # not blocked
    assert main(["train", "random", "--profile", "smoke"]) == 0  # released: runs


def test_a_garbage_checkpoint_is_a_one_line_error(results, capsys, caplog):
    """Probe 4: torch's UnpicklingError (advising weights_only=False) reached the user, and a
    plain `train` took a garbage checkpoint as valid and skipped."""
    import logging

    assert main(["train", "stgcn", "--profile", "smoke", *SET_TWO_EPOCHS]) == 0
    ckpt = results / "smoke" / "stgcn" / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(b"garbage" * 1000)
    capsys.readouterr()
    for argv in (
        ["evaluate", "stgcn", "--profile", "smoke", *SET_TWO_EPOCHS],
        ["train", "stgcn", "--profile", "smoke", "--resume", *SET_TWO_EPOCHS],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"checkpoint {ckpt} is corrupt" in err
        assert "weights_only" not in err and "Traceback" not in err
    with caplog.at_level(logging.WARNING, logger="musclemap_lib.study.pipeline"):
        assert main(["train", "stgcn", "--profile", "smoke", *SET_TWO_EPOCHS]) == 0
    assert "stgcn (seed 0, smoke): trained" in capsys.readouterr().out  # never "skipped"
    assert f"its checkpoint {ckpt} is corrupt" in caplog.text
    import torch

    assert torch.load(ckpt, weights_only=True)["epoch"] == 1  # retrained


def test_unwritable_results_are_refused_before_training(results, monkeypatch, capsys):
    """Probe 4: a PermissionError (read-only results) came as a traceback, after training."""
    real = os.access
    denied = results / "smoke"
    denied.mkdir(parents=True)
    # Tests run as root, whom chmod does not stop: deny through os.access instead.
    monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and Path(p) != denied)
    assert main(["train", "stgcn", "--profile", "smoke", *SET_TWO_EPOCHS]) == 2
    err = capsys.readouterr().err
    assert f"the results folder {denied} is not writable" in err and "chmod" in err
    assert not (denied / "stgcn").exists()  # refused before training
    monkeypatch.setattr(os, "access", real)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(denied / "stgcn" / "config.json"))

    monkeypatch.setattr(records, "write_run", read_only)  # e.g. remounted read-only meanwhile
    assert main(["train", "random", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "config.json: Permission denied; check its" in err


def test_a_broken_record_does_not_break_another_run(results, capsys):
    """Probe 5: one unreadable metrics.json made `train random` exit 2 after writing."""
    assert main(["train", "all_ones", "--profile", "smoke"]) == 0
    bad = results / "smoke" / "all_ones" / "metrics.json"
    for broken in ("{}", "[]"):
        bad.write_text(broken)
        capsys.readouterr()
        assert main(["train", "random", "--profile", "smoke", "--set", "bootstrap_n=10"]) == 0
        err = capsys.readouterr().err
        assert str(bad) in err and "warning" in err
        summary = records.read_summary_csv(results / "smoke" / "summary.csv")
        assert set(summary.experiment) == {"random"}
        assert main(["summary", "--profile", "smoke"]) == 1  # non-zero at the end
        out, err = capsys.readouterr()
        assert "rebuilt from 1 run folder(s)" in out and str(bad) in err
        shutil.rmtree(results / "smoke" / "random")
    # The broken run itself is simply rerun.
    assert main(["train", "all_ones", "--profile", "smoke"]) == 0
    assert _metrics(results, "all_ones")["experiment"] == "all_ones"


def test_a_corrupt_evaluation_video_is_refused_before_training(
    results, smoke_root, tmp_path, capsys
):
    """Probe 6: a corrupt evaluation video was found only after the whole training; a missing
    skeleton stopped an RGB-only model."""
    data = _private_data(smoke_root, tmp_path / "data")
    row = next(r for r in _rows(data) if r["split"] == "known_test")
    video = data / row["video"]
    video.unlink()
    video.write_bytes(b"\0" * 4096)
    argv = ["train", "c2d_r50", "--profile", "smoke", "--data", str(data), *SET_TWO_EPOCHS]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"(clip {row['clip_id']!r})" in err and str(video) in err
    assert "checked before the run started" in err
    assert not (results / "smoke" / "c2d_r50" / "checkpoints").exists()  # nothing trained
    video.unlink()
    os.symlink((smoke_root / "synth-smoke" / row["video"]).resolve(), video)
    (data / row["skeleton"]).unlink()  # RGB models read no skeleton
    assert main(argv) == 0
    assert main(["train", "stgcn", "--profile", "smoke", "--data", str(data)]) == 2
    assert f"{data / row['skeleton']} does not exist" in capsys.readouterr().err


def test_training_and_evaluation_refuse_a_broken_protocol(results, smoke_root, tmp_path, capsys):
    """Issue 12 point 8: training went ahead on a manifest where a new activity leaks into train."""
    data = _private_data(smoke_root, tmp_path / "data")
    rows = _rows(data)
    new = next(r["activity"] for r in rows if r["split"] == "new_test")
    next(r for r in rows if r["split"] == "train")["activity"] = new
    _write_rows(data, rows)
    for cmd in ("train", "evaluate"):
        assert main([cmd, "random", "--profile", "smoke", "--data", str(data)]) == 2
        err = capsys.readouterr().err
        assert f"activity {new!r} is in train and in new_test" in err and "split protocol" in err
    assert not (results / "smoke" / "random").exists()


@pytest.mark.parametrize(
    "env, zero",
    [
        ({}, True),
        ({"RANK": "0", "LOCAL_RANK": "0"}, True),
        ({"RANK": "3", "LOCAL_RANK": "1"}, False),  # torchrun
        ({"SLURM_PROCID": "5"}, False),  # srun
        ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, False),  # Lightning's own DDP launcher
    ],
)
def test_only_global_rank_zero_locks_and_writes(monkeypatch, env, zero):
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert freshness.is_rank_zero() is zero


def test_the_run_all_table_prints_a_pretraining_without_split_numbers(capsys, tmp_path):
    """A stage-0 run records None for every split; the end-of-run table printed a TypeError."""
    from musclemap_lib.study.commands import _print_outcomes
    from musclemap_lib.study.pipeline import RunOutcome

    metrics = {"known_val": None, "new_val": None, "known_test": None, "new_test": None}
    pre = RunOutcome("pretrain_r50_fractal", 0, "skipped", tmp_path, metrics)
    run = RunOutcome("c2d_r50_pt", 0, "trained", tmp_path, {"known_val": 49.86}, 12.0)
    _print_outcomes([pre, run], "cpu")
    out = capsys.readouterr().out
    assert "pretrain_r50_fractal" in out and "nan" in out and "49.9" in out
