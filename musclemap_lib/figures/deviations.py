"""Collect the deviation and assumption tags of the code for the discrepancies page.

STYLE.md section 12 asks that every departure from the paper or the released code is tagged with
the word DEVIATION or ASSUMPTION and a colon; a choice taken from the released code where the
paper is silent or says otherwise is tagged RELEASED. Tags are found with :mod:`tokenize` in comments and
in string literals (docstrings), never in code, and only where a tag opens the comment or the
line (after indentation and ``#`` marks) or follows an opening parenthesis; the words inside a
sentence do not count (this docstring mentions them without counting).

* In a comment (also a trailing one, ``x = 1  # note (TAG ...)``) the text runs to the end of
  the comment, and on over the following comment-only lines at the same indentation until a
  blank comment line, code, or a line opening with another tag (PAPER, DEVIATION, ASSUMPTION,
  NOTE, TODO, FIXME).
* In a string (a docstring paragraph) the text runs to the end of its paragraph (a blank line,
  a line opening with another tag, or the end of the string).
* A tag that follows an opening parenthesis ends at the matching closing one.
"""

from __future__ import annotations

import io
import logging
import re
import tokenize
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("DEVIATION", "ASSUMPTION", "RELEASED")
# A tag opens a comment or a string line, or follows "(": mentions inside a sentence do not count.
# "DEVIATION (optional):" counts too: a short parenthesised qualifier may sit before the colon.
_TAG = re.compile(
    r"(?P<lead>^\s*|\(\s*)(?P<kind>DEVIATION|ASSUMPTION|RELEASED)(?:\s*\([^()]{0,40}\))?:"
)
# Any of these at the start of a comment line ends the previous tag's text.
_STOP = re.compile(r"^\s*(PAPER|DEVIATION|ASSUMPTION|RELEASED|NOTE|TODO|FIXME)\b:?")
COLUMNS: tuple[str, ...] = ("file", "line", "kind", "text", "location")


@dataclass(frozen=True)
class Tag:
    """One tag found in the code."""

    file: str  # path relative to the scanned root's parent, with "/" separators
    line: int  # 1-based line of the tag word
    kind: str  # "DEVIATION" or "ASSUMPTION"
    text: str  # the tag's text, continuation lines joined by spaces, without the tag word

    @property
    def location(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


def _clip_parenthesis(text: str, opened: bool) -> tuple[str, bool]:
    """Cut ``text`` at the ``)`` that closes an opening ``(``; return (text, closed)."""
    if not opened:
        return text, True
    depth = 1
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return text[:i], True
    return text, False


def _normalise(parts: list[str]) -> str:
    return " ".join(" ".join(p.split()) for p in parts if p.strip()).strip()


def _comment_tags(tokens: list[tokenize.TokenInfo], lines: list[str]) -> list[tuple[int, str, str]]:
    """(line, kind, text) of the tags in the comments."""
    comments = [t for t in tokens if t.type == tokenize.COMMENT]
    # Only comment-only lines may continue a tag: map line number -> (column, text after "#").
    full_line = {
        t.start[0]: (t.start[1], t.string.lstrip("#"))
        for t in comments
        if lines[t.start[0] - 1][: t.start[1]].strip() == ""
    }
    found = []
    for t in comments:
        body = t.string.lstrip("#")
        for m in _TAG.finditer(body):
            opened = "(" in m.group("lead")
            text, closed = _clip_parenthesis(body[m.end() :], opened)
            parts = [text]
            row, col = t.start[0] + 1, t.start[1]
            is_full = t.start[0] in full_line
            while row in full_line and not (opened and closed):
                ccol, ctext = full_line[row]
                if is_full and not opened:
                    if ccol != col or not ctext.strip() or _STOP.match(ctext):
                        break
                elif closed:  # a trailing comment continues only inside its parenthesis
                    break
                if not closed:
                    ctext, closed = _clip_parenthesis(ctext, True)
                parts.append(ctext)
                row += 1
            found.append((t.start[0], m.group("kind"), _normalise(parts)))
    return found


def _string_line(row: str, first: bool) -> str:
    """A string line without its indentation, a leading ``#`` (comment-style tags inside
    docstrings), or, on the first line, the string's prefix and opening quotes."""
    if first:
        row = re.sub(r"^[rRbBuUfF]*(\"\"\"|\'\'\'|\"|\')", "", row)
    return re.sub(r"^\s*#+", "", row.strip()).strip()


def _string_tags(tokens: list[tokenize.TokenInfo]) -> list[tuple[int, str, str]]:
    """(line, kind, text) of the tags inside string literals (docstrings)."""
    found = []
    for t in tokens:
        if t.type != tokenize.STRING:
            continue
        rows = [_string_line(r, first=k == 0) for k, r in enumerate(t.string.splitlines())]
        for k, row in enumerate(rows):
            for m in _TAG.finditer(row):
                opened = "(" in m.group("lead")
                text, closed = _clip_parenthesis(row[m.end() :], opened)
                parts = [text]
                for nxt in rows[k + 1 :]:
                    if opened and closed:
                        break
                    if not opened and (not nxt.strip() or _STOP.match(nxt)):
                        break
                    if not closed:
                        nxt, closed = _clip_parenthesis(nxt, True)
                    parts.append(nxt)
                text = _normalise(parts)
                text = re.sub(r"(\"\"\"|\'\'\'|\"|\')$", "", text).strip()
                found.append((t.start[0] + k, m.group("kind"), text))
    return found


def scan_file(path: Path, relative_to: Path) -> list[Tag]:
    """Every tag in one Python file, in line order.

    Raises:
        ValueError: if the file is not valid Python (tokenize fails), naming the file.
    """
    source = path.read_text(encoding="utf-8")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as err:
        raise ValueError(f"cannot read the tags of {path}: {err}; fix the file's syntax") from err
    rel = path.relative_to(relative_to).as_posix()
    lines = source.splitlines()
    raw = _comment_tags(tokens, lines) + _string_tags(tokens)
    return [Tag(rel, line, kind, text) for line, kind, text in sorted(raw)]


def collect_tags(root: str | Path | None = None) -> list[Tag]:
    """Every ``DEVIATION:`` / ``ASSUMPTION:`` tag under ``root`` (default: ``musclemap_lib/``).

    File paths are reported relative to the parent of ``root``, so the default gives
    ``musclemap_lib/models/fusion.py``.

    Raises:
        FileNotFoundError: if ``root`` is not a folder.
    """
    if root is None:
        from musclemap_lib import paths

        root = paths.repo_root() / "musclemap_lib"
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder {root} to scan for DEVIATION/ASSUMPTION tags")
    tags: list[Tag] = []
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        tags.extend(scan_file(path, root.parent))
    log.info("found %d tags in %s", len(tags), root)
    return tags


def deviations_table(root: str | Path | None = None) -> Any:
    """The tags as a DataFrame with columns ``file, line, kind, text, location``."""
    import pandas as pd

    rows = [{**asdict(t), "location": t.location} for t in collect_tags(root)]
    return pd.DataFrame(rows, columns=list(COLUMNS))
