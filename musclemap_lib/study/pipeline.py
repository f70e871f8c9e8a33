"""The run pipeline: plan -> build -> fit -> evaluate -> record, for one experiment at a profile.

:func:`run_experiment` trains (unless a baseline), evaluates and records one run;
:func:`evaluate_experiment` re-evaluates a trained run from its checkpoint; :func:`run_all` runs a
profile's experiments in dependency order, skipping the up-to-date ones. Each step is its own
function: :func:`plan_run` (the :class:`~musclemap_lib.config.RunConfig`, whose hash decides
whether a result is up to date), :func:`build` (the model, with stage-1 weights through the
model family's ``load_stage1`` hook), :func:`fit` (Lightning), :func:`evaluate` and :func:`record`.

Multi-GPU / multi-node: the Trainer uses ``accelerator="auto", devices="auto", strategy="auto"``,
so Lightning picks DDP when several GPUs are visible, and joins an external launch:

* one node, 4 GPUs: ``torchrun --nproc_per_node 4 -m musclemap_lib.cli train transm3e
  --profile paper --data /data/musclemap136``
* two nodes with torchrun: ``torchrun --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d
  --rdzv_endpoint HOST:29500 -m musclemap_lib.cli train ...`` on each node;
* SLURM (e.g. 2 nodes x 4 GPUs): ``#SBATCH --nodes 2 --ntasks-per-node 4 --gpus-per-node 4`` and
  ``srun musclemap train transm3e --profile paper --data ...``.

The number of nodes is read from the launcher (:func:`_num_nodes`); ``batch_size`` is per device
and the learning rate is not rescaled. Only global rank 0 evaluates and writes the results.

Reliability: a result is up to date when its config sha, :data:`ENGINE_VERSION` and data
fingerprint (computed from the data's content at every run) all match, and, for a trained run,
its checkpoint is whole and the one the record was computed with; otherwise the run reruns and
the log says why. The run folder is locked while a run writes it
(:func:`~musclemap_lib.evaluation.locks.run_lock`): a second process of the same experiment,
profile and seed waits (``wait``) or stops with a message naming the holder. Before training,
the results folder is checked to be writable and every clip the model will read is opened
(:func:`~musclemap_lib.data.checks.preflight`, which also refuses a manifest that breaks the
split protocol).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from musclemap_lib.config import RunConfig
from musclemap_lib.data import SPLITS as DATA_SPLITS
from musclemap_lib.data import MuscleMapDataModule, load_manifest, preflight
from musclemap_lib.data.manifest import sampled_digest
from musclemap_lib.evaluation import records
from musclemap_lib.evaluation.curves import read_curve
from musclemap_lib.evaluation.metrics import mean_average_precision
from musclemap_lib.evaluation.predict import run_metrics, score_split
from musclemap_lib.models import build_model
from musclemap_lib.splits import EVAL_SPLITS
from musclemap_lib.study.catalogue import (
    SPLITS,
    Experiment,
    Family,
    get_experiment,
    plan,
)
from musclemap_lib.study.freshness import (
    ENGINE_VERSION,
    check_writable,
    is_rank_zero,
    run_lock,
    stale_reason,
)
from musclemap_lib.study.overrides import apply_overrides
from musclemap_lib.study.paper_tables import experiments_for_tables
from musclemap_lib.study.profiles import Profile, data_dir, get_profile
from musclemap_lib.study.stage0 import load_stage0, pretrain_spec, run_pretrain
from musclemap_lib.training.callbacks import (
    EpochReseed,
    WallClock,
    epoch_checkpoints,
    last_checkpoint,
    model_weights,
    read_checkpoint,
)
from musclemap_lib.training.system import AMGESystem, DistillSystem

log = logging.getLogger(__name__)

# The Lightning system of each trained family (every other family trains with AMGESystem).
SYSTEMS: dict[Family, type[AMGESystem]] = {Family.STAGE2: DistillSystem}


@dataclass
class RunOutcome:
    """What happened to one run."""

    experiment: str
    seed: int
    status: Literal["trained", "evaluated", "skipped"]
    folder: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


# ---- data ---------------------------------------------------------------------------------------
def _datamodule(run: RunConfig, root: Path, modalities: Sequence[str]) -> MuscleMapDataModule:
    batch = run.train.batch_size if run.train else 16
    return MuscleMapDataModule(
        root,
        run.data,
        modalities=modalities,
        batch_size=batch,
        eval_batch_size=2 * batch,
        num_workers=run.train.num_workers if run.train else 0,
        skip_bad=run.skip_bad,
        drop_last=True,
    )


def _label_batches(root: Path, split: str, batch_size: int = 256) -> Iterator[dict[str, Any]]:
    """Batches of labels and clip ids only: the input of the statistical baselines."""
    rows = load_manifest(root).split(split)
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        yield {
            "labels": torch.from_numpy(np.stack([r.multihot() for r in chunk])),
            "clip_id": [r.clip_id for r in chunk],
            "skipped": [],
        }


# ---- plan ---------------------------------------------------------------------------------------
def _stage1_shas(exp: Experiment, profile: str, seed: int) -> tuple[tuple[str, str], ...]:
    """``(dependency, config_sha)`` of each finished stage-1 run; raise when one is missing."""
    out, missing = [], []
    for dep in exp.depends_on:
        folder = records.run_dir(profile, dep, seed)
        if not records.is_complete(folder) or last_checkpoint(folder / "checkpoints") is None:
            missing.append(dep)
            continue
        out.append((dep, records.read_metrics(folder).get("config_sha", "")))
    if missing:
        cmds = "; ".join(f"musclemap train {d} --profile {profile} --seed {seed}" for d in missing)
        raise FileNotFoundError(
            f"{exp.name} starts from the stage-1 run(s) {', '.join(missing)}, which have no "
            f"finished result with a checkpoint at profile {profile!r} (seed {seed}). Train them "
            f"first ({cmds}), or run `musclemap run-all --profile {profile}`, which runs "
            "dependencies first"
        )
    return tuple(out)


def plan_run(
    exp: Experiment,
    prof: Profile,
    seed: int = 0,
    stage1: tuple[tuple[str, str], ...] = (),
    overrides: Mapping[str, Any] | None = None,
) -> RunConfig:
    """The RunConfig of ``exp`` at ``prof`` with ``seed``, its stage-1 shas and ``overrides``."""
    run = RunConfig(
        experiment=exp.name,
        profile=prof.name,
        model=exp.model,
        scale=prof.scale,
        data=prof.data,
        train=prof.train_config(exp),
        seed=seed,
        stage1=stage1,
        skip_bad=False,
        bootstrap_n=prof.bootstrap_n,
        model_args=tuple(sorted(prof.builder_options(exp).items())),
    )
    return apply_overrides(run, overrides or {})


# ---- build --------------------------------------------------------------------------------------
def _stage1_state(profile: str, dep: str, seed: int) -> dict[str, torch.Tensor]:
    """The model weights of a finished stage-1 run (``torch.load(weights_only=True)``)."""
    ckpt = last_checkpoint(records.run_dir(profile, dep, seed) / "checkpoints")
    if ckpt is None:
        raise FileNotFoundError(f"stage-1 run {dep} ({profile}, seed {seed}) has no checkpoint")
    fix = f"retrain the stage-1 run: musclemap train {dep} --profile {profile} --seed {seed}"
    return model_weights(ckpt, fix=fix)


def build(exp: Experiment, run: RunConfig, with_stage1: bool = True) -> nn.Module:
    """The model of a run; stage-1 weights loaded through the family's ``load_stage1`` hook.

    A stage-0 dependency (:attr:`Family.PRETRAIN`) is loaded by
    :func:`~musclemap_lib.pretrain.transfer.load_pretrained` instead (inflated as I3D / MViTv2
    load ImageNet weights); its report is kept as ``model.transfer_report`` for the record.
    """
    model = build_model(run.model, scale=run.scale, **dict(run.model_args))
    if not (exp.depends_on and with_stage1):
        return model
    stage1 = [d for d in exp.depends_on if get_experiment(d).family is not Family.PRETRAIN]
    stage0 = [d for d in exp.depends_on if d not in stage1]
    model.transfer_report = load_stage0(model, run, stage0, _stage1_state)  # read by record()
    if stage1:
        hook = getattr(model, "load_stage1", None)
        if not callable(hook):
            raise TypeError(
                f"{exp.name} depends on {', '.join(stage1)} but model {run.model!r} has "
                "no load_stage1(states) method to take their weights"
            )
        states = [_stage1_state(run.profile, d, run.seed) for d in stage1]
        log.info("%s: stage-1 weights from %s\n%s", exp.name, ", ".join(stage1), hook(states))
    return model


# ---- fit ----------------------------------------------------------------------------------------
def _num_nodes() -> int:
    """Nodes of a torchrun or SLURM launch (1 otherwise); Lightning needs it as ``num_nodes``."""
    env = os.environ
    if "WORLD_SIZE" in env and "LOCAL_WORLD_SIZE" in env:  # torchrun
        return max(1, int(env["WORLD_SIZE"]) // max(1, int(env["LOCAL_WORLD_SIZE"])))
    if "SLURM_NNODES" in env and "SLURM_NTASKS" in env:  # srun
        return max(1, int(env["SLURM_NNODES"]))
    return 1


def _trainer(run: RunConfig, folder: Path, callbacks: Sequence[Any], progress: bool) -> L.Trainer:
    """The Lightning Trainer of a run: device, precision and distribution come from here."""
    cfg = run.train
    assert cfg is not None
    gpu = torch.cuda.is_available()
    # ASSUMPTION: bf16 autocast on a GPU is ours (speed); the released run is fp32, and so is
    # every CPU run.
    precision = "bf16-mixed" if gpu and cfg.precision in ("auto", "bf16") else "32-true"
    return L.Trainer(
        accelerator="auto",
        devices="auto",
        strategy="auto",
        num_nodes=_num_nodes(),
        precision=precision,
        max_epochs=cfg.epochs,
        gradient_clip_val=cfg.grad_clip,
        gradient_clip_algorithm="norm",
        # Exact on CPU; on a GPU some kernels have no deterministic version: warn instead.
        deterministic=(True if not gpu else "warn") if cfg.deterministic else False,
        logger=CSVLogger(save_dir=str(folder), name="logs"),
        callbacks=[
            EpochReseed(run.seed),
            epoch_checkpoints(folder / "checkpoints"),
            WallClock(),
            *callbacks,
        ],
        log_every_n_steps=cfg.log_every_n_steps,
        check_val_every_n_epoch=max(1, cfg.val_every_n_epochs),
        limit_val_batches=1.0 if cfg.val_every_n_epochs > 0 else 0,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=progress,
    )


def fit(
    exp: Experiment,
    run: RunConfig,
    model: nn.Module,
    root: Path,
    folder: Path,
    ckpt: Path | None,
    callbacks: Sequence[Any],
    progress: bool,
) -> tuple[AMGESystem, L.Trainer]:
    """Train ``model`` as its family does; returns the system and the finished Trainer."""
    assert run.train is not None
    system_cls = SYSTEMS.get(exp.family, AMGESystem)
    system = system_cls(model, run.train, val_metric=mean_average_precision)
    dm = _datamodule(run, root, model.modalities)
    trainer = _trainer(run, folder, callbacks, progress)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        trainer.fit(system, datamodule=dm, ckpt_path=ckpt, weights_only=True)
    finally:
        # Lightning switches deterministic algorithms on process-wide; leave the process as found.
        torch.use_deterministic_algorithms(was_deterministic)
    return system, trainer


# ---- evaluate and record ------------------------------------------------------------------------
def evaluate(
    model: nn.Module, run: RunConfig, root: Path, device: Any = "cpu"
) -> tuple[dict[str, Any], int]:
    """Score the four evaluation splits with ``run.data.test_views`` views.

    Returns:
        ``(splits, skipped)``: per-split :class:`~musclemap_lib.evaluation.predict.SplitScores`
        and the number of bad clips skipped.
    """
    activation = run.train.loss if run.train else "bce"
    modalities = tuple(getattr(model, "modalities", ()))
    reset = getattr(model, "reset", None)
    if callable(reset):
        # The Random baseline restarts its seeded stream once; the splits are scored in a fixed
        # order, so each split gets its own, reproducible scores.
        reset()
    splits, skipped = {}, 0
    dm = _datamodule(run, root, modalities) if modalities else None
    for split in EVAL_SPLITS:
        if dm is None:
            loader: Iterable[Any] = _label_batches(root, split)
        else:
            loader = dm.split_dataloader(split, views=run.data.test_views)
        scores, n_skipped = score_split(model, loader, activation, device)
        splits[split] = scores
        skipped += n_skipped
    return splits, skipped


def record(
    exp: Experiment,
    run: RunConfig,
    root: Path,
    fingerprint: str,
    model: nn.Module,
    device: Any,
    train_seconds: float,
    train_skipped: int,
) -> tuple[Path, dict[str, Any]]:
    """Evaluate ``model`` and write the run folder (atomically)."""
    t0 = time.perf_counter()
    splits, eval_skipped = evaluate(model, run, root, device)
    metrics = run_metrics(splits, bootstrap_n=run.bootstrap_n, bootstrap_seed=0)
    eval_seconds = time.perf_counter() - t0
    sha = run.sha()
    env = records.environment(str(device))
    folder = records.run_dir(run.profile, exp.name, run.seed)
    metrics = {
        "experiment": exp.name,
        "model": exp.model,
        "profile": run.profile,
        "seed": run.seed,
        **metrics,
        "bad_clips_skipped": train_skipped + eval_skipped,
        "wall_time_s": {
            "train": round(train_seconds, 2),
            "evaluate": round(eval_seconds, 2),
            "total": round(train_seconds + eval_seconds, 2),
        },
        "config_sha": sha,
        "data_fingerprint": fingerprint,
        "data_dir": str(root),
        "git_sha": env["git_sha"],
        "created_utc": records.utc_now(),
        # Per epoch: train loss, known-val and new-val mAP (empty for a baseline).
        "curve": read_curve(folder),
    }
    metrics["engine_version"] = ENGINE_VERSION
    if getattr(model, "transfer_report", None):
        metrics["pretrained"] = model.transfer_report  # what stage 0 loaded, from which run
    ckpt = last_checkpoint(folder / "checkpoints") if exp.trained else None
    if ckpt is not None:
        # Ties the record to its checkpoint: a checkpoint replaced afterwards is not taken for it.
        size, digest = sampled_digest(ckpt)
        metrics["checkpoint"] = {"file": "checkpoints/last.ckpt", "bytes": size, "sampled": digest}
    config = {**dataclasses.asdict(run), "config_sha": sha}
    records.write_run(folder, config, metrics, env, splits)
    return folder, metrics


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---- one run, every run -------------------------------------------------------------------------
def run_experiment(
    name: str,
    profile: str,
    seed: int = 0,
    data: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    callbacks: Sequence[Any] = (),
    progress: bool | None = None,
    overrides: Mapping[str, Any] | None = None,
    wait: float = 0.0,
) -> RunOutcome:
    """Train (unless a baseline), evaluate and record one experiment at a profile.

    Args:
        name: experiment name.
        profile: ``smoke``, ``cpu`` or ``paper``.
        seed: the run's seed.
        data: data folder (default: the profile's MuscleMap-Synth).
        resume: continue from the run's ``checkpoints/last.ckpt``.
        force: run even when an up-to-date result exists.
        callbacks: extra Lightning callbacks (tests use one to kill a run mid-epoch).
        progress: progress bars (default: when stderr is a terminal).
        overrides: per-run settings (:func:`~musclemap_lib.study.overrides.parse_overrides`);
            they enter the config hash, so an overridden result is never taken for the default.
        wait: seconds to wait when another process holds this run's lock (0: refuse at once,
            negative: wait as long as it takes).

    Returns:
        A :class:`RunOutcome` (``skipped`` when the result was up to date).

    Raises:
        ValueError: unknown experiment or profile, a bad override, or data that fails the
            pre-flight check (``ManifestError``, naming the files), a corrupt checkpoint to resume
            from (``CheckpointError``).
        FileNotFoundError: data or a stage-1 dependency missing (the message says what to run).
        PermissionError: the results folder is not writable (checked before training).
        RunLockedError: another process is running the same experiment (it is named).
        NonFiniteLossError: the loss became NaN/inf (the message names the step).
    """
    exp = get_experiment(name)
    prof = get_profile(profile)
    run = plan_run(exp, prof, seed, _stage1_shas(exp, profile, seed), overrides)
    if exp.family is Family.PRETRAIN:
        # Stage 0 reads no data folder: its "data" is the generator and its spec.
        root, fingerprint = Path("."), pretrain_spec(run).fingerprint
    else:
        root = data_dir(profile, data)
        fingerprint = load_manifest(root).fingerprint
    folder = records.run_dir(profile, name, seed)
    who = f"{name} (seed {seed}, {profile})"
    check = not force and not resume
    if check and not stale_reason(exp, run, folder, fingerprint):
        # Read-only: a skip takes no lock, so it also works on read-only committed results.
        log.info("%s: up to date, skipped", who)
        return RunOutcome(name, seed, "skipped", folder, records.read_metrics(folder))
    check_writable(folder)
    with run_lock(folder, wait):
        if check:
            # Asked again under the lock: the run we may have waited for has just written it.
            reason = stale_reason(exp, run, folder, fingerprint)
            if not reason:
                log.info("%s: up to date, skipped", who)
                return RunOutcome(name, seed, "skipped", folder, records.read_metrics(folder))
            # A corrupt checkpoint is never taken as valid: it is named, and the run retrains.
            level = logging.WARNING if "corrupt" in reason else logging.INFO
            log.log(level, "%s: %s: running", who, reason)
        return _run_locked(exp, run, root, folder, fingerprint, resume, callbacks, progress)


def _run_locked(
    exp: Experiment,
    run: RunConfig,
    root: Path,
    folder: Path,
    fingerprint: str,
    resume: bool,
    callbacks: Sequence[Any],
    progress: bool | None,
) -> RunOutcome:
    """:func:`run_experiment` once the run folder is locked: pre-flight, fit, record."""
    name, seed, profile = exp.name, run.seed, run.profile
    progress = sys.stderr.isatty() if progress is None else progress
    t_start = time.perf_counter()
    if exp.family is Family.PRETRAIN:
        metrics = run_pretrain(exp, run, folder, fingerprint)
        return RunOutcome(name, seed, "trained", folder, metrics, time.perf_counter() - t_start)
    L.seed_everything(seed, workers=True, verbose=False)
    model = build(exp, run)
    # Every clip this run reads, opened now rather than after the training.
    splits = DATA_SPLITS if exp.trained else EVAL_SPLITS
    preflight(root, tuple(getattr(model, "modalities", ())), splits, run.data)
    if not exp.trained:
        folder, metrics = record(exp, run, root, fingerprint, model, _device(), 0.0, 0)
        log.info("%s: evaluated (no training) -> %s", name, folder)
        return RunOutcome(name, seed, "evaluated", folder, metrics, time.perf_counter() - t_start)

    ckpt_dir = folder / "checkpoints"
    ckpt = last_checkpoint(ckpt_dir) if resume else None
    if resume and ckpt is None:
        log.warning(
            "%s: --resume, but %s holds no last.ckpt; training from the start", name, ckpt_dir
        )
    if ckpt is not None:
        read_checkpoint(ckpt, fix=f"delete it (rm {ckpt}) and train without --resume")
    elif is_rank_zero():
        # A fresh run: drop checkpoints and logs of an older configuration.
        for sub in ("checkpoints", "logs"):
            shutil.rmtree(folder / sub, ignore_errors=True)
    assert run.train is not None
    log.info(
        "%s (seed %d, %s): training %d epochs%s",
        name,
        seed,
        profile,
        run.train.epochs,
        f", resuming from {ckpt}" if ckpt else "",
    )
    system, trainer = fit(exp, run, model, root, folder, ckpt, callbacks, progress)
    if trainer.global_rank != 0:
        return RunOutcome(name, seed, "trained", folder)
    clock = next(c for c in trainer.callbacks if isinstance(c, WallClock))
    folder, metrics = record(
        exp,
        run,
        root,
        fingerprint,
        system.model,
        system.device,
        clock.seconds,
        len(system.skipped_clips),
    )
    log.info("%s: %s", name, format_six(metrics))
    return RunOutcome(name, seed, "trained", folder, metrics, time.perf_counter() - t_start)


def evaluate_experiment(
    name: str,
    profile: str,
    seed: int = 0,
    data: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    wait: float = 0.0,
) -> RunOutcome:
    """Re-evaluate a trained run from its last checkpoint and rewrite its record.

    Raises:
        FileNotFoundError: when the run has no checkpoint (train it first).
        CheckpointError: when the checkpoint is corrupt (it is named, with the fix).
        RunLockedError: another process is running the same experiment (it is named).
    """
    exp = get_experiment(name)
    prof = get_profile(profile)
    root = data_dir(profile, data)
    fingerprint = load_manifest(root).fingerprint
    if not exp.trained:
        return run_experiment(
            name, profile, seed, data, force=True, progress=False, overrides=overrides, wait=wait
        )
    if exp.family is Family.PRETRAIN:
        raise ValueError(f"{name} is a stage-0 pretraining: it has no benchmark evaluation")
    folder = records.run_dir(profile, name, seed)
    ckpt = last_checkpoint(folder / "checkpoints")
    if ckpt is None:
        raise FileNotFoundError(
            f"{name} has no checkpoint at profile {profile!r} (seed {seed}) in "
            f"{folder / 'checkpoints'}; train it first: musclemap train {name} --profile {profile}"
        )
    stage1 = _stage1_shas(exp, profile, seed) if exp.depends_on else ()
    run = plan_run(exp, prof, seed, stage1, overrides)
    check_writable(folder)
    with run_lock(folder, wait):
        model = build(exp, run, with_stage1=False)
        preflight(root, tuple(getattr(model, "modalities", ())), EVAL_SPLITS, run.data)
        fix = f"delete it (rm {ckpt}) and retrain: musclemap train {name} --profile {profile}"
        model.load_state_dict(model_weights(ckpt, fix=fix))
        train_s = 0.0
        if records.is_complete(folder):
            with contextlib.suppress(OSError, ValueError, KeyError, AttributeError):
                train_s = records.read_metrics(folder)["wall_time_s"].get("train", 0.0)
        t0 = time.perf_counter()
        folder, metrics = record(exp, run, root, fingerprint, model, _device(), train_s, 0)
    return RunOutcome(name, seed, "evaluated", folder, metrics, time.perf_counter() - t0)


def format_six(m: Mapping[str, Any]) -> str:
    """The six mAP values of a metrics record on one line."""
    return "  ".join(f"{k} {m[k]:.1f}" for k in SPLITS if m.get(k) is not None)


def run_all(
    profile: str,
    tables: Sequence[int] | None = None,
    seeds: Sequence[int] = (0,),
    data: str | Path | None = None,
    names: Sequence[str] | None = None,
    progress: bool | None = None,
    overrides: Mapping[str, Any] | None = None,
    wait: float = 0.0,
) -> list[RunOutcome]:
    """Run the experiments of ``tables`` (default 2-7) in dependency order, for every seed.

    Up-to-date runs are skipped; ``summary.csv`` is rebuilt at the end (an unreadable record of
    another run is left out with a warning). ``wait`` is passed to :func:`run_experiment`.
    """
    todo = plan(names) if names is not None else experiments_for_tables(tables)
    data_dir(profile, data)  # fail early when the data is missing
    outcomes = []
    t0 = time.perf_counter()
    for seed in seeds:
        for i, name in enumerate(todo, 1):
            log.info("[%d/%d] %s (seed %d)", i, len(todo), name, seed)
            outcomes.append(
                run_experiment(
                    name, profile, seed, data, progress=progress, overrides=overrides, wait=wait
                )
            )
    records.summarise(profile)
    log.info(
        "run-all %s: %d runs (%d skipped) in %.0f s",
        profile,
        len(outcomes),
        sum(o.status == "skipped" for o in outcomes),
        time.perf_counter() - t0,
    )
    return outcomes
