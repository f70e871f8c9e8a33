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
from musclemap_lib.study.book import TABLE_TEMPLATE, render_table_page, write_table_pages
from musclemap_lib.study.catalogue import TABLE_NUMBERS
from musclemap_lib.study.paper_tables import get_table

BOOK = paths.repo_root() / "book"
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
# Signs of a network fetch in a Sphinx/Jupyter Book log.
NETWORK = re.compile(
    r"intersphinx inventory|https?://\S+\.(inv|json)|urlopen|Max retries|download", re.I
)


SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2019": "'"})


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
    write_table_pages(tmp / "book")  # as build_book does: the table pages are not sources
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
def test_table_pages_render_their_title_numbers_and_notes(built):
    html_dir, _, _ = built
    for number in TABLE_NUMBERS:
        table = get_table(number)
        raw = (html_dir / f"table{number}.html").read_text(encoding="utf-8")
        text = _text(html_dir / f"table{number}.html")
        assert f"Table {number}: {table.title}" in text
        assert "comparison-test" in raw and "comparison-val" in raw
        assert "${" not in text and "{glue" not in text  # every placeholder and glue filled
        plain = text.translate(SMART_QUOTES)  # Sphinx prints "..." and ' as curly quotes
        for note in table.notes:
            assert note.title in plain, (number, note.title)
        assert re.search(r"ranks first on new test, .+?, (reaches [\d.]+|.+no result)", text)


# ---- the table pages: one template, rendered before every build --------------------------------
def _template() -> str:
    return (BOOK / TABLE_TEMPLATE).read_text(encoding="utf-8")


def _code_cells(page: str) -> list[str]:
    return re.findall(r"^```\{code-cell\} ipython3\n(.*?)^```$", page, re.S | re.M)


@pytest.mark.parametrize("number", TABLE_NUMBERS)
def test_a_table_page_has_its_title_number_intro_and_notes(number):
    table = get_table(number)
    page = render_table_page(number, _template())
    assert f"\n# Table {number}: {table.title}\n" in page
    assert table.intro and f"\n{table.intro}\n" in page
    assert f"\nTABLE = {number}\n" in _code_cells(page)[0]  # the cell that loads and glues
    assert set(re.findall(r"`t(\d+)_\w+`", page)) == {str(number)}  # glue keys t{N}_... only
    admonitions = re.findall(r"^:::\{admonition\} (.+)\n:class: (\w+)\n", page, re.M)
    for note in table.notes:
        assert f":::{{admonition}} {note.title}\n:class: {note.kind}\n{note.text}\n:::" in page
    assert len(admonitions) == 1 + len(table.notes)  # the common warning plus the table's own


def test_the_assumption_notes_of_tables_3_and_4_are_on_their_pages():
    assert "Assumption: which printed row is which" in render_table_page(3, _template())
    assert "SP-MCTKD is the run" in render_table_page(4, _template())
    assert ":::{admonition} Assumption" not in render_table_page(5, _template())


def test_write_table_pages_renders_every_toc_table_page_and_replaces_a_stale_one(tmp_path):
    (tmp_path / TABLE_TEMPLATE).parent.mkdir()
    shutil.copy(BOOK / TABLE_TEMPLATE, tmp_path / TABLE_TEMPLATE)
    (tmp_path / "table3.md").write_text("# Table 3: an old page\n", encoding="utf-8")
    written = write_table_pages(tmp_path)
    assert [p.name for p in written] == [f"table{n}.md" for n in TABLE_NUMBERS]
    assert "an old page" not in (tmp_path / "table3.md").read_text(encoding="utf-8")
    toc = (BOOK / "_toc.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s*- file: (\S+)$", toc, re.M))
    assert {p.stem for p in written} <= listed  # every rendered page is in the book


def test_a_bad_template_placeholder_is_refused():
    with pytest.raises(ValueError, match=r"\$\{number\}"):
        render_table_page(2, "# Table ${nmber}\n")
    with pytest.raises(ValueError, match="Tables 2 to 7"):
        render_table_page(8, _template())


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
