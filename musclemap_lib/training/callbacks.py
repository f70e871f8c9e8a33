"""Lightning callbacks of the engine: per-epoch reseeding, checkpoints and a wall clock.

Exact resume (issue 6): a run that is interrupted and resumed from its last epoch checkpoint must
end with the same metrics as an uninterrupted one. Lightning restores weights, optimiser, scheduler
and loop counters, but not the random streams (shuffling, augmentation, dropout). Instead of
saving RNG states, :class:`EpochReseed` makes every epoch's randomness a pure function of
``(seed, epoch)``, so an epoch replays identically whether or not the process was restarted.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

log = logging.getLogger(__name__)

CHECKPOINT_LAST = "last.ckpt"


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed derived from the run seed and the epoch index (distinct per pair)."""
    return (seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**32)


class EpochReseed(Callback):
    """Reseed Python, NumPy and torch so that each epoch's randomness depends on (seed, epoch).

    Lightning creates the data iterator of the first epoch of a ``fit`` call, and prefetches its
    first batch, early: when the optimiser setup asks for ``estimated_stepping_batches`` (inside
    ``strategy.setup``), at the latest at the start of the fit loop, and in any case *before*
    ``on_train_epoch_start``. Later epochs create it after that hook. So the first epoch of a
    ``fit`` is reseeded in ``setup`` (fresh run, epoch 0) or ``on_load_checkpoint`` (a resumed run:
    the epoch after the checkpoint's), which both precede it, and every later epoch at
    ``on_train_epoch_start``.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._first_epoch: int | None = None

    def _reseed(self, epoch: int) -> None:
        s = epoch_seed(self.seed, epoch)
        random.seed(s)
        np.random.seed(s)  # noqa: NPY002 (legacy global stream used by data code)
        torch.manual_seed(s)  # also seeds every CUDA device

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self._first_epoch = 0
            self._reseed(0)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        # An end-of-epoch checkpoint of epoch e resumes at epoch e + 1.
        self._first_epoch = int(checkpoint["epoch"]) + 1
        self._reseed(self._first_epoch)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._first_epoch is not None:
            first, self._first_epoch = self._first_epoch, None
            if trainer.current_epoch != first:
                raise RuntimeError(
                    f"EpochReseed expected to start at epoch {first}, the trainer is at "
                    f"{trainer.current_epoch}; a resume would not be exact"
                )
            return  # reseeded before the first batch of this fit was fetched
        self._reseed(trainer.current_epoch)


class WallClock(Callback):
    """Measures the wall time of ``fit`` (seconds, in :attr:`seconds`)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start: float | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._start is not None:
            self.seconds = time.perf_counter() - self._start


def epoch_checkpoints(dirpath: Path) -> ModelCheckpoint:
    """A checkpoint at the end of every training epoch into ``dirpath``, plus ``last.ckpt``.

    Only the newest epoch file is kept besides ``last.ckpt``; the run needs no best-epoch
    selection (the released code has none either, reference/official-code.md section 1.8).
    """
    return ModelCheckpoint(
        dirpath=dirpath,
        filename="epoch{epoch:03d}",
        auto_insert_metric_name=False,
        every_n_epochs=1,
        save_on_train_epoch_end=True,
        save_top_k=1,
        monitor=None,
        save_last=True,
    )


def last_checkpoint(dirpath: Path) -> Path | None:
    """The ``last.ckpt`` of a checkpoint folder, or ``None`` when there is none."""
    path = Path(dirpath) / CHECKPOINT_LAST
    return path if path.is_file() else None
