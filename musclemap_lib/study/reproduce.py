"""The whole study in one call: data -> training notebooks -> summary -> efficiency -> figures -> book.

:func:`reproduce` is what ``musclemap reproduce`` and ``make reproduce`` run. Each experiment of
Tables 2-7 (with its stage-1 dependencies, in :func:`musclemap_lib.study.catalogue.plan` order)
is trained and evaluated by executing ``notebooks/10_train_eval.ipynb`` with papermill; the
executed copies land in ``book/runs/<profile>/<experiment>.ipynb`` (git-ignored evidence of the
run). A run that is up to date is skipped inside the notebook, so a second ``reproduce`` only
re-renders. ``musclemap book`` builds the book alone (:mod:`musclemap_lib.study.book`) and
``musclemap efficiency`` only measures the efficiency file.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from musclemap_lib import paths
from musclemap_lib.data import load_manifest
from musclemap_lib.evaluation import records
from musclemap_lib.study import catalogue, pipeline
from musclemap_lib.study.book import book_dir, build_book
from musclemap_lib.study.efficiency import measure_efficiency
from musclemap_lib.study.paper_tables import experiments_for_tables
from musclemap_lib.study.profiles import data_dir, get_profile
from musclemap_lib.synth.writer import generate

log = logging.getLogger(__name__)

TRAIN_NOTEBOOK = "10_train_eval.ipynb"  # run once per experiment
KERNEL = "python3"  # papermill needs an explicit kernel (STYLE.md section 10)


def notebooks_dir() -> Path:
    """``<repo>/notebooks``."""
    return paths.repo_root() / "notebooks"


def runs_dir(profile: str) -> Path:
    """Where the executed training notebooks of a profile go: ``book/runs/<profile>``."""
    return book_dir() / "runs" / profile


# ---- one experiment (what the training notebook calls) -------------------------------------------
def train_eval(
    experiment: str, profile: str, seed: int = 0, data: str = "", threads: int = 0
) -> dict[str, Any]:
    """Train and evaluate one experiment (skipped when its result is up to date).

    Args:
        experiment: a name from :func:`musclemap_lib.study.catalogue.list_experiments`.
        profile: ``smoke``, ``cpu`` or ``paper``.
        seed: the run's seed.
        data: data folder; empty for the profile's MuscleMap-Synth folder.
        threads: torch CPU threads of the run (0: leave the process's setting; ``reproduce``
            passes ``cores // jobs`` when it runs several notebooks at once).

    Returns:
        The run's ``metrics.json`` content plus ``status`` (trained, evaluated or skipped) and
        ``folder``.
    """
    if threads < 0:
        raise ValueError(f"threads must be 0 (unchanged) or a positive count, got {threads}")
    if threads:
        import torch

        torch.set_num_threads(threads)
    out = pipeline.run_experiment(experiment, profile, seed, data or None, progress=False)
    return {**out.metrics, "status": out.status, "folder": str(out.folder)}


def metrics_frame(metrics: dict[str, Any]) -> Any:
    """The six mAP values of a run, with their bootstrap intervals, as a one-row-per-split table."""
    import pandas as pd

    intervals = metrics.get("intervals", {})
    rows = []
    for split in catalogue.SPLITS:
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
    threads: int = 0,
) -> Path:
    """Execute ``notebooks/10_train_eval.ipynb`` for one experiment with papermill.

    Args:
        experiment, profile, seed, data, threads: the notebook's parameters.
        output: the executed copy (default ``book/runs/<profile>/<experiment>.ipynb``).
        kernel: a started-or-not ``jupyter_client.KernelManager`` to run in (None: a fresh
            kernel for this notebook).

    Returns:
        The executed copy.
    """
    output = output or runs_dir(profile) / f"{experiment}.ipynb"
    params = {
        "experiment": experiment,
        "profile": profile,
        "seed": seed,
        "data": data,
        "threads": threads,
    }
    return execute_notebook(notebooks_dir() / TRAIN_NOTEBOOK, output, params, kernel, list(params))


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    kernel: Any = None,
    required: Sequence[str] = (),
) -> Path:
    """Run one notebook with papermill (kernel ``python3``, cell output logged).

    Only the parameters that the notebook's ``parameters`` cell declares are passed; those named
    in ``required`` must be declared (a ``ValueError`` says which are not). With
    ``kernel`` (a ``jupyter_client.KernelManager``) the notebook runs in that kernel, which stays
    alive afterwards; the caller shuts it down. Without, it runs in a kernel of its own on Unix
    sockets (:func:`ipc_kernel`), shut down afterwards.
    """
    import papermill as pm

    declared = pm.inspect_notebook(str(source))
    params = {k: v for k, v in parameters.items() if k in declared}
    missing = [k for k in required if k not in declared]
    if missing:
        # papermill skips a parameter line it cannot parse (e.g. an odd comment) without a word
        raise ValueError(
            f"{source} does not declare the parameter(s) {', '.join(missing)} that papermill "
            "must set; fix its parameters cell (one `name: type = value  # help` per line)"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    own = kernel is None
    kernel = ipc_kernel() if own else kernel
    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=params,
            kernel_name=KERNEL,
            log_output=True,
            progress_bar=False,
            cwd=str(source.parent),
            km=kernel,  # papermill starts it when it is not running and leaves it running
        )
    finally:
        if own:
            _shutdown([kernel])
    return output


def ipc_kernel() -> Any:
    """A not-yet-started kernel of ``KERNEL`` on Unix sockets, in a private folder.

    Over TCP two kernels started at once can fail with "Address already in use": a kernel's
    ports are picked before it binds them, and the other kernel's client can take one as its
    ephemeral port in between (jupyter_client issue 487). Unix sockets in a private folder
    (removed by :func:`_shutdown`) have no ports to race for.
    """
    folder = tempfile.mkdtemp(prefix="musclemap-kernel-")
    return KernelManager(kernel_name=KERNEL, transport="ipc", ip=os.path.join(folder, "k"))


def _shutdown(kernels: Sequence[Any]) -> None:
    for k in kernels:
        if k is None:
            continue
        if k.has_kernel:
            k.shutdown_kernel(now=True)
        if k.transport == "ipc":  # the private socket folder of ipc_kernel
            shutil.rmtree(os.path.dirname(k.ip), ignore_errors=True)


# ---- the whole study ----------------------------------------------------------------------------
@dataclass
class Step:
    """One step of a reproduce run: what it did and how long it took."""

    name: str  # short name of the step
    detail: str  # what it produced
    seconds: float  # wall time
    # ran beside other steps inside a step that holds their common wall time (the training
    # notebooks when jobs > 1): listed, but not added to the stage and total times
    overlapped: bool = False


@dataclass
class ReproduceReport:
    """Everything a reproduce run did, in order."""

    profile: str
    steps: list[Step] = field(default_factory=list)
    index_html: Path | None = None
    # the experiments asked for (`--experiments`; dependencies not listed), None: every row
    experiments: list[str] | None = None

    def timed(self, name: str, fn: Callable[[], str]) -> None:
        """Run ``fn`` (returning a one-line detail) as a timed step."""
        t0 = time.perf_counter()
        detail = fn()
        self.steps.append(Step(name, detail, time.perf_counter() - t0))
        log.info("%s: %s (%.0f s)", name, detail, self.steps[-1].seconds)

    @property
    def seconds(self) -> float:
        """Total wall time of the steps (overlapped steps count once, through their phase)."""
        return sum(s.seconds for s in self.steps if not s.overlapped)

    def stages(self) -> dict[str, float]:
        """Wall time per stage: data, training (every training notebook), summary, efficiency,
        figures (the other notebooks) and book, in seconds."""
        out: dict[str, float] = {}
        for s in self.steps:
            if s.overlapped:
                continue
            stage = s.name.split()[0]
            if s.name.startswith(f"notebook {TRAIN_NOTEBOOK.removesuffix('.ipynb')}"):
                stage = "training"
            elif stage == "notebook":
                stage = "figures"
            out[stage] = out.get(stage, 0.0) + s.seconds
        return out

    def write(self) -> Path:
        """``results/<profile>/reproduce.json``: the stage and step wall times of this run."""
        path = paths.results_dir(self.profile) / records.REPRODUCE_JSON
        data = {
            "profile": self.profile,
            "experiments": self.experiments,  # null: every row of Tables 2-7
            "seconds": round(self.seconds, 1),
            "stages": {k: round(v, 1) for k, v in self.stages().items()},
            "steps": [
                {"name": s.name, "seconds": round(s.seconds, 1), "overlapped": s.overlapped}
                for s in self.steps
            ],
            "git_sha": records.git_sha(),
            "created_utc": records.utc_now(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        records.atomic_write_text(path, json.dumps(data, indent=2) + "\n")
        return path

    def format(self) -> str:
        """A plain-text account: every step with its wall time, then where the book is."""
        lines = [f"reproduce ({self.profile}): {len(self.steps)} steps in {self.seconds:.0f} s"]
        lines += [
            f"  {s.seconds:>7.1f} s  {s.name:<28} {s.detail}" + ("  (in parallel)" * s.overlapped)
            for s in self.steps
        ]
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
    jobs: int | None = None,
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
            :func:`~musclemap_lib.study.pipeline.run_experiment` seeds and restores the process state
            itself. The other notebooks always get a fresh kernel.
        jobs: training notebooks run at once (default: the profile's ``jobs``), each in its own
            kernel on ``cores // jobs`` torch threads; a run starts once every run it depends on
            has finished.

    Returns:
        The :class:`ReproduceReport` (steps with wall times, the book's ``index.html``).
    """
    # planned first: an unknown name fails before any data or training
    todo = catalogue.plan(names) if names is not None else experiments_for_tables()
    report = ReproduceReport(profile, experiments=None if names is None else list(names))
    report.timed("data", lambda: _data(profile, data))
    jobs = get_profile(profile).jobs if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    notebooks = TrainingNotebooks(profile, seed, data or "", fresh_kernels)
    if jobs == 1:
        _train_in_order(report, todo, notebooks)
    else:
        _train_in_parallel(report, todo, notebooks, jobs)
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
    report.write()  # the book's reproducibility page shows these times
    if book:

        def _book() -> str:
            report.index_html = build_book(profile)
            return str(report.index_html)

        report.timed("book", _book)
        report.write()  # now with the book's own time (shown by the next build)
    return report


@dataclass(frozen=True)
class TrainingNotebooks:
    """What every training notebook of one reproduce run shares: profile, seed, data, kernels."""

    profile: str
    seed: int = 0
    data: str = ""
    fresh_kernels: bool = False  # a new kernel per notebook instead of one per job

    def kernel(self) -> Any:
        """A kernel for a job to reuse (:func:`ipc_kernel`), or None with ``fresh_kernels``:
        then :func:`execute_notebook` gives each notebook one of its own."""
        return None if self.fresh_kernels else ipc_kernel()

    def run(self, name: str, kernel: Any, threads: int = 0) -> Path:
        """Execute the training notebook of experiment ``name``."""
        return execute_training_notebook(
            name, self.profile, self.seed, self.data, kernel=kernel, threads=threads
        )


def _train_in_order(report: ReproduceReport, todo: Sequence[str], nbs: TrainingNotebooks) -> None:
    """The training notebooks one after another, in one kernel unless ``fresh_kernels``."""
    kernel = nbs.kernel()
    try:
        for name in todo:
            report.timed(f"notebook 10_train_eval {name}", lambda n=name: str(nbs.run(n, kernel)))
    finally:
        _shutdown([kernel])


def _train_in_parallel(
    report: ReproduceReport, todo: Sequence[str], nbs: TrainingNotebooks, jobs: int
) -> None:
    """The training notebooks ``jobs`` at a time, each kernel on ``cores // jobs`` threads.

    A notebook starts once the notebooks of its dependencies have finished; among those ready, the
    ones that other pending notebooks wait on (stage 0s, stage 1s) start first, in ``todo`` order
    otherwise, so that a long dependent does not end up running alone at the end. After a failure
    no new notebook starts; the running ones finish, then the first error is raised. The report
    gets one step per notebook (its own wall time, marked overlapped) and a ``training`` step with
    the wall time of the whole phase.
    """
    threads = max(1, (os.cpu_count() or 1) // jobs)
    deps = {n: [d for d in catalogue.dependencies(n) if d in todo] for n in todo}
    idle = queue.SimpleQueue()  # one kernel per slot (None: a fresh kernel per notebook)
    kernels = [nbs.kernel() for _ in range(jobs)]
    for k in kernels:
        idle.put(k)

    def run(name: str) -> Step:
        kernel = idle.get()
        t0 = time.perf_counter()
        try:
            out = nbs.run(name, kernel, threads)
        finally:
            idle.put(kernel)
        step = Step(f"notebook 10_train_eval {name}", str(out), time.perf_counter() - t0, True)
        log.info("%s: %s (%.0f s)", step.name, step.detail, step.seconds)
        return step

    log.info("training %d notebooks, %d at a time, %d torch threads each", len(todo), jobs, threads)
    t0 = time.perf_counter()
    pending, done, errors = list(todo), set(), []
    running: dict[concurrent.futures.Future, str] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            while pending or running:
                ready = [n for n in pending if all(d in done for d in deps[n])]
                waited_on = {d for n in pending for d in deps[n]}
                ready.sort(key=lambda n: n not in waited_on)  # stable: todo order within each
                while not errors and ready and len(running) < jobs:
                    name = ready.pop(0)
                    pending.remove(name)
                    running[pool.submit(run, name)] = name
                if not running:
                    if errors:
                        break  # a failure left the rest waiting on it
                    raise RuntimeError(  # cannot happen for a catalogue.plan order
                        f"no training notebook can start: {', '.join(pending)} wait on runs "
                        "that never finish; list dependencies before their dependents"
                    )
                finished, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished:
                    name = running.pop(future)
                    try:
                        report.steps.append(future.result())
                        done.add(name)
                    except Exception as err:  # noqa: BLE001 - raised below, after the others
                        log.error("notebook 10_train_eval %s failed: %s", name, err)
                        errors.append(err)
    finally:
        _shutdown(kernels)
    if errors:
        raise errors[0]
    report.steps.append(
        Step(
            "training",
            f"{len(todo)} notebooks, {jobs} at a time on {threads} torch thread(s) each",
            time.perf_counter() - t0,
        )
    )


def ensure_data(profile: str, data: str | Path | None = None) -> str:
    """Make sure a run's data exists: verify ``data``, or the profile's MuscleMap-Synth folder,
    generating it first when missing. Returns a one-line account (folder, clips, fingerprint).
    """
    prof = get_profile(profile)
    if data:
        report = load_manifest(data_dir(profile, data)).verify()
        return f"{report.root}: {report.num_clips} clips verified, fingerprint {report.fingerprint}"
    root = paths.synth_dir(profile)
    if (root / "manifest.csv").is_file():
        report = load_manifest(root).verify()
        return (
            f"{root}: present, {report.num_clips} clips verified, fingerprint {report.fingerprint}"
        )
    t0 = time.perf_counter()
    generate(root, prof.synth, seed=0, progress=sys.stderr.isatty())
    report = load_manifest(root).verify()
    return (
        f"{root}: generated MuscleMap-Synth '{prof.synth}' ({report.num_clips} clips, "
        f"{time.perf_counter() - t0:.0f} s), fingerprint {report.fingerprint}"
    )


def _data(profile: str, data: str | None) -> str:
    return ensure_data(profile, data)
