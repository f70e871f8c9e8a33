"""The book builds offline with no warnings, and its pages hold what they promise."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from musclemap_lib import paths
from musclemap_lib.figures.deviations import deviations_table

BOOK = paths.repo_root() / "book"
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
# Signs of a network fetch in a Sphinx/Jupyter Book log.
NETWORK = re.compile(
    r"intersphinx inventory|https?://\S+\.(inv|json)|urlopen|Max retries|download", re.I
)


def _text(page: Path) -> str:
    raw = page.read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, set[str]]:
    """Build a copy of book/ (its own _build untouched) into a temporary folder.

    Also returns the tag locations seen just before the build, so that a source file edited while
    the book builds does not make the page look stale.
    """
    if not JUPYTER_BOOK.exists():
        pytest.skip(f"jupyter-book not found at {JUPYTER_BOOK}; run `make setup`")
    before = set(deviations_table()["location"])
    tmp = tmp_path_factory.mktemp("book")
    shutil.copytree(BOOK, tmp / "book", ignore=shutil.ignore_patterns("_build", "runs"))
    out = tmp / "out"
    proc = subprocess.run(
        [
            str(JUPYTER_BOOK),
            "build",
            str(tmp / "book"),
            "-n",
            "-W",
            "--keep-going",
            "--path-output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the book build failed:\n{log[-6000:]}"
    return out / "_build" / "html", log, before


@pytest.mark.slow
def test_build_has_no_warning_and_no_network_fetch(built):
    _, log, _ = built
    assert "WARNING" not in log, log[-4000:]
    assert not NETWORK.search(log), NETWORK.search(log).group(0)


@pytest.mark.slow
def test_pages_in_the_toc_exist(built):
    html_dir, _, _ = built
    for page in ("intro.html", "discrepancies.html"):
        assert (html_dir / page).is_file(), page
    assert "Activated muscle group estimation" in _text(html_dir / "intro.html")


@pytest.mark.slow
def test_discrepancies_page_lists_every_tag_and_the_released_code_differences(built):
    html_dir, _, before = built
    raw = (html_dir / "discrepancies.html").read_text(encoding="utf-8")
    text = _text(html_dir / "discrepancies.html")
    assert 'class="deviations-table' in raw or "deviations-table" in raw
    tags = deviations_table()
    stable = before & set(tags["location"])  # unchanged while the book was being built
    assert len(stable) > 0
    missing = sorted(loc for loc in stable if loc not in text)
    assert not missing, f"tags missing from the page: {missing[:5]}"
    # the glued count matches the collector (no typed numbers)
    assert re.search(r"The code holds (\d+) tags", text)
    if before == set(tags["location"]):
        assert f"The code holds {len(tags)} tags" in text
    # the paper-vs-released table: all 29 rows of official-code.md section 4
    assert "aux_modality" in text and "teacher stochasticity" in text
    rows = re.findall(r"<tr[^>]*>\s*<td[^>]*>\s*(?:<p>)?(\d+)(?:</p>)?\s*</td>", raw)
    assert {int(r) for r in rows} >= set(range(1, 30))
