"""The book's side of the study: which profile its pages show, and building it.

The book learns which profile to render from ``book/_study.json`` (git-ignored, written by
:func:`write_study`): ``{"profile": "cpu"}``. Without that file the pages render the ``cpu``
profile. ``musclemap book --profile smoke`` (``make book PROFILE=smoke``) writes it too, so the
book always shows the profile that was asked for last. This file is the study's only switch for
the pages (STYLE.md forbids environment variables other than ``MUSCLEMAP_DATA_ROOT``).

Importing this module does not import torch: every book page imports it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from musclemap_lib import paths
from musclemap_lib.study.profiles import get_profile

STUDY_JSON = "_study.json"  # the book's profile switch, next to _config.yml
DEFAULT_BOOK_PROFILE = "cpu"  # what the book shows when no _study.json exists


def book_dir() -> Path:
    """``<repo>/book``."""
    return paths.repo_root() / "book"


# ---- the book's profile -------------------------------------------------------------------------
def write_study(profile: str, book: Path | None = None) -> Path:
    """Write ``book/_study.json`` so that the pages render ``profile``."""
    get_profile(profile)
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
    get_profile(profile)
    return str(profile)


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
