"""The training phase of ``reproduce`` with several jobs: dependencies first, threads per job,
failures, and the report's times. The notebooks are replaced by a fake that records what ran when
(the real notebooks run in tests/test_reproduce.py)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from musclemap_lib.study import catalogue
from musclemap_lib.study import reproduce as R

TODO = catalogue.plan(["stgcn", "transm3e", "c2d_r50_pt"])
NOTEBOOKS = R.TrainingNotebooks("smoke", fresh_kernels=True)  # no kernel is started


class FakeNotebooks:
    """Stands in for ``execute_training_notebook``: sleeps a little, records start and end."""

    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, float]] = []  # (start|end, name, time)
        self.threads: dict[str, int] = {}
        self.running = 0
        self.most_at_once = 0

    def __call__(self, name, profile, seed, data, kernel=None, threads=0):
        with self.lock:
            self.events.append(("start", name, time.perf_counter()))
            self.threads[name] = threads
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
            self.events.append(("end", name, time.perf_counter()))
        if name == self.fail:
            raise RuntimeError(f"{name} broke")
        return f"out/{name}.ipynb"

    def time_of(self, kind: str, name: str) -> float:
        return next(t for k, n, t in self.events if k == kind and n == name)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeNotebooks:
    notebooks = FakeNotebooks()
    monkeypatch.setattr(R, "execute_training_notebook", notebooks)
    monkeypatch.setattr(R.os, "cpu_count", lambda: 4)
    return notebooks


def test_parallel_training_runs_dependencies_first_two_at_a_time(fake: FakeNotebooks) -> None:
    report = R.ReproduceReport("smoke")
    R._train_in_parallel(report, TODO, NOTEBOOKS, jobs=2)
    assert {n for k, n, _ in fake.events if k == "end"} == set(TODO)
    assert fake.most_at_once == 2
    for name in TODO:
        for dep in catalogue.dependencies(name):
            assert fake.time_of("end", dep) <= fake.time_of("start", name), (dep, name)
    assert set(fake.threads.values()) == {2}  # 4 cores, 2 jobs
    steps = {s.name: s for s in report.steps}
    assert all(steps[f"notebook 10_train_eval {n}"].overlapped for n in TODO)
    phase = steps["training"]
    assert not phase.overlapped and "2 at a time on 2 torch thread(s)" in phase.detail
    # the stage and the total count the phase's wall time once, not the sum of its notebooks
    assert report.stages() == {"training": phase.seconds} and report.seconds == phase.seconds
    notebooks = sum(s.seconds for s in report.steps if s.overlapped)
    assert phase.seconds < notebooks
    assert "(in parallel)" in report.format()


def test_runs_that_others_wait_on_start_first(fake: FakeNotebooks) -> None:
    # In part 1 of the regeneration pretrain_swin_b waited behind videoswin_b (plan order), and
    # videoswin_b_pt then ran alone for 20 minutes with a core idle.
    R._train_in_parallel(R.ReproduceReport("smoke"), TODO, NOTEBOOKS, jobs=2)
    starts = [n for k, n, _ in fake.events if k == "start"]
    assert TODO.index("stgcn") < TODO.index("pretrain_r50_fractal")
    assert starts.index("pretrain_r50_fractal") < starts.index("stgcn")
    waited_on = {d for n in TODO for d in catalogue.dependencies(n)}
    assert set(starts[:2]) <= waited_on


def test_a_failed_notebook_stops_new_starts_and_is_raised(fake: FakeNotebooks) -> None:
    fake.fail = "pretrain_mvitv2_s_fractal"
    report = R.ReproduceReport("smoke")
    with pytest.raises(RuntimeError, match="pretrain_mvitv2_s_fractal broke"):
        R._train_in_parallel(report, TODO, NOTEBOOKS, jobs=2)
    started = {n for k, n, _ in fake.events if k == "start"}
    assert "transm3e" not in started and "mvitv2_s_mct" not in started  # its dependents
    assert {n for k, n, _ in fake.events if k == "end"} == started  # nothing left running
    assert all(s.name != "training" for s in report.steps)


def test_one_job_runs_in_plan_order(fake: FakeNotebooks) -> None:
    report = R.ReproduceReport("smoke")
    R._train_in_order(report, TODO, NOTEBOOKS)
    assert [n for k, n, _ in fake.events if k == "start"] == TODO
    assert set(fake.threads.values()) == {0}  # the process's own setting
    assert report.seconds == pytest.approx(sum(s.seconds for s in report.steps))


@pytest.mark.parametrize("jobs", [0, -1])
def test_reproduce_rejects_a_bad_job_count(jobs: int, monkeypatch) -> None:
    monkeypatch.setattr(R, "_data", lambda profile, data: "data")
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        R.reproduce("smoke", names=["stgcn"], jobs=jobs)


def test_cli_rejects_a_bad_job_count(capsys) -> None:
    from musclemap_lib.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--jobs", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_runs_waiting_on_each_other_are_an_error(
    fake: FakeNotebooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two runs that each wait on the other can never start: say so instead of reporting a
    # training phase that skipped them (a catalogue.plan order never has such a cycle).
    cycle = {"transm3e": ["hdgcn_mct"], "hdgcn_mct": ["transm3e"]}
    monkeypatch.setattr(R.catalogue, "dependencies", lambda name: cycle[name])
    with pytest.raises(RuntimeError, match="no training notebook can start: transm3e, hdgcn_mct"):
        R._train_in_parallel(R.ReproduceReport("smoke"), list(cycle), NOTEBOOKS, jobs=2)
    assert fake.events == []


def test_job_kernels_use_private_unix_sockets_removed_at_shutdown():
    """Two kernels started at once over TCP can race for a port ("Address already in use"); a
    job's kernel listens on Unix sockets in its own folder, which shutdown removes."""
    kernels = [R.TrainingNotebooks("smoke").kernel() for _ in range(2)]
    folders = [os.path.dirname(k.ip) for k in kernels]
    assert [k.transport for k in kernels] == ["ipc", "ipc"]
    assert all(
        os.path.isabs(k.ip) and os.path.isdir(f) for k, f in zip(kernels, folders, strict=True)
    )
    assert folders[0] != folders[1]
    R._shutdown(kernels)  # never started: only the folders go
    assert not any(os.path.exists(f) for f in folders)


@pytest.fixture
def papermill_calls(monkeypatch) -> list:
    """papermill replaced: each call records (its kernel, whether that kernel's folder existed)
    and fails when the notebook is called ``fail.ipynb``."""
    import papermill as pm

    calls = []

    def fake_execute(source, output, **kw):
        calls.append((kw["km"], os.path.isdir(os.path.dirname(kw["km"].ip))))
        if source.endswith("fail.ipynb"):
            raise RuntimeError("cell failed")

    monkeypatch.setattr(pm, "inspect_notebook", lambda source: {})
    monkeypatch.setattr(pm, "execute_notebook", fake_execute)
    return calls


@pytest.mark.parametrize("name", ["nb.ipynb", "fail.ipynb"])
def test_a_notebook_without_a_kernel_gets_its_own_on_unix_sockets(name, papermill_calls, tmp_path):
    # The figure notebooks and `fresh_kernels` pass no kernel: papermill would start one over
    # TCP, which races like the job kernels did; each gets a private ipc kernel, removed after
    # the notebook, a failing one too.
    if name == "fail.ipynb":
        with pytest.raises(RuntimeError, match="cell failed"):
            R.execute_notebook(tmp_path / name, tmp_path / "out.ipynb", {})
    else:
        R.execute_notebook(tmp_path / name, tmp_path / "out.ipynb", {})
    ((km, existed),) = papermill_calls
    assert km.transport == "ipc" and existed
    assert not os.path.exists(os.path.dirname(km.ip))


def test_a_given_kernel_is_used_and_left_to_the_caller(papermill_calls, tmp_path):
    given = R.ipc_kernel()
    R.execute_notebook(tmp_path / "nb.ipynb", tmp_path / "out.ipynb", {}, kernel=given)
    assert papermill_calls == [(given, True)] and os.path.isdir(os.path.dirname(given.ip))
    R._shutdown([given])
    assert not os.path.exists(os.path.dirname(given.ip))


def test_report_records_which_experiments_were_asked_for(monkeypatch, tmp_path) -> None:
    # A study regenerated in parts (`--experiments`) says in reproduce.json which part it was.
    import json

    from musclemap_lib import paths

    monkeypatch.setattr(paths, "results_dir", lambda p=None: tmp_path / p if p else tmp_path)
    for asked in (["stgcn", "c2d_r50_pt"], None):
        written = json.loads(R.ReproduceReport("smoke", experiments=asked).write().read_text())
        assert written["experiments"] == asked


def test_cli_reproduce_runs_only_the_named_experiments(monkeypatch) -> None:
    # `--experiments` reaches reproduce() as names (dependencies are added by catalogue.plan
    # there); without it every row runs.
    from musclemap_lib.cli import main

    calls: list[object] = []

    class Report:
        def format(self) -> str:
            return "done"

    def fake(profile, data=None, names=None, jobs=None, **kw):
        calls.append(names)
        return Report()

    monkeypatch.setattr(R, "reproduce", fake)
    assert main(["reproduce", "--profile", "smoke", "--experiments", "stgcn, c2d_r50_pt"]) == 0
    assert main(["reproduce", "--profile", "smoke"]) == 0
    assert calls == [["stgcn", "c2d_r50_pt"], None]


def test_cli_reproduce_names_an_unknown_experiment_before_any_work(monkeypatch, capsys) -> None:
    from musclemap_lib.cli import main

    monkeypatch.setattr(R, "_data", lambda profile, data: pytest.fail("data was made"))
    assert main(["reproduce", "--profile", "smoke", "--experiments", "stgcn,nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'nope'" in err and "musclemap experiments" in err
