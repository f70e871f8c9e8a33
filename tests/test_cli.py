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
from pathlib import Path

import lightning as L
import pandas as pd
import pytest

from musclemap_lib import paths, study
from musclemap_lib.cli import main
from musclemap_lib.evaluation import records
from musclemap_lib.study import pipeline

SIX = list(study.SPLITS)
TWO_EPOCHS = {"train.epochs": 2}
SET_TWO_EPOCHS = ("--set", "train.epochs=2")


def _subset(src: Path, dst: Path, train: int = 32, per_eval: int = 8) -> None:
    with open(src / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    keep = []
    for split, n in (
        ("train", train),
        ("known_val", per_eval),
        ("new_val", per_eval),
        ("known_test", per_eval),
        ("new_test", per_eval),
    ):
        rs = [r for r in rows if r["split"] == split]
        keep += rs[:: max(1, len(rs) // n)][:n]  # spread over the activities
    dst.mkdir(parents=True)
    for sub in ("videos", "skeletons"):
        os.symlink(src / sub, dst / sub)
    with open(dst / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory) -> Path:
    """A data root whose ``synth-smoke`` is a subset of a freshly generated smoke set."""
    from musclemap_lib.synth.writer import generate

    base = tmp_path_factory.mktemp("synth")
    generate(base / "full-smoke", "smoke", seed=0, workers=2, progress=False)
    root = base / "root"
    _subset(base / "full-smoke", root / "synth-smoke")
    return root


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
    assert len(rows) == 36
    for i in items:
        assert {"name", "table", "row", "paper"} <= set(i)
    t2 = {i["row"]: i for i in rows if i["table"] == 2}
    assert t2["MViTv2-S"]["name"] == "mvitv2_s"
    assert t2["MViTv2-S"]["paper"]["mean_test"] == 79.7
    assert main(["experiments", "--table", "7"]) == 0
    assert "mvitv2_s_mct_flow" in capsys.readouterr().out


def test_video_skeleton_and_transm3e_end_to_end(results, capsys):
    for exp in ("c2d_r50", "stgcn", "mvitv2_s_mct", "hdgcn_mct", "transm3e", "random"):
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
    summary = pd.read_csv(results / "smoke" / "summary.csv")
    assert list(summary.columns) == list(records.SUMMARY_COLUMNS)
    assert set(summary.experiment) >= {"c2d_r50", "stgcn", "transm3e", "random"}

    # A second run skips everything (the CLI run-all over the same experiments).
    names = ["c2d_r50", "stgcn", "transm3e", "random"]
    before = {n: (results / "smoke" / n / "metrics.json").stat().st_mtime_ns for n in names}
    outcomes = pipeline.run_all("smoke", names=names, progress=False)
    assert {o.status for o in outcomes} == {"skipped"} and len(outcomes) == 6  # + stage 1
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
    assert "rebuilt from 6 run folder(s)" in capsys.readouterr().out


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
    assert main(["train", "stgcn", "--profile", "smoke", *SET_TWO_EPOCHS]) == 3
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
