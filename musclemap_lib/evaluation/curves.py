"""Learning curves: per epoch, the train loss and the known-val / new-val mAP of a run.

Lightning's CSV logger writes one ``logs/version_<n>/metrics.csv`` per fit (a resumed run adds a
version); :func:`read_curve` merges them into one row per epoch, later versions winning, from the
columns the training system logs: ``train/loss_epoch`` and, when validation runs every epoch
(``TrainConfig.val_every_n_epochs``), ``val/map_known_val`` and ``val/map_new_val`` (one view, no
bootstrap: cheap). :func:`plateau_change` measures whether a curve has reached its plateau.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

# metrics.csv column -> curve key
COLUMNS: dict[str, str] = {
    "train/loss_epoch": "train_loss",
    "val/map_known_val": "known_val",
    "val/map_new_val": "new_val",
}


def _version(path: Path) -> int:
    m = re.fullmatch(r"version_(\d+)", path.parent.name)
    return int(m.group(1)) if m else -1


def read_curve(folder: Path) -> list[dict[str, Any]]:
    """One dict per epoch (``epoch``, ``train_loss``, ``known_val``, ``new_val`` when logged).

    Args:
        folder: a run folder (its ``logs/version_*/metrics.csv`` are read).

    Returns:
        Rows sorted by epoch; empty when the run logged nothing (a baseline).
    """
    epochs: dict[int, dict[str, Any]] = {}
    for path in sorted(Path(folder).glob("logs/version_*/metrics.csv"), key=_version):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if not row.get("epoch"):
                    continue
                epoch = int(float(row["epoch"]))
                for column, key in COLUMNS.items():
                    text = row.get(column, "")
                    if text:
                        epochs.setdefault(epoch, {"epoch": epoch})[key] = float(text)
    return [epochs[e] for e in sorted(epochs)]


def plateau_change(curve: list[dict[str, Any]], key: str = "known_val", tail: float = 0.2) -> float:
    """How much ``key`` changes over the last ``tail`` of the epochs (max - min, points).

    A run has reached its plateau when this is small (the study's target: < 2 mAP points over
    the last 20% of epochs). NaN when fewer than two epochs logged ``key``.
    """
    values = [r[key] for r in curve if key in r]
    if len(values) < 2:
        return math.nan
    n = max(2, math.ceil(len(values) * tail))
    last = values[-n:]
    return max(last) - min(last)
