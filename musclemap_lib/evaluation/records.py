"""Result records: the run folders under ``results/``, the tidy summary, and a loader API.

Layout (STYLE.md section 7)::

    results/<profile>/<experiment>/          seed 0 (extra seeds: <experiment>--seed<N>/)
        config.json    dataclasses.asdict(RunConfig) + experiment, profile, config_sha
        metrics.json   known_val ... mean_test in percent, per-muscle AP, intervals, bad clips,
                       wall time, and the provenance (git sha, config sha, data fingerprint, time)
        env.json       python / torch / lightning versions, device, CUDA, git sha
        scores.npz     per split: clip ids, (N, 20) scores, (N, 20) labels
        checkpoints/   git-ignored; logs/ Lightning's CSV logs
    results/<profile>/summary.csv            tidy, rebuilt from the run folders
    results/paper_reference.csv              the paper's Tables 2-7 (same columns + source)

A run folder is written to a temporary sibling and renamed into place only when complete, so a
reader never sees half a result; a run whose config sha, engine version and data fingerprint
match a complete result is up to date and skipped (:func:`stale_reason` says why not). While a run
is written its folder is locked (:func:`run_lock`, ``results/<profile>/.locks/``), so a second
process running the same experiment waits or is refused instead of mixing its files in.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from musclemap_lib import paths
from musclemap_lib.evaluation.predict import SplitScores
from musclemap_lib.splits import EVAL_SPLITS, METRIC_SPLITS

log = logging.getLogger(__name__)

CONFIG_JSON = "config.json"
METRICS_JSON = "metrics.json"
ENV_JSON = "env.json"
SCORES_NPZ = "scores.npz"
SUMMARY_CSV = "summary.csv"
PAPER_REFERENCE_CSV = "paper_reference.csv"
EFFICIENCY_JSON = "efficiency.json"  # results/<profile>/efficiency.json (study.efficiency)
REPRODUCE_JSON = "reproduce.json"  # results/<profile>/reproduce.json: stage wall times
# Folders that live in a run folder but are produced by training, not by the record: they are
# carried over when a record replaces an older one.
CARRIED = ("checkpoints", "logs")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "experiment",
    "model",
    "profile",
    "split",
    "metric",
    "value",
    "seed",
    "git_sha",
    "config_sha",
    "data_fingerprint",
    "created_utc",
)
REFERENCE_COLUMNS: tuple[str, ...] = (*SUMMARY_COLUMNS, "source")
# Keys a metrics.json must hold to be read as a run record (tidy_rows needs them).
RECORD_KEYS: tuple[str, ...] = ("experiment", "model", "profile", "seed", *METRIC_SPLITS)


class RecordError(ValueError):
    """A run record cannot be read; the message names the file and the fix."""


# ---- provenance ------------------------------------------------------------------------------
def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def config_sha(config: Any) -> str:
    """A 16-hex-digit hash of a config (a dataclass or a JSON-able mapping), key order ignored."""
    text = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_sha() -> str:
    """The repository's HEAD commit, or ``unknown``.

    ``+dirty`` when a tracked file outside ``results/`` changed: the committed results that a run
    rewrites are its outputs, not the code it ran, so a ``make reproduce`` on a fresh clone
    records its commit as it is.
    """
    root = paths.repo_root()
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions and hardware of this process (``env.json``)."""
    import lightning
    import torch

    cuda = torch.cuda.is_available()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "numpy": np.__version__,
        "device": device,
        "cuda_available": cuda,
        "cuda_version": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_sha": git_sha(),
    }


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    now = _dt.datetime.now(_dt.timezone.utc)  # noqa: UP017 (datetime.UTC needs Python 3.11)
    return now.replace(microsecond=0).isoformat()


# ---- run folders -----------------------------------------------------------------------------
def run_dir(profile: str, experiment: str, seed: int = 0) -> Path:
    """The stable folder of one run: ``results/<profile>/<experiment>`` (``--seed<N>`` if N != 0)."""
    name = experiment if seed == 0 else f"{experiment}--seed{seed}"
    return paths.results_dir(profile) / name


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_jsonable(data), f, indent=2, sort_keys=False, allow_nan=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def write_run(
    dest: Path,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    env: Mapping[str, Any],
    scores: Mapping[str, SplitScores],
) -> Path:
    """Write a complete run record into ``dest`` atomically.

    The four files go into a temporary sibling folder; only when all are written is it renamed
    to ``dest``. An existing ``dest`` is replaced, keeping its ``checkpoints/`` and ``logs/``.
    On any error (e.g. a full disk) the temporary folder is removed and ``dest`` is untouched.

    Args:
        dest: the run folder.
        config: ``config.json`` content (must hold ``config_sha``).
        metrics: ``metrics.json`` content.
        env: ``env.json`` content.
        scores: per-split scores for ``scores.npz``.

    Returns:
        ``dest``.

    Raises:
        OSError: when writing fails; nothing partial is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        _usual_mode(tmp, directory=True)  # mkdtemp makes 0700; a run folder is as readable as any
        _write_json(tmp / CONFIG_JSON, config)
        _write_json(tmp / ENV_JSON, env)
        arrays: dict[str, np.ndarray] = {}
        for split, s in scores.items():
            arrays[f"{split}/clip_ids"] = np.asarray(s.clip_ids, dtype=str)
            arrays[f"{split}/scores"] = np.asarray(s.scores, dtype=np.float32)
            arrays[f"{split}/labels"] = np.asarray(s.labels, dtype=np.uint8)
        with open(tmp / SCORES_NPZ, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # metrics.json last: its presence marks a complete record.
        _write_json(tmp / METRICS_JSON, metrics)
        _swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _swap_into_place(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``, carrying ``dest``'s training folders over; old record removed."""
    old: Path | None = None
    if dest.exists():
        for name in CARRIED:
            if (dest / name).exists():
                os.replace(dest / name, tmp / name)
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: Path) -> dict[str, Any]:
    """Read one JSON file, naming it in the error when it is missing or broken."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds all four files of a run record."""
    return all(
        (Path(folder) / n).is_file() for n in (CONFIG_JSON, METRICS_JSON, ENV_JSON, SCORES_NPZ)
    )


def read_metrics(folder: Path) -> dict[str, Any]:
    """The ``metrics.json`` of a run folder, checked to be a run record.

    Raises:
        FileNotFoundError: when it does not exist.
        RecordError: when it is not valid JSON, not an object, or lacks :data:`RECORD_KEYS`;
            the message names the file and says to rerun the experiment.
    """
    path = Path(folder) / METRICS_JSON
    fix = f"delete {Path(folder)} and run its experiment again (musclemap train ...)"
    try:
        m = read_json(path)
    except ValueError as err:
        raise RecordError(f"{err}; {fix}") from None
    except PermissionError:
        raise RecordError(f"{path} is not readable (permission denied); chmod a+r {path}") from None
    except RecursionError:
        raise RecordError(f"{path} is nested too deeply to be a run record; {fix}") from None
    if not isinstance(m, dict):
        raise RecordError(f"{path} holds a JSON {type(m).__name__}, not a run record; {fix}")
    missing = [k for k in RECORD_KEYS if k not in m]
    if missing:
        raise RecordError(f"{path} is not a complete run record (missing {missing}); {fix}")
    return m


def stale_reason(folder: Path, sha: str, data_fingerprint: str, engine_version: int) -> str:
    """Why ``folder`` is not an up-to-date result of this run; ``""`` when it is.

    Up to date means: a complete record with the same config sha, recorded by the same engine
    version (the code that decides the numbers) and on data with the same content fingerprint.
    """
    if not is_complete(folder):
        return "no complete result"
    try:
        m = read_metrics(folder)
    except (OSError, ValueError) as err:
        return f"its record is unreadable ({err})"
    if m.get("config_sha") != sha:
        return f"the config changed (config sha {m.get('config_sha')} -> {sha})"
    if m.get("engine_version") != engine_version:
        return f"the engine changed (version {m.get('engine_version')} -> {engine_version})"
    if m.get("data_fingerprint") != data_fingerprint:
        return (
            f"the data changed (fingerprint {m.get('data_fingerprint')} -> {data_fingerprint}, "
            f"data folder {m.get('data_dir', '?')})"
        )
    return ""


def is_up_to_date(
    folder: Path, sha: str, data_fingerprint: str, engine_version: int | None = None
) -> bool:
    """True when ``folder`` holds a complete record with this config sha and data fingerprint
    (and this engine version, when one is given)."""
    if engine_version is None:
        if not is_complete(folder):
            return False
        try:
            m = read_metrics(folder)
        except (OSError, ValueError):
            return False
        return m.get("config_sha") == sha and m.get("data_fingerprint") == data_fingerprint
    return not stale_reason(folder, sha, data_fingerprint, engine_version)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling (mode 0644 under the usual umask)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        _usual_mode(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _usual_mode(path: Path, directory: bool = False) -> None:
    """Give a file made by ``mkstemp``/``mkdtemp`` (0600/0700) the mode ``open`` would give."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if directory else 0o666) & ~umask)


def load_scores(folder: Path) -> dict[str, SplitScores]:
    """The per-split scores of a run folder's ``scores.npz``."""
    with np.load(Path(folder) / SCORES_NPZ) as z:
        splits = sorted({k.split("/")[0] for k in z.files})
        return {
            s: SplitScores([str(c) for c in z[f"{s}/clip_ids"]], z[f"{s}/scores"], z[f"{s}/labels"])
            for s in splits
        }


def run_folders(profile: str) -> list[Path]:
    """Every complete run folder of a profile, sorted by name (temporaries ignored)."""
    root = paths.results_dir(profile)
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_complete(p)
    )


# ---- tidy tables -----------------------------------------------------------------------------
def tidy_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tidy summary rows of one run's ``metrics.json``.

    Metrics: ``map`` for the six splits, ``map_ci_low``/``map_ci_high`` and ``ap_<muscle>`` for
    the four evaluated splits, ``num_clips`` per split, ``bad_clips_skipped`` and
    ``wall_time_s`` (split ``all``).
    """
    base = {
        "experiment": metrics["experiment"],
        "model": metrics["model"],
        "profile": metrics["profile"],
        "seed": metrics["seed"],
        "git_sha": metrics.get("git_sha", ""),
        "config_sha": metrics.get("config_sha", ""),
        "data_fingerprint": metrics.get("data_fingerprint", ""),
        "created_utc": metrics.get("created_utc", ""),
    }
    rows: list[dict[str, Any]] = []

    def add(split: str, metric: str, value: Any) -> None:
        rows.append({**base, "split": split, "metric": metric, "value": value})

    for split in METRIC_SPLITS:
        add(split, "map", metrics[split])
    for split, (lo, hi) in metrics.get("intervals", {}).items():
        add(split, "map_ci_low", lo)
        add(split, "map_ci_high", hi)
    for split, per in metrics.get("per_muscle_ap", {}).items():
        for muscle, ap in per.items():
            if ap is not None:
                add(split, f"ap_{muscle}", ap)
    for split, n in metrics.get("num_clips", {}).items():
        add(split, "num_clips", n)
    add("all", "bad_clips_skipped", metrics.get("bad_clips_skipped", 0))
    add("all", "wall_time_s", metrics.get("wall_time_s", {}).get("total", float("nan")))
    return [{c: r[c] for c in SUMMARY_COLUMNS} for r in rows]


@dataclasses.dataclass(frozen=True)
class SummaryReport:
    """What :func:`summarise` wrote."""

    path: Path  # results/<profile>/summary.csv
    runs: int  # run folders summarised
    skipped: tuple[str, ...]  # one message per unreadable record left out (naming its file)


def summarise(profile: str) -> SummaryReport:
    """Rebuild ``results/<profile>/summary.csv`` from the run folders (atomically, mode 0644).

    A record that cannot be read is left out with a warning naming it; the others are summarised.

    Returns:
        A :class:`SummaryReport` (the summary is written even when no run exists: then it has only
        a header).
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    runs = 0
    for folder in run_folders(profile):
        try:
            rows.extend(tidy_rows(read_metrics(folder)))
            runs += 1
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            msg = (
                str(err)
                if isinstance(err, (OSError, ValueError))
                else (
                    f"{folder / METRICS_JSON} is not a run record ({type(err).__name__}: {err}); "
                    f"delete {folder} and run its experiment again"
                )
            )
            log.warning("summary: skipped %s", msg)
            skipped.append(msg)
    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    out = paths.results_dir(profile) / SUMMARY_CSV
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{SUMMARY_CSV}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            df.to_csv(f, index=False, float_format="%.6g")
        _usual_mode(Path(tmp))  # mkstemp makes 0600
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s (%d rows from %d runs)", out, len(df), runs)
    return SummaryReport(out, runs, tuple(skipped))


def rebuild_summary(profile: str) -> Path:
    """Rebuild ``results/<profile>/summary.csv`` (see :func:`summarise`); returns its path."""
    return summarise(profile).path


# ---- loader API for the book -----------------------------------------------------------------
# The summary's identifier columns are text. A git SHA such as 61798e36500686... reads as a number
# with a huge exponent, and pandas 2.3.3's number inference crashes the interpreter on it (a
# segfault, pandas-dev/pandas#62617, fixed upstream by #62741); typing these columns as text
# keeps pandas from trying. Every reader of a summary.csv goes through read_summary_csv.
SUMMARY_TEXT_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in ("value", "seed"))


def read_summary_csv(path: Path) -> Any:
    """A ``summary.csv`` as a DataFrame, its identifier columns read as text (see above)."""
    import pandas as pd

    return pd.read_csv(path, dtype=dict.fromkeys(SUMMARY_TEXT_COLUMNS, str))


def load_summary(profile: str) -> Any:
    """``results/<profile>/summary.csv`` as a DataFrame (rebuilt first when it is missing)."""
    path = paths.results_dir(profile) / SUMMARY_CSV
    if not path.is_file():
        rebuild_summary(profile)
    return read_summary_csv(path)


def load_metrics(profile: str, metric: str = "map") -> Any:
    """One metric of every run of a profile, wide: rows ``(experiment, seed)``, columns the splits.

    Returns:
        A DataFrame with columns ``experiment, model, seed, known_val, ..., mean_test`` (for
        ``map``), read from the run folders.
    """
    import pandas as pd

    df = load_summary(profile)
    df = df[df["metric"] == metric]
    if df.empty:
        return pd.DataFrame(columns=["experiment", "model", "seed", *METRIC_SPLITS])
    wide = df.pivot_table(
        index=["experiment", "model", "seed"], columns="split", values="value", aggfunc="first"
    ).reset_index()
    cols = [c for c in METRIC_SPLITS if c in wide.columns]
    wide.columns.name = None
    return wide[["experiment", "model", "seed", *cols]]


def aggregate_seeds(wide: Any) -> Any:
    """Mean and standard deviation over seeds of a :func:`load_metrics` table.

    Returns:
        A DataFrame with one row per experiment: ``n_seeds`` and ``<split>`` / ``<split>_std``.
    """
    cols = [c for c in METRIC_SPLITS if c in wide.columns]
    g = wide.groupby(["experiment", "model"], sort=False)
    mean = g[cols].mean()
    std = g[cols].std(ddof=1).add_suffix("_std")
    out = mean.join(std)
    out.insert(0, "n_seeds", g.size())
    return out.reset_index()


def load_per_muscle(profile: str, split: str = "new_test") -> Any:
    """Per-muscle AP (percent) of every run of a profile on one split: rows experiments."""
    df = load_summary(profile)
    df = df[(df["split"] == split) & df["metric"].str.startswith("ap_")].copy()
    df["muscle"] = df["metric"].str.slice(3)
    return df.pivot_table(
        index=["experiment", "seed"], columns="muscle", values="value"
    ).reset_index()


def load_run(profile: str, experiment: str, seed: int = 0) -> dict[str, Any]:
    """``config``, ``metrics``, ``env`` and ``scores`` of one run folder.

    Raises:
        FileNotFoundError: when the run has no complete record (train it first).
    """
    folder = run_dir(profile, experiment, seed)
    if not is_complete(folder):
        raise FileNotFoundError(
            f"no complete result for {experiment!r} (seed {seed}) at profile {profile!r} in "
            f"{folder}; run `musclemap train {experiment} --profile {profile}`"
        )
    return {
        "config": read_json(folder / CONFIG_JSON),
        "metrics": read_metrics(folder),
        "env": read_json(folder / ENV_JSON),
        "scores": load_scores(folder),
    }


def paper_reference_path() -> Path:
    """``results/paper_reference.csv``."""
    return paths.results_dir() / PAPER_REFERENCE_CSV


def load_paper_reference() -> Any:
    """The paper's numbers (``results/paper_reference.csv``) as a tidy DataFrame."""
    import pandas as pd

    return pd.read_csv(paper_reference_path(), keep_default_na=False, na_values=[""])


def cli_summary(args: Any) -> int:
    """``musclemap summary --profile P``: rebuild ``results/<profile>/summary.csv``.

    Returns 1 when an unreadable record was left out (each is named on stderr), else 0.
    """
    report = summarise(args.profile)
    print(f"{report.path}: rebuilt from {report.runs} run folder(s)")
    for msg in report.skipped:
        print(f"musclemap summary: warning: left out {msg}", file=sys.stderr)
    if report.skipped:
        print(
            f"musclemap summary: {len(report.skipped)} record(s) left out; fix or delete them",
            file=sys.stderr,
        )
        return 1
    return 0


__all__ = [
    "EVAL_SPLITS",
    "SUMMARY_COLUMNS",
    "aggregate_seeds",
    "config_sha",
    "environment",
    "is_up_to_date",
    "load_metrics",
    "load_paper_reference",
    "load_per_muscle",
    "load_run",
    "load_scores",
    "load_summary",
    "rebuild_summary",
    "read_metrics",
    "run_dir",
    "stale_reason",
    "summarise",
    "tidy_rows",
    "write_run",
]
