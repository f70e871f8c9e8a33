"""Tables and plots that set our results beside the paper's.

Inputs are tidy frames as written by :mod:`musclemap_lib.evaluation.records`: ours is
``results/<profile>/summary.csv`` (columns ``experiment, model, profile, split, metric, value,
seed, ...``; metrics ``map``, ``map_ci_low``, ``map_ci_high``), the paper's is
``results/paper_reference.csv`` (the same columns plus ``source``; metric ``map``). All values
are mAP in percent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from musclemap_lib.figures import names
from musclemap_lib.splits import METRIC_SPLITS

SPLITS = METRIC_SPLITS  # PAPER: Table 2's six columns (means are derived)
COMPARISON_COLUMNS: tuple[str, ...] = (
    "experiment",
    "split",
    "ours",
    "paper",
    "difference",
    "ci_low",
    "ci_high",
)
_REQUIRED = ("experiment", "split", "metric", "value")
_DASH = "\N{EM DASH}"


def _check_tidy(df: Any, what: str) -> None:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} is not a tidy results frame: missing column(s) {', '.join(missing)}; "
            "load it with musclemap_lib.evaluation.records (load_summary / load_paper_reference)"
        )


def _one_value_each(df: Any, what: str) -> Any:
    """``(experiment, split, metric) -> value``, refusing duplicates (e.g. several seeds)."""
    dup = df.duplicated(["experiment", "split", "metric"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(
            f"{what} holds several values for experiment {first['experiment']!r}, split "
            f"{first['split']!r}, metric {first['metric']!r}; pass seed=... to pick one run"
        )
    return df.set_index(["experiment", "split", "metric"])["value"].astype(float)


def comparison_frame(
    ours: Any,
    paper: Any,
    splits: Sequence[str] = SPLITS,
    seed: int | None = 0,
    order: Sequence[str] | None = None,
) -> Any:
    """Our mAP beside the paper's, one row per experiment and split.

    Args:
        ours: our tidy summary (``summary.csv``).
        paper: the paper's tidy reference (``paper_reference.csv``), or None.
        splits: the split ids to compare, in column order.
        seed: keep only our runs with this seed (None: keep all; then each value must be unique).
        order: experiments in row order; default: the paper's order, then ours not in the paper.

    Returns:
        A DataFrame with columns ``experiment, split, ours, paper, difference, ci_low,
        ci_high`` (NaN where a value is missing; ``difference = ours - paper``).

    Raises:
        ValueError: for frames without the tidy columns, or several values for one cell.
    """
    import pandas as pd

    _check_tidy(ours, "our results")
    if seed is not None and "seed" in ours.columns:
        ours = ours[ours["seed"] == seed]
    mine = _one_value_each(ours, "our results")
    if paper is not None:
        _check_tidy(paper, "the paper reference")
        theirs = _one_value_each(paper[paper["metric"] == "map"], "the paper reference")
    else:
        theirs = pd.Series(dtype=float)
    if order is None:
        seen: dict[str, None] = {}
        for frame in (paper, ours):
            if frame is not None:
                seen.update(dict.fromkeys(frame["experiment"]))
        order = list(seen)

    def get(series: Any, exp: str, split: str, metric: str) -> float:
        return float(series.get((exp, split, metric), np.nan))

    rows = []
    for exp in order:
        for split in splits:
            o, p = get(mine, exp, split, "map"), get(theirs, exp, split, "map")
            rows.append(
                {
                    "experiment": exp,
                    "split": split,
                    "ours": o,
                    "paper": p,
                    "difference": o - p,
                    "ci_low": get(mine, exp, split, "map_ci_low"),
                    "ci_high": get(mine, exp, split, "map_ci_high"),
                }
            )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _fmt(v: float, decimals: int, sign: bool = False) -> str:
    if not np.isfinite(v):
        return _DASH
    return f"{v:+.{decimals}f}" if sign else f"{v:.{decimals}f}"


def format_comparison_table(
    frame: Any,
    splits: Sequence[str] | None = None,
    decimals: int = 1,
    label: Callable[[str], str] = names.experiment_name,
) -> Any:
    """The reader's table: per split, the columns ours | paper | difference | 95% CI.

    Args:
        frame: the output of :func:`comparison_frame`.
        splits: which splits to show (default: all in ``frame``, in its order).
        decimals: digits after the point.
        label: turns an experiment id into its row label (default: the display name).

    Returns:
        A DataFrame of strings, rows labelled by ``label(experiment)`` (index name "model"),
        columns a two-level index (split display name, one of ``ours``, ``paper``,
        ``difference``, ``95% CI``). Missing values read as an em dash.
    """
    import pandas as pd

    missing = [c for c in COMPARISON_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"format_comparison_table needs the output of comparison_frame; missing {missing}"
        )
    if splits is None:
        splits = list(dict.fromkeys(frame["split"]))
    experiments = list(dict.fromkeys(frame["experiment"]))
    cells = frame.set_index(["experiment", "split"])
    data: dict[tuple[str, str], list[str]] = {}
    for split in splits:
        col = names.split_name(split)
        for part in ("ours", "paper", "difference", "95% CI"):
            data[(col, part)] = []
        for exp in experiments:
            r = cells.loc[(exp, split)] if (exp, split) in cells.index else None
            get = lambda k, r=r: float(r[k]) if r is not None else np.nan  # noqa: E731
            lo, hi = get("ci_low"), get("ci_high")
            ci = f"[{lo:.{decimals}f}, {hi:.{decimals}f}]" if np.isfinite([lo, hi]).all() else _DASH
            data[(col, "ours")].append(_fmt(get("ours"), decimals))
            data[(col, "paper")].append(_fmt(get("paper"), decimals))
            data[(col, "difference")].append(_fmt(get("difference"), decimals, sign=True))
            data[(col, "95% CI")].append(ci)
    table = pd.DataFrame(data, index=pd.Index([label(e) for e in experiments], name="model"))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["split", ""])
    return table


def known_vs_new_scatter(
    ours: Any,
    paper: Any = None,
    stage: str = "test",
    seed: int | None = 0,
    ax: Any = None,
    title: str | None = None,
    label: Callable[[str], str] = names.experiment_name,
    ours_label: str = "ours",
) -> Any:
    """Known against new mAP, one colour per experiment: ours filled, the paper's hollow.

    A thin line joins our point and the paper's for the same experiment; the dashed diagonal is
    known = new (points below it generalise worse to new activities than they fit known ones).

    Args:
        ours: our tidy summary; paper: the paper's tidy reference or None.
        stage: ``"test"`` (known_test vs new_test) or ``"val"``.
        seed: which of our seeds to plot (None: there must be one value per cell).
        ax: an Axes to draw into (default: a new figure).
        title: the Axes title.
        label: experiment id -> legend label (default: the display name).
        ours_label: legend text of our marker (e.g. "ours (cpu profile)").

    Returns:
        The Matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if stage not in ("val", "test"):
        raise ValueError(f"stage must be 'val' or 'test', got {stage!r}")
    kx, ky = f"known_{stage}", f"new_{stage}"
    frame = comparison_frame(ours, paper, splits=(kx, ky), seed=seed)
    wide = frame.pivot(index="experiment", columns="split", values=["ours", "paper"])
    experiments = [e for e in dict.fromkeys(frame["experiment"])]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.2, 4.8))
    else:
        fig = ax.figure
    colours = plt.get_cmap("tab20")
    handles = []
    for k, exp in enumerate(experiments):
        c = colours((2 * k) % 20 + (2 * k // 20) % 2)  # the 10 dark shades first, then light
        o = (wide.loc[exp, ("ours", kx)], wide.loc[exp, ("ours", ky)])
        p = (wide.loc[exp, ("paper", kx)], wide.loc[exp, ("paper", ky)])
        has_o, has_p = bool(np.isfinite(o).all()), bool(np.isfinite(p).all())
        if has_o:
            ax.scatter(*o, s=46, color=c, edgecolor="black", linewidth=0.5, zorder=3)
        if has_p:
            ax.scatter(*p, s=46, marker="s", facecolor="none", edgecolor=c, linewidth=1.6, zorder=3)
        if has_o and has_p:
            ax.plot([o[0], p[0]], [o[1], p[1]], color=c, lw=0.7, alpha=0.6, zorder=2)
        if has_o or has_p:
            handles.append(Line2D([], [], color=c, marker="o", ls="", label=label(exp)))
    lo, hi = ax.get_xlim()[0], 100.0
    lo = min(lo, ax.get_ylim()[0])
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey", lw=0.8, zorder=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"{names.split_name(kx)} mAP (%)")
    ax.set_ylabel(f"{names.split_name(ky)} mAP (%)")
    kinds = [
        Line2D([], [], marker="o", ls="", color="grey", markeredgecolor="black", label=ours_label),
        Line2D([], [], marker="s", ls="", color="none", markeredgecolor="grey", label="paper"),
        Line2D([], [], ls="--", color="grey", label="known = new"),
    ]
    first = ax.legend(handles=kinds, loc="upper left", fontsize=8)
    ax.add_artist(first)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
