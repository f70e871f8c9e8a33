"""Fixtures shared by the whole suite: one smoke MuscleMap-Synth per session, and a small subset.

``smoke_dir`` is generated once (seed 0) and shared read-only by every test that needs real
videos and skeletons: the synth, figure, CLI and pipeline tests. ``smoke_root`` is a data root
(what ``MUSCLEMAP_DATA_ROOT`` points at) whose ``synth-smoke`` holds a few clips of each split of
it, so an end-to-end train takes seconds. ``smoke_data`` is the name the figure tests use.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from musclemap_lib.synth import writer


def subset(src: Path, dst: Path, train: int = 32, per_eval: int = 8) -> Path:
    """A data folder ``dst`` with ``train`` / ``per_eval`` clips of each split of ``src``."""
    with open(src / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    keep = []
    for split, n in (
        ("train", train),
        ("known_val", per_eval),
        ("new_val", per_eval),
        ("known_test", per_eval),
        ("new_test", per_eval),
    ):
        rs = [r for r in rows if r["split"] == split]
        keep += rs[:: max(1, len(rs) // n)][:n]  # spread over the activities
    dst.mkdir(parents=True)
    for sub in ("videos", "skeletons"):
        os.symlink(src / sub, dst / sub)
    for name in ("activities.csv",):
        if (src / name).is_file():
            os.symlink(src / name, dst / name)
    with open(dst / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)
    return dst


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated smoke data set (seed 0), once per session; do not modify it."""
    out = tmp_path_factory.mktemp("synth") / "smoke"
    return writer.generate(out, "smoke", seed=0, workers=2, progress=False)


@pytest.fixture(scope="session")
def smoke_data(smoke_dir: Path) -> Path:
    """The smoke data set under the name the figure tests use."""
    return smoke_dir


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory: pytest.TempPathFactory, smoke_dir: Path) -> Path:
    """A data root whose ``synth-smoke`` is a small subset of :func:`smoke_dir`."""
    root = tmp_path_factory.mktemp("root")
    subset(smoke_dir, root / "synth-smoke")
    return root
