"""Stage 0 in the pipeline: a pretraining experiment (:attr:`Family.PRETRAIN`) run and recorded.

A pretraining run reads no data folder: its "data fingerprint" is the generator's spec and
version (:attr:`~musclemap_lib.pretrain.images.ImageSetSpec.fingerprint`; the generator is
deterministic). Its checkpoint has the layout of a Lightning checkpoint (``state_dict`` with
``model.`` keys), so a dependent run reads it as it reads any stage-1 run, and the pipeline's
freshness check (config sha, engine version, fingerprint, checkpoint digest) applies unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from musclemap_lib.config import RunConfig
from musclemap_lib.data.manifest import sampled_digest
from musclemap_lib.evaluation import records
from musclemap_lib.pretrain.images import ImageSetSpec
from musclemap_lib.pretrain.run import image_spec, pretrain
from musclemap_lib.pretrain.transfer import load_pretrained
from musclemap_lib.study.catalogue import SPLITS, Experiment
from musclemap_lib.study.freshness import ENGINE_VERSION

log = logging.getLogger(__name__)


def pretrain_spec(run: RunConfig) -> ImageSetSpec:
    """The generated image set of a stage-0 run (its ``model_args``) at its scale."""
    return image_spec(dict(run.model_args), run.scale)


def run_pretrain(exp: Experiment, run: RunConfig, folder: Path, fingerprint: str) -> dict[str, Any]:
    """Stage 0: pretrain the image model of ``exp.model``; write its weights and record.

    The record has no mAP (the six splits are null: stage 0 sees no benchmark clip); it holds the
    pretraining's cost and held-out accuracy on the generated classes under ``pretrain``.
    """
    assert run.train is not None
    L.seed_everything(run.seed, workers=True, verbose=False)
    log.info("%s (seed %d, %s): pretraining on generated images", exp.name, run.seed, run.profile)
    result = pretrain(exp.model, run.scale, pretrain_spec(run), run.train, run.seed)
    ckpt_dir = folder / "checkpoints"
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / "last.ckpt"
    # The layout of a Lightning checkpoint, so that _stage1_state reads it like any other.
    torch.save({"state_dict": {f"model.{k}": v for k, v in result.state.items()}}, ckpt)
    sha = run.sha()
    env = records.environment("cpu")
    size, digest = sampled_digest(ckpt)
    seconds = result.stats["generate_seconds"] + result.stats["train_seconds"]
    metrics = {
        "experiment": exp.name,
        "model": exp.model,
        "profile": run.profile,
        "seed": run.seed,
        **{k: None for k in SPLITS},
        "pretrain": result.stats,
        "wall_time_s": {"train": round(seconds, 2), "evaluate": 0.0, "total": round(seconds, 2)},
        "config_sha": sha,
        "data_fingerprint": fingerprint,
        "data_dir": "",
        "git_sha": env["git_sha"],
        "created_utc": records.utc_now(),
        "engine_version": ENGINE_VERSION,
        "checkpoint": {"file": "checkpoints/last.ckpt", "bytes": size, "sampled": digest},
    }
    config = {**dataclasses.asdict(run), "config_sha": sha}
    records.write_run(folder, config, metrics, env, {})
    log.info("%s: %s", exp.name, result.stats)
    return metrics


def load_stage0(
    model: nn.Module,
    run: RunConfig,
    deps: Sequence[str],
    read_state: Callable[[str, str, int], dict[str, torch.Tensor]],
) -> list[dict[str, Any]]:
    """Load the weights of the stage-0 runs ``deps`` into ``model``; their transfer reports.

    ``read_state(profile, dep, seed)`` reads a finished run's weights (the pipeline's reader).
    Each report names its source by the pretraining run's config sha (from ``run.stage1``).
    """
    shas = dict(run.stage1)
    return [
        load_pretrained(
            model,
            run.model,
            read_state(run.profile, d, run.seed),
            f"{d} (config sha {shas.get(d, '?')})",
        ).as_dict()
        for d in deps
    ]
