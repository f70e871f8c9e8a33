"""Where things live. The only path logic of the library (STYLE.md section 3).

The one environment variable the study reads is ``MUSCLEMAP_DATA_ROOT`` (where data sets live,
default ``<repo>/data``). Nothing depends on the current working directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root (the folder holding ``musclemap_lib/``)."""
    return Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Folder holding the data sets: ``$MUSCLEMAP_DATA_ROOT`` or ``<repo>/data``."""
    env = os.environ.get("MUSCLEMAP_DATA_ROOT")
    return Path(env).expanduser().resolve() if env else repo_root() / "data"


def synth_dir(profile: str) -> Path:
    """Default MuscleMap-Synth folder of a study profile: ``<data root>/synth-<profile>``."""
    return data_root() / f"synth-{profile}"


def results_dir(profile: str | None = None) -> Path:
    """``<repo>/results`` or, for a profile, ``<repo>/results/<profile>``."""
    root = repo_root() / "results"
    return root / profile if profile else root
