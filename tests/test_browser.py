"""The built book in a real browser: headless Chromium renders the index and the Table 2 page.

Uses the smoke study of tests/test_reproduce.py (one build per session). Chromium is Debian's
``chromium`` (``.ci/run`` installs it when it runs as root); without it the tests are skipped with
a visible reason. Chromium starts with its network features off: the machines have no network.
The screenshots are kept in the test's temporary folder (their paths are printed).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_reproduce import smoke_study  # noqa: F401  (the session fixture: one smoke study)

from musclemap_lib import study

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the smoke study may be set up here (tests/test_reproduce.py)
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no `chromium` on PATH (Debian: apt-get install chromium; .ci/run installs it)",
    ),
]


def _chromium(profile_dir: Path, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile_dir}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _dom(page: Path, tmp_path: Path) -> str:
    proc = _chromium(tmp_path / "chromium-dom", "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _screenshot(page: Path, out: Path, tmp_path: Path) -> Path:
    proc = _chromium(
        tmp_path / "chromium-shot",
        f"--screenshot={out}",
        "--window-size=1400,2000",
        "--hide-scrollbars",
        page.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.is_file() and out.stat().st_size > 10_000, "an empty screenshot"
    return out


def test_index_renders_with_the_table_pages_in_its_navigation(smoke_study, tmp_path):  # noqa: F811
    index = smoke_study["html"] / "index.html"
    # jupyter-book's index.html redirects to the root page (--dump-dom does not wait for it)
    m = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index.read_text("utf-8"))
    if m:
        index = smoke_study["html"] / m.group(1)
    dom = _dom(index, tmp_path)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())
    assert "MuscleMap Study" in text
    for t in range(2, 8):
        assert f"table{t}.html" in dom, f"Table {t} is not linked from the index"
    shot = _screenshot(index, tmp_path / "index.png", tmp_path)
    print(f"screenshot: {shot}")


def test_table2_page_renders_every_row_with_a_number(smoke_study, tmp_path):  # noqa: F811
    page = smoke_study["html"] / "table2.html"
    dom = _dom(page, tmp_path)
    m = re.search(r'<table[^>]*class="[^"]*comparison-test[^"]*"[^>]*>(.*?)</table>', dom, re.S)
    assert m, "the Table 2 comparison table is not in the rendered DOM"
    for r in study.table_rows(2):
        tr = next(
            (t for t in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S) if r.label in t), None
        )
        assert tr is not None, f"row {r.label!r} not rendered"
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
        assert re.fullmatch(r"-?\d+\.\d", cells[0]), f"{r.label}: ours is {cells[0]!r}"
    assert re.search(r'<img[^>]+src="[^"]+\.png"', dom), "the scatter plot is not rendered"
    shot = _screenshot(page, tmp_path / "table2.png", tmp_path)
    print(f"screenshot: {shot}")
