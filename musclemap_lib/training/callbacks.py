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
import zipfile
from pathlib import Path
from typing import Any

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


class CheckpointError(ValueError):
    """A checkpoint file is corrupt or not one of ours; the message names it and the fix."""


def checkpoint_problem(path: Path) -> str:
    """Why ``path`` is not a readable torch checkpoint (``""`` when its archive looks whole).

    Cheap: reads only the zip directory (torch writes checkpoints as zip archives holding
    ``<name>/data.pkl``), so a truncated or overwritten file is caught without loading weights.
    """
    path = Path(path)
    try:
        if not zipfile.is_zipfile(path):
            return "not a torch checkpoint archive (corrupt, truncated or another kind of file)"
        with zipfile.ZipFile(path) as z:
            if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in z.namelist()):
                return "a zip archive without data.pkl, not a torch checkpoint"
    except (OSError, zipfile.BadZipFile) as err:
        return f"cannot be read ({type(err).__name__}: {err})"
    return ""


def read_checkpoint(path: Path, fix: str = "") -> dict[str, Any]:
    """Load a Lightning checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    Args:
        path: the checkpoint file.
        fix: what to do about a bad file (default: delete it and train again).

    Returns:
        The checkpoint dict (it holds ``state_dict``).

    Raises:
        FileNotFoundError: when the file does not exist.
        CheckpointError: naming the file as corrupt and the fix, for any file that does not load
            as a checkpoint (the loader's own advice to turn ``weights_only`` off is dropped: a
            file that needs it is not one this study wrote).
    """
    path = Path(path)
    fix = fix or f"delete it (rm {path}) and train the experiment again"
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train the experiment first")
    problem = checkpoint_problem(path)
    if not problem:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged file
            # torch's message recommends weights_only=False: never pass that advice on.
            reason = str(err).split("WeightsUnpickler error:")[-1].split("Check the doc")[0]
            problem = f"does not load ({type(err).__name__}: {' '.join(reason.split())[:160]})"
        else:
            if isinstance(state, dict) and "state_dict" in state:
                return state
            problem = "holds no state_dict, so it is not a Lightning checkpoint"
    raise CheckpointError(f"checkpoint {path} is corrupt: {problem}; {fix}")


def model_weights(path: Path, fix: str = "") -> dict[str, torch.Tensor]:
    """The model's weights in a training checkpoint (the system's ``model.`` prefix removed).

    Raises:
        FileNotFoundError, CheckpointError: as :func:`read_checkpoint`.
    """
    state = read_checkpoint(path, fix)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
