"""The whole study in one call: data -> training notebooks -> summary -> efficiency -> figures -> book.

:func:`reproduce` is what ``musclemap reproduce`` and ``make reproduce`` run. Each experiment of
Tables 2-7 (with its stage-1 dependencies, in :func:`musclemap_lib.experiments.plan` order) is
trained and evaluated by executing ``notebooks/10_train_eval.ipynb`` with papermill; the executed
copies land in ``book/runs/<profile>/<experiment>.ipynb`` (git-ignored evidence of the run). A
run that is up to date is skipped inside the notebook, so a second ``reproduce`` only re-renders.

The book learns which profile to render from ``book/_study.json`` (git-ignored, written by
:func:`write_study`): ``{"profile": "cpu"}``. Without that file the pages render the ``cpu``
profile. ``make book PROFILE=smoke`` writes it too, so the book always shows the profile that was
asked for last. This file is the study's only switch for the pages (STYLE.md forbids environment
variables other than ``MUSCLEMAP_DATA_ROOT``).

``python -m musclemap_lib.reproduce book --profile P`` builds the book alone (``make book``);
``python -m musclemap_lib.reproduce efficiency --profile P`` only measures the efficiency file.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musclemap_lib import experiments as E
from musclemap_lib import paths

log = logging.getLogger(__name__)

STUDY_JSON = "_study.json"  # the book's profile switch, next to _config.yml
DEFAULT_BOOK_PROFILE = "cpu"  # what the book shows when no _study.json exists
TRAIN_NOTEBOOK = "10_train_eval.ipynb"  # run once per experiment
EFFICIENCY_JSON = "efficiency.json"  # results/<profile>/efficiency.json
KERNEL = "python3"  # papermill needs an explicit kernel (STYLE.md section 10)
# FLOPs per clip are counted at these model scales for each profile. Counting all three for the
# 14 Table-2 models takes about 2 minutes on 2 cores (TransM3E at paper scale ~50 s alone), too
# long for the smoke study of the test suite, which counts its own scale only.
FLOP_SCALES: dict[str, tuple[str, ...]] = {
    "smoke": ("smoke",),
    "cpu": ("smoke", "cpu", "paper"),
    "paper": ("cpu", "paper"),
}


def book_dir() -> Path:
    """``<repo>/book``."""
    return paths.repo_root() / "book"


def notebooks_dir() -> Path:
    """``<repo>/notebooks``."""
    return paths.repo_root() / "notebooks"


def runs_dir(profile: str) -> Path:
    """Where the executed training notebooks of a profile go: ``book/runs/<profile>``."""
    return book_dir() / "runs" / profile


# ---- the book's profile -------------------------------------------------------------------------
def write_study(profile: str, book: Path | None = None) -> Path:
    """Write ``book/_study.json`` so that the pages render ``profile``."""
    E.get_profile(profile)
    path = (book or book_dir()) / STUDY_JSON
    path.write_text(json.dumps({"profile": profile}, indent=2) + "\n", encoding="utf-8")
    return path


def study_profile(book: Path | None = None) -> str:
    """The profile the book renders: ``book/_study.json``'s, else ``cpu``.

    Raises:
        ValueError: when the file names an unknown profile or is not valid JSON.
    """
    path = (book or book_dir()) / STUDY_JSON
    if not path.is_file():
        return DEFAULT_BOOK_PROFILE
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))["profile"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(
            f'{path} must hold {{"profile": "cpu"}} (or smoke / paper); delete it or rerun '
            f"`make book PROFILE=...` ({err})"
        ) from None
    E.get_profile(profile)
    return str(profile)


# ---- one experiment (what the training notebook calls) -------------------------------------------
def train_eval(experiment: str, profile: str, seed: int = 0, data: str = "") -> dict[str, Any]:
    """Train and evaluate one experiment (skipped when its result is up to date).

    Args:
        experiment: a name from :func:`musclemap_lib.experiments.list_experiments`.
        profile: ``smoke``, ``cpu`` or ``paper``.
        seed: the run's seed.
        data: data folder; empty for the profile's MuscleMap-Synth folder.

    Returns:
        The run's ``metrics.json`` content plus ``status`` (trained, evaluated or skipped) and
        ``folder``.
    """
    out = E.run_experiment(experiment, profile, seed, data or None, progress=False)
    return {**out.metrics, "status": out.status, "folder": str(out.folder)}


def metrics_frame(metrics: dict[str, Any]) -> Any:
    """The six mAP values of a run, with their bootstrap intervals, as a one-row-per-split table."""
    import pandas as pd

    intervals = metrics.get("intervals", {})
    rows = []
    for split in E.SIX:
        lo, hi = intervals.get(split, (float("nan"), float("nan")))
        rows.append({"split": split, "mAP (%)": metrics[split], "CI low": lo, "CI high": hi})
    return pd.DataFrame(rows).set_index("split").round(1)


def execute_training_notebook(
    experiment: str,
    profile: str,
    seed: int = 0,
    data: str = "",
    output: Path | None = None,
    kernel: Any = None,
) -> Path:
    """Execute ``notebooks/10_train_eval.ipynb`` for one experiment with papermill.

    Args:
        experiment, profile, seed, data: the notebook's parameters.
        output: the executed copy (default ``book/runs/<profile>/<experiment>.ipynb``).
        kernel: a started-or-not ``jupyter_client.KernelManager`` to run in (None: a fresh
            kernel for this notebook).

    Returns:
        The executed copy.
    """
    output = output or runs_dir(profile) / f"{experiment}.ipynb"
    params = {"experiment": experiment, "profile": profile, "seed": seed, "data": data}
    return execute_notebook(notebooks_dir() / TRAIN_NOTEBOOK, output, params, kernel)


def execute_notebook(
    source: Path, output: Path, parameters: dict[str, Any], kernel: Any = None
) -> Path:
    """Run one notebook with papermill (kernel ``python3``, cell output logged).

    Only the parameters that the notebook's ``parameters`` cell declares are passed. With
    ``kernel`` (a ``jupyter_client.KernelManager``) the notebook runs in that kernel, which stays
    alive afterwards; the caller shuts it down.
    """
    import papermill as pm

    declared = pm.inspect_notebook(str(source))
    params = {k: v for k, v in parameters.items() if k in declared}
    output.parent.mkdir(parents=True, exist_ok=True)
    extra = {"km": kernel} if kernel is not None else {}
    pm.execute_notebook(
        str(source),
        str(output),
        parameters=params,
        kernel_name=KERNEL,
        log_output=True,
        progress_bar=False,
        cwd=str(source.parent),
        **extra,
    )
    return output


# ---- efficiency ---------------------------------------------------------------------------------
def _clips_per_second(name: str, scale: str, batch: int, repeats: int) -> float:
    """Forward-only throughput of a model at a scale (eval mode, the fastest of ``repeats``)."""
    import torch

    from musclemap_lib.models import build_model
    from musclemap_lib.models.flops import example_batch

    model = build_model(name, scale=scale).eval()
    x = example_batch(model.modalities, scale, batch, generator=torch.Generator().manual_seed(0))
    best = float("inf")
    with torch.no_grad():
        model(x)  # warm-up (allocations, lazy init)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t0)
    return batch / best


def measure_efficiency(profile: str, batch: int = 4, repeats: int = 3) -> Path:
    """Parameters, FLOPs per clip and measured clips per second of every Table-2 model.

    Writes ``results/<profile>/efficiency.json``: per model, the parameter count at paper scale
    and the paper's #PM (:func:`musclemap_lib.models.audit`), the parameter count at the
    profile's scale, FLOPs per clip at each scale of :data:`FLOP_SCALES`, and the forward
    throughput at the profile's scale (batch ``batch``, the fastest of ``repeats`` timed passes,
    torch's current thread count), with the machine it was measured on.
    """
    import torch

    from musclemap_lib.evaluation import records
    from musclemap_lib.models.audit import audit, count_parameters
    from musclemap_lib.models.flops import flops_per_clip

    prof = E.get_profile(profile)
    scales = FLOP_SCALES[profile]
    t0 = time.perf_counter()
    models = []
    for row in audit():
        from musclemap_lib.models import build_model

        with torch.device("meta"):
            at_scale = count_parameters(build_model(row.model, scale=prof.scale))
        models.append(
            {
                "model": row.model,
                "params_paper_scale": row.ours,
                "paper_params_m": row.paper,
                "params_verdict": row.verdict,
                "params_source": row.source,
                "params_profile_scale": at_scale,
                "flops_per_clip": {s: flops_per_clip(row.model, s) for s in scales},
                "clips_per_s": _clips_per_second(row.model, prof.scale, batch, repeats),
            }
        )
        log.info("efficiency %s: %s", row.model, models[-1]["clips_per_s"])
    out = {
        "profile": profile,
        "scale": prof.scale,
        "throughput": {
            "what": "forward pass, eval mode, no grad, random clips at the profile's scale",
            "batch_size": batch,
            "timed_passes": repeats,
            "statistic": "fastest pass (timeit convention)",
            "torch_threads": torch.get_num_threads(),
        },
        "flop_scales": list(scales),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": __import__("os").cpu_count(),
            "device": "cpu",
        },
        "models": models,
        "git_sha": records.git_sha(),
        "created_utc": records.utc_now(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    path = paths.results_dir(profile) / EFFICIENCY_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{EFFICIENCY_JSON}.tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_efficiency(profile: str) -> dict[str, Any] | None:
    """``results/<profile>/efficiency.json``, or None when reproduce has not written it yet."""
    path = paths.results_dir(profile) / EFFICIENCY_JSON
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# ---- the book -----------------------------------------------------------------------------------
def jupyter_book() -> Path:
    """The ``jupyter-book`` executable of this Python environment."""
    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.exists():
        raise FileNotFoundError(
            f"jupyter-book not found next to {sys.executable}; run `make setup`"
        )
    return exe


def build_book(profile: str, book: Path | None = None, output: Path | None = None) -> Path:
    """Render the book for ``profile`` (``jupyter-book build -n -W --keep-going``).

    Args:
        profile: the profile whose results the pages show (written to ``_study.json``).
        book: the book source folder (default ``<repo>/book``).
        output: ``--path-output`` (default: the book folder itself).

    Returns:
        The built ``index.html``.

    Raises:
        RuntimeError: when the build fails or warns, with the end of its log.
    """
    book = book or book_dir()
    write_study(profile, book)
    cmd = [str(jupyter_book()), "build", str(book), "-n", "-W", "--keep-going"]
    if output is not None:
        cmd += ["--path-output", str(output)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"the book build failed ({' '.join(cmd)}):\n{text[-6000:]}")
    return (output or book) / "_build" / "html" / "index.html"


# ---- the whole study ----------------------------------------------------------------------------
@dataclass
class Step:
    """One step of a reproduce run: what it did and how long it took."""

    name: str  # short name of the step
    detail: str  # what it produced
    seconds: float  # wall time


@dataclass
class ReproduceReport:
    """Everything a reproduce run did, in order."""

    profile: str
    steps: list[Step] = field(default_factory=list)
    index_html: Path | None = None

    def timed(self, name: str, fn: Callable[[], str]) -> None:
        """Run ``fn`` (returning a one-line detail) as a timed step."""
        t0 = time.perf_counter()
        detail = fn()
        self.steps.append(Step(name, detail, time.perf_counter() - t0))
        log.info("%s: %s (%.0f s)", name, detail, self.steps[-1].seconds)

    @property
    def seconds(self) -> float:
        """Total wall time of the steps."""
        return sum(s.seconds for s in self.steps)

    def format(self) -> str:
        """A plain-text account: every step with its wall time, then where the book is."""
        lines = [f"reproduce ({self.profile}): {len(self.steps)} steps in {self.seconds:.0f} s"]
        lines += [f"  {s.seconds:>7.1f} s  {s.name:<28} {s.detail}" for s in self.steps]
        if self.index_html is not None:
            lines.append(f"the book: {self.index_html}")
        return "\n".join(lines)


def other_notebooks() -> list[Path]:
    """The notebooks that reproduce runs once per profile (every one but the training notebook)."""
    return sorted(p for p in notebooks_dir().glob("*.ipynb") if p.name != TRAIN_NOTEBOOK)


def reproduce(
    profile: str,
    data: str | None = None,
    names: Sequence[str] | None = None,
    book: bool = True,
    seed: int = 0,
    fresh_kernels: bool = False,
) -> ReproduceReport:
    """data -> every experiment (papermill) -> summary -> efficiency -> notebooks -> book.

    Args:
        profile: ``smoke``, ``cpu`` or ``paper``.
        data: data folder (default: the profile's MuscleMap-Synth, generated when missing).
        names: experiments to run (default: every row of Tables 2-7); dependencies are added.
        book: build the book at the end.
        seed: the seed of every run.
        fresh_kernels: start a new kernel for every training notebook. By default one kernel
            runs them one after another: starting a kernel and importing torch and Lightning
            costs about 10 s per notebook on a loaded 2-core machine (6 minutes over the 35
            experiments), while the notebook sets every variable it reads and
            :func:`~musclemap_lib.experiments.run_experiment` seeds and restores the process state
            itself. The other notebooks always get a fresh kernel.

    Returns:
        The :class:`ReproduceReport` (steps with wall times, the book's ``index.html``).
    """
    from jupyter_client.manager import KernelManager

    from musclemap_lib.evaluation import records

    report = ReproduceReport(profile)
    report.timed("data", lambda: _data(profile, data))
    todo = E.plan(names) if names is not None else E.experiments_for_tables()
    kernel = None if fresh_kernels else KernelManager(kernel_name=KERNEL)
    try:
        for name in todo:
            report.timed(
                f"notebook 10_train_eval {name}",
                lambda n=name: str(
                    execute_training_notebook(n, profile, seed, data or "", kernel=kernel)
                ),
            )
    finally:
        if kernel is not None and kernel.has_kernel:
            kernel.shutdown_kernel(now=True)
    report.timed("summary", lambda: str(records.rebuild_summary(profile)))
    report.timed("efficiency", lambda: str(measure_efficiency(profile)))
    for nb in other_notebooks():
        out = runs_dir(profile) / nb.name
        report.timed(
            f"notebook {nb.stem}",
            lambda nb=nb, out=out: str(
                execute_notebook(nb, out, {"profile": profile, "seed": seed, "data": data or ""})
            ),
        )
    if book:

        def _book() -> str:
            report.index_html = build_book(profile)
            return str(report.index_html)

        report.timed("book", _book)
    return report


def _data(profile: str, data: str | None) -> str:
    ns = argparse.Namespace(profile=profile, data=data)
    E.cli_data(ns)
    return str(E.data_dir(profile, data))


def cli_reproduce(args: Any) -> int:
    """``musclemap reproduce --profile P [--data DIR]``: the whole study, then where the book is."""
    report = reproduce(args.profile, args.data)
    print(report.format())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m musclemap_lib.reproduce book|efficiency --profile P``."""
    parser = argparse.ArgumentParser(prog="python -m musclemap_lib.reproduce")
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd, what in (
        ("book", "render the book from results/ (no training)"),
        ("efficiency", "measure results/<profile>/efficiency.json only"),
    ):
        p = sub.add_parser(cmd, help=what)
        p.add_argument("--profile", default=DEFAULT_BOOK_PROFILE, choices=sorted(E.PROFILES))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    t0 = time.perf_counter()
    if args.command == "efficiency":
        path = measure_efficiency(args.profile)
        print(f"efficiency ({args.profile}) measured in {time.perf_counter() - t0:.0f} s: {path}")
        return 0
    index = build_book(args.profile)
    print(f"book ({args.profile}) built in {time.perf_counter() - t0:.0f} s: {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
