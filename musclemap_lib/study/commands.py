"""The handlers of the ``musclemap`` console commands (argument parsing lives in ``cli.py``).

Each ``cli_*`` function takes the parsed :class:`argparse.Namespace`, calls the library and prints
what happened; it returns the process exit code.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from musclemap_lib.evaluation import records
from musclemap_lib.study import catalogue as C
from musclemap_lib.study.overrides import parse_overrides
from musclemap_lib.study.paper_tables import table_rows
from musclemap_lib.study.profiles import get_profile

log = logging.getLogger(__name__)


def _seeds(text: str | None, profile: str) -> tuple[int, ...]:
    if not text:
        return get_profile(profile).seeds
    try:
        return tuple(int(s) for s in str(text).split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from None


def _tables(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(t) for t in str(text).split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--tables must be comma-separated table numbers, got {text!r}") from None


def _names(text: str | None) -> list[str] | None:
    """``--experiments a,b``: the names (None: every run); ``reproduce`` checks them."""
    if not text:
        return None
    names = [n.strip() for n in str(text).split(",") if n.strip()]
    if not names:
        raise ValueError(f"--experiments must name at least one experiment, got {text!r}")
    return names


def _overrides(args: Any) -> dict[str, Any]:
    return parse_overrides(getattr(args, "set", None) or ())


def _item(e: C.Experiment, row: C.TableRow | None) -> dict[str, Any]:
    return {
        "name": e.name,
        "table": row.table if row else None,
        "row": row.label if row else None,
        "paper": None
        if row is None or row.paper is None
        else dict(zip(C.SPLITS, row.paper, strict=True)),
        "source": row.source if row else "",
        "model": e.model,
        "family": e.family.value,
        "modality": e.modality,
        "variant": e.variant,
        "depends_on": C.dependencies(e.name),
    }


def cli_experiments(args: Any) -> int:
    """``musclemap experiments [--json] [--table N]``: one line (or object) per table row."""
    rows = table_rows(args.table)
    extras = [e for e in C.EXPERIMENTS if not e.rows] if args.table is None else []
    if args.json:
        items = [_item(C.get_experiment(r.experiment), r) for r in rows]
        items += [_item(e, None) for e in extras]  # stage-1 runs and extras fill no row
        print(json.dumps(items, indent=2))
        return 0
    print(f"{'table':>5}  {'row':<18} {'experiment':<26} {'modality':<13} paper mean val/test")
    for r in rows:
        e = C.get_experiment(r.experiment)
        p = "-" if r.paper is None else f"{r.paper[2]:.1f} / {r.paper[5]:.1f}"
        print(f"{r.table:>5}  {r.label:<18} {e.name:<26} {e.modality:<13} {p}")
    for e in extras:
        deps = f" (needs {', '.join(e.depends_on)})" if e.depends_on else ""
        print(f"{'-':>5}  {'(stage 1/extra)':<18} {e.name:<26} {e.modality:<13} {deps}")
    return 0


def cli_data(args: Any) -> int:
    """``musclemap data --profile P [--data DIR]``: make sure the profile's data exists."""
    from musclemap_lib.study.reproduce import ensure_data

    print(ensure_data(args.profile, args.data))
    return 0


def _summarise(profile: str) -> None:
    """Rebuild the summary after a run; another run's broken record only warns (it is named)."""
    report = records.summarise(profile)
    for msg in report.skipped:
        print(f"musclemap: warning: summary.csv leaves out {msg}", file=sys.stderr)


def _diverged(err: Exception) -> int:
    log.error("%s", err)
    print(f"musclemap: training diverged: {err}", file=sys.stderr)
    return 3


def cli_train(args: Any) -> int:
    """``musclemap train EXP --profile P [--data DIR] [--seed N] [--resume] [--set K=V]``."""
    from musclemap_lib.study.pipeline import format_six, run_experiment
    from musclemap_lib.training.system import NonFiniteLossError

    overrides = _overrides(args)
    try:
        out = run_experiment(
            args.experiment,
            args.profile,
            args.seed,
            args.data,
            resume=args.resume,
            overrides=overrides,
            wait=args.wait,
        )
    except NonFiniteLossError as err:
        return _diverged(err)
    if out.status != "skipped":  # a skip writes nothing (and works on read-only results)
        _summarise(args.profile)
    print(f"{out.experiment} (seed {out.seed}, {args.profile}): {out.status} -> {out.folder}")
    if out.metrics:
        print("  " + format_six(out.metrics))
    return 0


def cli_evaluate(args: Any) -> int:
    """``musclemap evaluate EXP --profile P [--data DIR] [--seed N] [--set K=V]``."""
    from musclemap_lib.study.pipeline import evaluate_experiment, format_six

    overrides = _overrides(args)
    out = evaluate_experiment(
        args.experiment, args.profile, args.seed, args.data, overrides, wait=args.wait
    )
    _summarise(args.profile)
    print(f"{out.experiment} (seed {out.seed}, {args.profile}): evaluated -> {out.folder}")
    print("  " + format_six(out.metrics))
    return 0


def _or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _print_outcomes(outcomes: Sequence[Any], profile: str) -> None:
    print(
        f"{'experiment':<28}{'seed':>5}  {'status':<10}{'time s':>8}  "
        + "  ".join(f"{s:>10}" for s in C.SPLITS)
    )
    for o in outcomes:
        # A stage-0 pretraining records None for every split: print it as nan.
        vals = "  ".join(f"{_or_nan(o.metrics.get(s)):>10.1f}" for s in C.SPLITS)
        print(f"{o.experiment:<28}{o.seed:>5}  {o.status:<10}{o.seconds:>8.0f}  {vals}")
    if len({o.seed for o in outcomes}) > 1:
        agg = records.aggregate_seeds(records.load_metrics(profile))
        print("\nmean +- std over seeds")
        for _, r in agg.iterrows():
            print(
                f"{r['experiment']:<28} n={int(r['n_seeds'])}  "
                + "  ".join(f"{r[s]:.1f}+-{r[s + '_std']:.1f}" for s in C.SPLITS if s in r)
            )


def cli_run_all(args: Any) -> int:
    """``musclemap run-all --profile P [--tables 2,3] [--seeds 0,1,2] [--data DIR] [--set K=V]``."""
    from musclemap_lib.study.pipeline import run_all
    from musclemap_lib.training.system import NonFiniteLossError

    overrides = _overrides(args)
    try:
        outcomes = run_all(
            args.profile,
            _tables(args.tables),
            _seeds(args.seeds, args.profile),
            args.data,
            overrides=overrides,
            wait=args.wait,
        )
    except NonFiniteLossError as err:
        return _diverged(err)
    _print_outcomes(outcomes, args.profile)
    return 0


def cli_reproduce(args: Any) -> int:
    """``musclemap reproduce --profile P [--data DIR] [--jobs N] [--experiments A,B]``: the whole
    study (or the named experiments and their dependencies), then where the book is."""
    from musclemap_lib.study.reproduce import reproduce

    names = _names(args.experiments)
    report = reproduce(args.profile, args.data, names=names, jobs=args.jobs)
    print(report.format())
    return 0


def cli_book(args: Any) -> int:
    """``musclemap book --profile P``: render the book from ``results/`` (no training)."""
    from musclemap_lib.study.book import build_book

    t0 = time.perf_counter()
    index = build_book(args.profile)
    print(f"book ({args.profile}) built in {time.perf_counter() - t0:.0f} s: {index}")
    return 0


def cli_efficiency(args: Any) -> int:
    """``musclemap efficiency --profile P``: measure ``results/<profile>/efficiency.json`` only."""
    from musclemap_lib.study.efficiency import measure_efficiency

    t0 = time.perf_counter()
    path = measure_efficiency(args.profile)
    print(f"efficiency ({args.profile}) measured in {time.perf_counter() - t0:.0f} s: {path}")
    return 0


def paper_reference_rows() -> list[dict[str, Any]]:
    """Every number of the paper's Tables 2-7 as tidy rows (``results/paper_reference.csv``).

    Columns: those of ``summary.csv`` plus ``source`` (``Table N``; the experiment identifies the
    row within a table). ``profile`` is ``paper`` (the paper's own setting), the provenance
    columns are empty, and ``metric`` is ``map`` in percent.
    """
    out = []
    for r in table_rows():
        if r.paper is None:
            continue
        model = C.get_experiment(r.experiment).model
        for split, value in zip(C.SPLITS, r.paper, strict=True):
            out.append(
                {
                    "experiment": r.experiment,
                    "model": model,
                    "profile": "paper",
                    "split": split,
                    "metric": "map",
                    "value": value,
                    "seed": "",
                    "git_sha": "",
                    "config_sha": "",
                    "data_fingerprint": "",
                    "created_utc": "",
                    "source": r.source,
                }
            )
    return out


def write_paper_reference(path: Path | None = None) -> Path:
    """Write :func:`paper_reference_rows` to
    ``results/paper_reference.csv`` (or ``path``)."""
    path = Path(path) if path is not None else records.paper_reference_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(records.REFERENCE_COLUMNS), lineterminator="\n")
        w.writeheader()
        w.writerows(paper_reference_rows())
    return path
