"""Learning curves of a table's runs: train loss and known-val / new-val mAP per epoch.

Reads each run's ``metrics.json`` ``curve`` (written by the run pipeline from the training logs,
:func:`musclemap_lib.evaluation.curves.read_curve`); a run recorded before curves existed is read
from its ``logs/`` instead. Nothing here trains. The plateau column says how much known-val mAP
moved over the last 20% of epochs (the study's convergence check).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from musclemap_lib.evaluation import records
from musclemap_lib.evaluation.curves import plateau_change, read_curve
from musclemap_lib.figures import names


def run_curves(profile: str, experiments: Sequence[str], seed: int = 0) -> dict[str, list[dict]]:
    """``experiment -> curve`` for the runs of ``experiments`` that have one at ``profile``."""
    out: dict[str, list[dict]] = {}
    for exp in dict.fromkeys(experiments):
        folder = records.run_dir(profile, exp, seed)
        if not records.is_complete(folder):
            continue
        curve = records.read_json(folder / records.METRICS_JSON).get("curve") or read_curve(folder)
        if curve:
            out[exp] = curve
    return out


def plateau_table(curves: dict[str, list[dict]]) -> Any:
    """Per run: epochs, the last known-val / new-val mAP and the known-val change over the last
    20% of epochs (NaN where the run did not validate every epoch)."""
    import pandas as pd

    rows = []
    for exp, curve in curves.items():
        last = curve[-1]
        rows.append(
            {
                "run": names.experiment_name(exp),
                "epochs": len(curve),
                "last train loss": last.get("train_loss", math.nan),
                "last known val": last.get("known_val", math.nan),
                "last new val": last.get("new_val", math.nan),
                "known-val change, last 20%": plateau_change(curve),
            }
        )
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def plot_curves(curves: dict[str, list[dict]], title: str = "") -> Any:
    """Two panels: train loss, and known-val (solid) / new-val (dashed) mAP, per epoch.

    Returns:
        The Matplotlib Figure (an empty one with a note when no run has a curve).
    """
    import matplotlib.pyplot as plt

    fig, (loss_ax, map_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    colours = plt.get_cmap("tab20")
    for k, (exp, curve) in enumerate(curves.items()):
        c = colours((2 * k) % 20 + (2 * k // 20) % 2)
        label = names.experiment_name(exp)
        for ax, key, style in (
            (loss_ax, "train_loss", "-"),
            (map_ax, "known_val", "-"),
            (map_ax, "new_val", "--"),
        ):
            pts = [(r["epoch"] + 1, r[key]) for r in curve if key in r]
            if pts:
                ax.plot(
                    *zip(*pts, strict=True),
                    style,
                    color=c,
                    lw=1.2,
                    marker=".",
                    label=label if (ax, key) != (map_ax, "new_val") else None,
                )
    if not map_ax.lines:
        map_ax.text(0.5, 0.5, "no validation mAP per epoch", ha="center", va="center")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("train loss")
    map_ax.set_xlabel("epoch")
    map_ax.set_ylabel("mAP (%): known val solid, new val dashed")
    for ax in (loss_ax, map_ax):
        ax.grid(alpha=0.3)
    # One legend right of the mAP panel, from whichever panel labelled the runs (the loss panel
    # does when no run validated every epoch).
    handles, labels = map_ax.get_legend_handles_labels()
    if not handles:
        handles, labels = loss_ax.get_legend_handles_labels()
    if handles:
        map_ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
