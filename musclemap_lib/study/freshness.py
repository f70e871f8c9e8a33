"""Whether a run must run, and that only one process writes it: freshness, lock, permissions.

A result is up to date when its config sha, :data:`ENGINE_VERSION` and data fingerprint match and,
for a trained run, its checkpoint is whole and the one the record was computed from
(:func:`stale_reason`). Rank 0 holds the run folder's lock for the whole run (:func:`run_lock`);
:func:`check_writable` refuses before any work when the results cannot be written.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from musclemap_lib.config import RunConfig
from musclemap_lib.data.manifest import sampled_digest
from musclemap_lib.evaluation import locks, records
from musclemap_lib.study.catalogue import Experiment
from musclemap_lib.training.callbacks import checkpoint_problem, last_checkpoint

# The version of the code that turns a config and a data set into numbers; it is stored in every
# record and a record of another version is rerun. Bump it in a commit that changes the results
# of an unchanged config (a metric, the sampling, a model's forward, the training loop), not for
# refactors or documentation.
ENGINE_VERSION = 1


def is_rank_zero() -> bool:
    """True in the process that locks and writes: global rank 0 of a launch, or no launcher."""
    env = os.environ
    for key in ("RANK", "SLURM_PROCID"):  # torchrun / srun: the global rank
        if key in env:
            return env[key] == "0"
    # Lightning's own DDP launcher starts ranks 1.. as copies of this command with these set.
    return env.get("LOCAL_RANK", "0") == "0" and env.get("NODE_RANK", "0") == "0"


def run_lock(folder: Path, wait: float) -> contextlib.AbstractContextManager[Any]:
    """The run folder's lock on rank 0; the other ranks of the same launch write nothing."""
    return locks.run_lock(folder, wait) if is_rank_zero() else contextlib.nullcontext()


def stale_reason(exp: Experiment, run: RunConfig, folder: Path, fingerprint: str) -> str:
    """Why the result in ``folder`` is not up to date for ``run`` (``""`` when it is).

    Config sha, :data:`ENGINE_VERSION` and data fingerprint must match
    (:func:`~musclemap_lib.evaluation.records.stale_reason`); a trained run also needs its
    checkpoint, whole and the one its record was computed with: stage 2 and Grad-CAM start from
    it, and checkpoints are never committed, so a fresh clone's committed results are retrained.
    """
    reason = records.stale_reason(folder, run.sha(), fingerprint, ENGINE_VERSION)
    if reason or not exp.trained:
        return reason
    ckpt = last_checkpoint(folder / "checkpoints")
    if ckpt is None:
        return "its checkpoint is missing"
    problem = checkpoint_problem(ckpt)
    if problem:
        return f"its checkpoint {ckpt} is corrupt ({problem})"
    recorded = records.read_metrics(folder).get("checkpoint")
    if isinstance(recorded, dict):
        size, digest = sampled_digest(ckpt)
        if (recorded.get("bytes"), recorded.get("sampled")) != (size, digest):
            return f"its checkpoint {ckpt} is not the one its record was computed from"
    return ""


def check_writable(folder: Path) -> None:
    """Refuse before any work when the run's results cannot be written (PermissionError)."""
    locks.check_writable(folder.parent, "the results folder")
    for sub in (folder, folder / "checkpoints", folder / "logs"):
        if sub.exists():
            locks.check_writable(sub, "the run folder")
