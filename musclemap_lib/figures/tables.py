"""The paper's Tables 2-7 beside ours: the frames, reader tables, plots and glue values of the pages.

Every table page of the book (``book/table2.md`` ... ``table7.md``, rendered from the one template
``book/_templates/table.md`` by :func:`musclemap_lib.study.book.write_table_pages`) calls only this
module. The rows are the paper's (:data:`musclemap_lib.study.paper_tables.TABLES`), in the paper's
order; the paper's numbers come from ``results/paper_reference.csv`` (``source == "Table N"``),
ours and our bootstrap 95% intervals from ``results/<profile>/summary.csv``. A row whose experiment
has no result at that profile reads "not run"; no number is ever filled in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from musclemap_lib import paths
from musclemap_lib.figures import names, plots
from musclemap_lib.study.catalogue import SPLITS, TableRow, get_experiment
from musclemap_lib.study.paper_tables import get_table, table_rows
from musclemap_lib.study.profiles import get_profile

NOT_RUN = "not run"  # what a missing result reads in the reader tables
DIFF = "\N{GREEK CAPITAL LETTER DELTA}"  # the difference column (ours - paper) of the reader tables
FRAME_COLUMNS: tuple[str, ...] = ("row", *plots.COMPARISON_COLUMNS)
_DASH = plots._DASH


def our_summary(profile: str) -> Any:
    """``results/<profile>/summary.csv`` as a tidy frame (empty when the profile has no results).

    Unlike :func:`musclemap_lib.evaluation.records.load_summary` it never writes: a book page
    must not create files under ``results/``.
    """
    import pandas as pd

    from musclemap_lib.evaluation import records

    path = paths.results_dir(profile) / records.SUMMARY_CSV
    if not path.is_file():
        return pd.DataFrame(columns=list(records.SUMMARY_COLUMNS))
    return records.load_summary(profile)


BASELINES: tuple[str, ...] = ("random", "all_ones")  # the statistical rows of Table 2


def near_baselines(profile: str, split: str = "known_test") -> list[str]:
    """Learned experiments that are not clearly above Random and All Ones on ``split``.

    "Clearly above" means the run's bootstrap 95% interval lies wholly above both baselines'
    intervals; the experiments whose lower bound is at or under the higher baseline upper bound
    are returned, in summary order. Empty when neither baseline has a result at ``profile``.
    """
    df = our_summary(profile)
    if df.empty:
        return []
    df = df[df["split"] == split]
    high = df[df["experiment"].isin(BASELINES) & (df["metric"] == "map_ci_high")]["value"]
    if high.empty:
        return []
    ceiling = float(high.astype(float).max())
    low = df[~df["experiment"].isin(BASELINES) & (df["metric"] == "map_ci_low")]
    pairs = zip(low["experiment"], low["value"].astype(float), strict=True)
    return [str(e) for e, v in pairs if v <= ceiling]


def paper_numbers(table: int) -> Any:
    """The paper's mAP values of one table (tidy, from ``results/paper_reference.csv``)."""
    from musclemap_lib.evaluation import records

    get_table(table)
    ref = records.load_paper_reference()
    return ref[ref["source"] == f"Table {table}"]


def comparison(table: int, profile: str, seed: int = 0) -> Any:
    """Ours beside the paper's for every row of one table, one line per row and split.

    Args:
        table: 2 to 7.
        profile: whose results (``smoke``, ``cpu``, ``paper``).
        seed: which of our runs.

    Returns:
        A DataFrame with columns ``row, experiment, split, ours, paper, difference, ci_low,
        ci_high`` (mAP in percent; NaN where ours is missing; ``difference = ours - paper``), rows
        in the paper's order, splits in Table 2's column order.
    """
    get_table(table)
    rows = table_rows(table)
    frame = plots.comparison_frame(
        our_summary(profile), paper_numbers(table), SPLITS, seed, [r.experiment for r in rows]
    )
    label = {r.experiment: r.label for r in rows}
    frame.insert(0, "row", frame["experiment"].map(label))
    return frame[list(FRAME_COLUMNS)]


def _cell(v: float, sign: bool = False) -> str:
    if not math.isfinite(v):
        return _DASH
    return f"{v:+.1f}" if sign else f"{v:.1f}"


# Compact, unwrapped cells: 11 columns must fit the book's content width.
_TABLE_STYLES = [
    {"selector": "", "props": [("font-size", "0.8em"), ("border-collapse", "collapse")]},
    {"selector": "td, th", "props": [("white-space", "nowrap"), ("padding", "2px 5px")]},
    {"selector": "td", "props": [("text-align", "right")]},
    {"selector": "th.col_heading.level0", "props": [("text-align", "center")]},
]


def reader_table(frame: Any, stage: str = "test") -> Any:
    """The page's table for one stage: per split ours | 95% CI | paper | Δ (ours - paper).

    The mean split has no interval (it is the mean of two splits), so its group is ours | paper |
    Δ.

    Args:
        frame: the output of :func:`comparison`.
        stage: ``"test"`` (known, new, mean test) or ``"val"``.

    Returns:
        A pandas Styler (class ``comparison-table comparison-<stage>``) of strings; rows are the
        paper's row labels, a missing result reads ``not run``.
    """
    import pandas as pd

    if stage not in ("val", "test"):
        raise ValueError(f"stage must be 'val' or 'test', got {stage!r}")
    splits = [s for s in SPLITS if s.endswith(stage)]
    cells = frame.set_index(["row", "split"])
    order = list(dict.fromkeys(frame["row"]))
    data: dict[tuple[str, str], list[str]] = {}
    for split in splits:
        col = names.split_name(split)
        parts = ("ours", "paper", DIFF)
        if not split.startswith("mean"):
            parts = ("ours", "95% CI", "paper", DIFF)
        for part in parts:
            data[(col, part)] = []
        for row in order:
            r = cells.loc[(row, split)]
            ran = math.isfinite(float(r["ours"]))
            data[(col, "ours")].append(_cell(float(r["ours"])) if ran else NOT_RUN)
            data[(col, "paper")].append(_cell(float(r["paper"])))
            data[(col, DIFF)].append(_cell(float(r["difference"]), sign=True))
            if "95% CI" in parts:
                lo, hi = float(r["ci_low"]), float(r["ci_high"])
                ok = math.isfinite(lo) and math.isfinite(hi)
                data[(col, "95% CI")].append(f"{lo:.1f}\N{EN DASH}{hi:.1f}" if ok else _DASH)
    table = pd.DataFrame(data, index=pd.Index(order, name="row"))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["mAP (%)", ""])
    return table.style.set_table_attributes(
        f'class="comparison-table comparison-{stage}"'
    ).set_table_styles(_TABLE_STYLES)


def row_map(table: int) -> Any:
    """How each row of a table is run: row label, experiment, inputs, what it changes."""
    import pandas as pd

    out = []
    for r in table_rows(table):
        e = get_experiment(r.experiment)
        out.append(
            {
                "row": r.label,
                "experiment": e.name,
                "inputs": e.modality,
                "what it is": e.variant,
                "starts from": ", ".join(e.depends_on) or _DASH,
            }
        )
    return pd.DataFrame(out).set_index("row")


def _key(table: int, experiment: str, split: str, metric: str) -> str:
    return f"t{table}_{experiment}_{split}_{metric}"


def glue_values(frame: Any, table: int) -> dict[str, float | str | int]:
    """The values a table page glues, keyed ``t{table}_{experiment}_{split}_{metric}``.

    Per row and split: ``map`` (ours), ``paper`` and ``diff`` (Python floats rounded to 0.1;
    the string ``not run`` where ours is missing, so the pages glue them without a format spec). Per table: ``t{N}_n_rows``, ``t{N}_n_run`` (rows with a result),
    ``t{N}_best_name`` (the row with our best new test mAP) with ``t{N}_best_new_test_map``,
    ``_paper`` and ``_diff``, ``t{N}_spearman_mean_test`` (rank correlation of ours and the
    paper's mean test mAP over the rows with both; NaN with fewer than 3 such rows) and
    ``t{N}_highlight`` (the sentences of :func:`highlight`).
    """
    out: dict[str, float | str | int] = {}
    for r in frame.itertuples(index=False):
        for metric, value in (("map", r.ours), ("paper", r.paper), ("diff", r.difference)):
            out[_key(table, r.experiment, r.split, metric)] = _glued(value)
    new_test = frame[frame["split"] == "new_test"]
    ran = new_test[new_test["ours"].notna()]
    out[f"t{table}_n_rows"] = int(len(new_test))
    out[f"t{table}_n_run"] = int(len(ran))
    if len(ran):
        best = ran.loc[ran["ours"].idxmax()]
        out[f"t{table}_best_name"] = str(best["row"])
        out[f"t{table}_best_new_test_map"] = _glued(best["ours"])
        out[f"t{table}_best_new_test_paper"] = _glued(best["paper"])
        out[f"t{table}_best_new_test_diff"] = _glued(best["difference"])
    else:
        out[f"t{table}_best_name"] = NOT_RUN
        for m in ("map", "paper", "diff"):
            out[f"t{table}_best_new_test_{m}"] = NOT_RUN
    mean = frame[frame["split"] == "mean_test"].dropna(subset=["ours", "paper"])
    rho = mean["ours"].corr(mean["paper"], method="spearman") if len(mean) >= 3 else math.nan
    out[f"t{table}_spearman_mean_test"] = (
        float(round(float(rho), 2)) if math.isfinite(rho) else "not defined (fewer than 3 rows)"
    )
    out[f"t{table}_highlight"] = highlight(out, table)
    return out


def paper_best(table: int) -> TableRow:
    """The row with the paper's highest new test mAP (the first in print order on a tie).

    In each of Tables 2-7 this is the configuration the paper proposes (TransM3E, or the variant
    it keeps), so a page can name that row without typing its label.
    """
    new_test = SPLITS.index("new_test")
    rows = [r for r in table_rows(table) if r.paper is not None]
    return max(rows, key=lambda r: r.paper[new_test])  # max keeps the first of equal rows


def highlight(values: Mapping[str, float | str | int], table: int) -> str:
    """The page's sentences on the row the paper ranks first (:func:`paper_best`), from glue values.

    Args:
        values: the table's glue values (:func:`glue_values`); only the per-row keys are read.
        table: 2 to 7.

    Returns:
        Plain text: that row's new and mean test mAP, ours beside the paper's; when
        the table's ``contrast`` is set, then every other row's new test mAP in print order. A
        row without a result reads ``not run``; no number is made up.
    """
    best = paper_best(table)

    def value(experiment: str, split: str, metric: str) -> str:
        v = values[_key(table, experiment, split, metric)]
        if not isinstance(v, float):
            return str(v)  # NOT_RUN
        return f"{v:+.1f}" if metric == "diff" else f"{v:.1f}"

    e = best.experiment
    subject = f'The row the paper ranks first on new test, "{best.label}",'
    if values[_key(table, e, "new_test", "map")] == NOT_RUN:
        text = (
            f"{subject[:-1]} ({value(e, 'new_test', 'paper')} new test mAP in the paper), has "
            "no result at this profile."
        )
    else:
        text = (
            f"{subject} reaches {value(e, 'new_test', 'map')} new test mAP here "
            f"(paper {value(e, 'new_test', 'paper')}, difference {value(e, 'new_test', 'diff')}) "
            f"and {value(e, 'mean_test', 'map')} mean test mAP "
            f"(paper {value(e, 'mean_test', 'paper')})."
        )
    others = [r for r in table_rows(table) if r.experiment != e]
    if get_table(table).contrast and others:
        parts = [f"{r.label} {value(r.experiment, 'new_test', 'map')}" for r in others]
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        text += f" On new test the other rows reach: {listed}."
    return text


def _glued(value: Any) -> float | str:
    """A value as glued: a Python float rounded to 0.1, or ``not run`` when it is missing."""
    v = float(value)
    return float(round(v, 1)) if math.isfinite(v) else NOT_RUN


def scatter(table: int, profile: str, stage: str = "test", seed: int = 0) -> Any:
    """Known against new mAP for the rows of one table: ours filled, the paper's hollow.

    Returns:
        The Matplotlib Figure of :func:`musclemap_lib.figures.plots.known_vs_new_scatter`,
        labelled with the paper's row names.
    """
    rows = table_rows(table)
    keep = {r.experiment for r in rows}
    ours = our_summary(profile)
    ours = ours[ours["experiment"].isin(keep)]
    label = {r.experiment: r.label for r in rows}
    return plots.known_vs_new_scatter(
        ours,
        paper_numbers(table),
        stage=stage,
        seed=seed,
        title=f"Table {table}: known against new {stage} mAP",
        label=lambda e: label.get(e, e),
        ours_label=f"ours ({profile} profile)",
    )


# ---- the reproducibility page ------------------------------------------------------------------
def run_records(profile: str) -> list[dict[str, Any]]:
    """``metrics.json`` and ``env.json`` of every complete run of a profile (name order)."""
    from musclemap_lib.evaluation import records

    out = []
    for folder in records.run_folders(profile):
        out.append(
            {
                "metrics": records.read_json(folder / records.METRICS_JSON),
                "env": records.read_json(folder / records.ENV_JSON),
            }
        )
    return out


def provenance_table(profile: str) -> Any:
    """One row per run: seed, wall times, git revision, config sha, data fingerprint, created.

    Returns:
        A DataFrame indexed by experiment (empty when the profile has no runs).
    """
    import pandas as pd

    rows = []
    for r in run_records(profile):
        m = r["metrics"]
        wall = m.get("wall_time_s", {})
        rows.append(
            {
                "experiment": m["experiment"],
                "seed": m["seed"],
                "train (s)": wall.get("train", math.nan),
                "evaluate (s)": wall.get("evaluate", math.nan),
                "total (s)": wall.get("total", math.nan),
                "git revision": _short_sha(str(m.get("git_sha", ""))),
                "config sha": str(m.get("config_sha", ""))[:10],
                "data fingerprint": str(m.get("data_fingerprint", ""))[:10],
                "created (UTC)": str(m.get("created_utc", ""))[:16].replace("T", " "),
            }
        )
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).set_index("experiment")


def _short_sha(sha: str) -> str:
    return sha[:10] + ("+dirty" if sha.endswith("+dirty") else "")


def environment_table(profile: str) -> Any:
    """The distinct environments (``env.json``) of a profile's runs: one column each, run count.

    Returns:
        A DataFrame indexed by field (python, torch, ..., runs), one column per environment.
    """
    import pandas as pd

    keys = ("python", "torch", "lightning", "numpy", "device", "gpu", "platform", "cpu_count")
    keys += ("torch_threads",)
    envs = [tuple(str(r["env"].get(k, "")) for k in keys) for r in run_records(profile)]
    if not envs:
        return pd.DataFrame()
    counts = pd.DataFrame(envs, columns=list(keys)).value_counts()
    cols = {f"environment {i + 1}": [*env, str(n)] for i, (env, n) in enumerate(counts.items())}
    return pd.DataFrame(cols, index=pd.Index([*keys, "runs"], name="field"))


def compact(table: Any, precision: int = 1) -> Any:
    """A table styled like the comparison tables: small type, no wrapping, ``precision`` digits,
    a missing value shown as a dash."""
    return table.style.format(precision=precision, na_rep=_DASH).set_table_styles(_TABLE_STYLES)


def profile_table(profile: str) -> Any:
    """The settings of a study profile (:class:`~musclemap_lib.study.profiles.Profile`), a table."""
    import dataclasses

    import pandas as pd

    prof = get_profile(profile)
    rows = []
    for f in dataclasses.fields(prof):
        v = getattr(prof, f.name)
        if dataclasses.is_dataclass(v):  # the DataConfig and the ScaleSpec: one row per field
            rows += [{"setting": f"{f.name}.{k}", "value": str(x)} for k, x in vars(v).items()]
        elif f.name == "train":  # one TrainConfig per model family: its budget on one row
            rows += [
                {
                    "setting": f"train[{family.value}]",
                    "value": f"{c.epochs} epochs, batch {c.batch_size}, lr {c.lr:g}, "
                    f"warm-up {c.warmup_epochs:g}, weight decay {c.weight_decay:g}",
                }
                for family, c in v.items()
            ]
        elif f.name in ("model_args", "experiment_train"):  # per family / experiment, a row each
            rows += [
                {
                    "setting": f"{f.name}[{getattr(key, 'value', key)}]",
                    "value": ", ".join(f"{k}={x}" for k, x in sorted(args.items())),
                }
                for key, args in v.items()
            ]
        else:
            rows.append({"setting": f.name, "value": str(v)})
    return pd.DataFrame(rows).set_index("setting")


def reproducibility_glue(profile: str) -> dict[str, float | str | int]:
    """Counts and totals of the reproducibility page (``repro_*``)."""
    runs = run_records(profile)
    metrics = [r["metrics"] for r in runs]
    total = sum(m.get("wall_time_s", {}).get("total", 0.0) for m in metrics)
    shas = sorted({str(m.get("git_sha", "")) for m in metrics})
    prints = sorted({str(m.get("data_fingerprint", "")) for m in metrics})
    return {
        "repro_n_runs": len(runs),
        "repro_total_min": float(round(total / 60, 1)),
        "repro_n_git": len(shas),
        "repro_git": ", ".join(_short_sha(s) for s in shas) or "none",
        "repro_n_data": len(prints),
        "repro_data": ", ".join(p[:16] for p in prints) or "none",
        "repro_seeds": ", ".join(str(s) for s in sorted({int(m["seed"]) for m in metrics}))
        or "none",
    }


def stage_times(profile: str) -> Any:
    """Wall time of each stage of the last ``make reproduce`` (``results/<profile>/reproduce.json``):
    one row per stage, in minutes; empty when no reproduce run recorded its times.

    ``attrs["scope"]`` says what that run trained: every row of Tables 2-7, or (for
    ``make reproduce EXPERIMENTS=...``, a part of the study) the experiments it was asked for.
    """
    import json

    import pandas as pd

    from musclemap_lib.evaluation import records

    path = paths.results_dir(profile) / records.REPRODUCE_JSON
    if not path.is_file():
        return pd.DataFrame()
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = [{"stage": k, "minutes": v / 60} for k, v in data.get("stages", {}).items()]
    rows.append({"stage": "total", "minutes": float(data.get("seconds", 0.0)) / 60})
    frame = pd.DataFrame(rows).set_index("stage")
    frame.attrs["git_sha"] = str(data.get("git_sha", ""))
    sha = _short_sha(frame.attrs["git_sha"]) or "an unrecorded revision"
    if "experiments" not in data:  # written before reproduce.json recorded what it was asked for
        frame.attrs["scope"] = f"make reproduce at {sha} (what it was asked to run is not recorded)"
    elif data["experiments"] is None:
        frame.attrs["scope"] = f"make reproduce at {sha}: every row of Tables 2-7"
    else:
        n, names = len(data["experiments"]), ", ".join(data["experiments"])
        frame.attrs["scope"] = (
            f"make reproduce at {sha}, a part of the study: {n} experiment{'s' * (n != 1)} "
            f"and the runs they depend on ({names})"
        )
    return frame


# ---- the convergence targets ---------------------------------------------------------------
# The study's targets for a converged profile (the reproducibility page checks them per run).
TARGET_KNOWN_TEST = 80.0  # every learned model of Table 2: known test mAP at least this
TARGET_GAP = 10.0  # ... and known test at least this over new test
TARGET_OVER_RANDOM = 15.0  # every learned model of Tables 2-7: mean test at least Random + this
TARGET_PLATEAU = 2.0  # known-val change over the last 20% of epochs under this
TARGET_PRETRAIN_GAIN = 15.0  # a pretrained RGB row's known val over its from-scratch row


def targets_table(profile: str, seed: int = 0) -> Any:
    """The convergence targets, checked for every learned run of Tables 2-7 that has a result.

    One row per run (plan order): its tables ("stage 1" for a stage-1 run), known / new / mean
    test mAP, known minus new test, mean test minus Random's, the known-val change over its last
    20% of epochs, for a pretrained row of Table 2 its known-val gain over its from-scratch row
    (``X_pt`` over ``X``), and the targets it misses (empty when it meets all that apply to it).
    A run without all six split values is left out. Empty when nothing has a result.
    """
    import pandas as pd

    from musclemap_lib import study
    from musclemap_lib.evaluation.curves import plateau_change
    from musclemap_lib.figures.curves import run_curves
    from musclemap_lib.study.catalogue import Family

    df = our_summary(profile)
    df = df[(df["metric"] == "map") & (df["seed"].astype(int) == seed)]
    if df.empty:
        return pd.DataFrame()
    mAP = df.pivot_table(index="experiment", columns="split", values="value", aggfunc="first")
    random_mean = float(mAP.loc["random", "mean_test"]) if "random" in mAP.index else math.nan
    plan = study.experiments_for_tables()
    curves = run_curves(profile, plan, seed)
    rows = []
    for name in plan:
        exp = get_experiment(name)
        if not exp.trained or exp.family is Family.PRETRAIN or name not in mAP.index:
            continue
        ours = mAP.loc[name]
        if ours.reindex(list(SPLITS)).isna().any():  # not a whole result: nothing to check
            continue
        tabs = sorted({r.table for r in exp.rows})  # empty: a stage-1 run of the stage-2 rows
        # a fine-tuning from stage 0 runs the model of its from-scratch experiment (X_pt: X)
        stage0 = any(get_experiment(d).family is Family.PRETRAIN for d in exp.depends_on)
        scratch = exp.model if stage0 and exp.model not in ("", name) else None
        gain = (
            float(ours["known_val"] - mAP.loc[scratch, "known_val"])
            if scratch in mAP.index
            else math.nan
        )
        row = {
            "run": names.experiment_name(name),
            "tables": ", ".join(str(t) for t in tabs) or "stage 1",
            "known test": float(ours["known_test"]),
            "new test": float(ours["new_test"]),
            "mean test": float(ours["mean_test"]),
            "known - new": float(ours["known_test"] - ours["new_test"]),
            "mean - Random": float(ours["mean_test"]) - random_mean,
            "known-val change, last 20%": plateau_change(curves.get(name, [])),
            "pretraining gain, known val": gain,
        }
        missed = []
        if 2 in tabs and row["known test"] < TARGET_KNOWN_TEST:
            missed.append(f"known test < {TARGET_KNOWN_TEST:g}")
        if 2 in tabs and row["known - new"] < TARGET_GAP:
            missed.append(f"known - new < {TARGET_GAP:g}")
        if not row["mean - Random"] >= TARGET_OVER_RANDOM:
            missed.append(f"mean < Random + {TARGET_OVER_RANDOM:g}")
        if math.isnan(row["known-val change, last 20%"]):
            missed.append("no learning curve")
        elif row["known-val change, last 20%"] >= TARGET_PLATEAU:
            missed.append("no plateau")
        if not math.isnan(gain) and gain < TARGET_PRETRAIN_GAIN:
            missed.append(f"pretraining gain < {TARGET_PRETRAIN_GAIN:g}")
        row["targets missed"] = ", ".join(missed)
        rows.append(row)
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()
