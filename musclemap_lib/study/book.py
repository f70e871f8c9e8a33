"""The book's side of the study: which profile its pages show, and building it.

The book learns which profile to render from ``book/_study.json`` (git-ignored, written by
:func:`write_study`): ``{"profile": "cpu"}``. Without that file the pages render the ``cpu``
profile. ``musclemap book --profile smoke`` (``make book PROFILE=smoke``) writes it too, so the
book always shows the profile that was asked for last. This file is the study's only switch for
the pages (STYLE.md forbids environment variables other than ``MUSCLEMAP_DATA_ROOT``).

The six table pages ``book/table2.md`` ... ``table7.md`` are not sources: :func:`build_book`
renders them from the one template ``book/_templates/table.md`` and each table's prose in the
catalogue (:class:`~musclemap_lib.study.paper_tables.Table`) before every build
(:func:`write_table_pages`); they are git-ignored.

Importing this module does not import torch: every book page imports it.
"""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

from musclemap_lib import paths
from musclemap_lib.study.catalogue import TABLE_NUMBERS
from musclemap_lib.study.paper_tables import get_table
from musclemap_lib.study.profiles import get_profile

STUDY_JSON = "_study.json"  # the book's profile switch, next to _config.yml
DEFAULT_BOOK_PROFILE = "cpu"  # what the book shows when no _study.json exists
TABLE_TEMPLATE = "_templates/table.md"  # the one source of every table page, under book/


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


# ---- the table pages ----------------------------------------------------------------------------
def table_page_name(number: int) -> str:
    """The file name of Table ``number``'s page in the book (listed in ``_toc.yml``)."""
    return f"table{get_table(number).number}.md"


def render_table_page(number: int, template: str) -> str:
    """Table ``number``'s page: ``template`` with its number, title, intro and notes filled in.

    Args:
        number: 2 to 7.
        template: the text of ``book/_templates/table.md``; its placeholders are ``${number}``,
            ``${title}``, ``${intro}`` and ``${notes}`` (:class:`string.Template`).

    Returns:
        The page as MyST markdown; each note becomes an admonition of its kind.

    Raises:
        ValueError: for a number outside 2-7, or a placeholder the template should not have.
    """
    table = get_table(number)
    notes = "".join(
        f":::{{admonition}} {n.title}\n:class: {n.kind}\n{n.text}\n:::\n\n" for n in table.notes
    )
    fields = {"number": table.number, "title": table.title, "intro": table.intro, "notes": notes}
    try:
        return string.Template(template).substitute(fields)
    except (KeyError, ValueError) as err:  # an unknown name, or a lone "$" (write "$$")
        allowed = ", ".join(f"${{{k}}}" for k in fields)
        raise ValueError(f"{TABLE_TEMPLATE}: bad placeholder {err}; it may use {allowed}") from None


def write_table_pages(book: Path | None = None) -> list[Path]:
    """Render ``table{N}.md`` for every table into ``book`` from ``book/_templates/table.md``.

    Every page is written on every call, even when its text is unchanged: a page left from an
    older template or catalogue never survives, and its new modification time makes Sphinx read
    and execute it again (an incremental build re-executes only the pages it re-reads).

    Returns:
        The pages written, in table order.
    """
    book = book or book_dir()
    template = (book / TABLE_TEMPLATE).read_text(encoding="utf-8")
    out = []
    for number in TABLE_NUMBERS:
        path = book / table_page_name(number)
        path.write_text(render_table_page(number, template), encoding="utf-8")
        out.append(path)
    return out


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
    """Render the book for ``profile`` (``jupyter-book build --all -n -W --keep-going``).

    The table pages are rendered from their template first (:func:`write_table_pages`).

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
    write_table_pages(book)
    # --all: Sphinx re-reads only changed sources, so a page whose results changed but whose
    # source did not (intro, dataset, reproducibility ...) would keep its old numbers.
    cmd = [str(jupyter_book()), "build", str(book), "--all", "-n", "-W", "--keep-going"]
    if output is not None:
        cmd += ["--path-output", str(output)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"the book build failed ({' '.join(cmd)}):\n{text[-6000:]}")
    return (output or book) / "_build" / "html" / "index.html"
