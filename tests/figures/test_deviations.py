"""The tag collector: finds DEVIATION/ASSUMPTION tags with file:line and their full text."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from musclemap_lib.figures.deviations import collect_tags, deviations_table

TAG_D = "DEVIATION" + ":"  # spelled in two parts so this test file holds no tag itself
TAG_A = "ASSUMPTION" + ":"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    _write(
        root,
        "a.py",
        f'''\
        """Module doc.

        {TAG_D} the docstring tag runs to the end
        of its paragraph.

        Not part of it.
        """

        x = 1
        # {TAG_D} a comment tag with
        # a continuation line
        # and another one.
        #
        # not a continuation (after a blank comment line)
        y = 2  # trailing note ({TAG_A} inside parentheses) and more
        # PAPER: Eq. 1
        msg = "the word DEVIATION in a sentence does not count"
        ''',
    )
    _write(
        root,
        "sub/b.py",
        f"""\
        def f():
            # {TAG_A} indented comment
            # continued at the same indentation
            # PAPER: a different tag ends it
            # {TAG_D[:-1]} (optional): a qualified tag
            return 1
        """,
    )
    _write(root, "sub/empty.py", "z = 3\n")
    return root


def test_finds_every_tag_with_file_and_line(tree: Path):
    tags = collect_tags(tree)
    got = {(t.file, t.line, t.kind) for t in tags}
    assert got == {
        ("pkg/a.py", 3, "DEVIATION"),
        ("pkg/a.py", 10, "DEVIATION"),
        ("pkg/a.py", 15, "ASSUMPTION"),
        ("pkg/sub/b.py", 2, "ASSUMPTION"),
        ("pkg/sub/b.py", 5, "DEVIATION"),
    }
    assert {t.location for t in tags} >= {"pkg/a.py:10", "pkg/sub/b.py:2"}


def test_text_includes_continuation_lines_and_stops_where_it_should(tree: Path):
    text = {(t.file, t.line): t.text for t in collect_tags(tree)}
    assert text[("pkg/a.py", 3)] == "the docstring tag runs to the end of its paragraph."
    assert text[("pkg/a.py", 10)] == "a comment tag with a continuation line and another one."
    assert text[("pkg/a.py", 15)] == "inside parentheses"
    assert text[("pkg/sub/b.py", 2)] == "indented comment continued at the same indentation"
    assert text[("pkg/sub/b.py", 5)] == "a qualified tag"


def test_table_has_the_columns_the_book_shows(tree: Path):
    df = deviations_table(tree)
    assert list(df.columns) == ["file", "line", "kind", "text", "location"]
    assert len(df) == 5
    assert set(df["kind"]) == {"DEVIATION", "ASSUMPTION"}


def test_the_real_package_has_tags_and_none_from_the_collector_itself():
    df = deviations_table()
    assert len(df) > 0
    assert all(f.startswith("musclemap_lib/") for f in df["file"])
    assert not df["file"].str.endswith("figures/deviations.py").any()
    assert (df["text"].str.len() > 0).all()


def test_missing_folder_and_bad_syntax_are_clear_errors(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        collect_tags(tmp_path / "nope")
    _write(tmp_path / "bad", "c.py", 'x = """unterminated\n')
    with pytest.raises(ValueError, match="c.py"):
        collect_tags(tmp_path / "bad")


def test_every_tag_line_in_the_code_reaches_the_discrepancies_table():
    """An independent count: each comment line that opens with a tag is one row of the page."""
    import re

    root = Path(__file__).resolve().parents[2] / "musclemap_lib"
    opener = re.compile(r"#\s*(DEVIATION|ASSUMPTION|RELEASED)(\s*\([^()]{0,40}\))?:")
    want = set()
    for path in root.rglob("*.py"):
        if path.name == "deviations.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if opener.search(line):
                want.add((path.relative_to(root.parent).as_posix(), i))
    got = set(zip(deviations_table()["file"], deviations_table()["line"], strict=True))
    assert want, "no tag comment found"
    assert want <= got, f"tags missing from the page: {sorted(want - got)[:5]}"
    kinds = set(deviations_table()["kind"])
    assert {"DEVIATION", "ASSUMPTION", "RELEASED"} <= kinds
