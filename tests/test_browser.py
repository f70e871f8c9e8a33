"""The built book in a real browser: headless Chromium renders the index and the Table 2 page, and
drives the explorer page (issue 14) through the Chrome DevTools protocol.

The index and Table 2 tests use the smoke study of tests/test_reproduce.py (one build per
session); the explorer tests build a book of the explorer page alone from the committed results
(the book's profile, ``book/_study.json``, default cpu) and check that it makes no network
request. Chromium is Debian's ``chromium`` (``.ci/run`` installs it when it runs as root); without
it the tests are skipped with a visible reason. Chromium starts with its network features off:
the machines have no network.
The screenshots are kept in the test's temporary folder (their paths are printed).
"""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
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


# Headless, offline and quiet: no GPU, no first-run or background network traffic.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _chromium(profile_dir: Path, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
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


# ------------------------------------------------------------------------------------------------
# The explorer page (issue 14): driven through the Chrome DevTools protocol
# ------------------------------------------------------------------------------------------------
# Request schemes that never leave the machine. Anything else (http, https, ws, ftp, ...) that the
# page asks for is a network request, and fails the test.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
# jupyter-book 1.0.4 with sphinx-thebe declares this constant twice on every page (also without
# the explorer); the second declaration is a SyntaxError in its own <script> and harms nothing.
KNOWN_PAGE_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)


class Chromium:
    """Headless Chromium driven through the DevTools protocol over ``--remote-debugging-pipe``.

    The protocol travels over file descriptors 3 (commands in) and 4 (replies out), so no port is
    opened and no websocket library is needed. ``Network.enable`` makes Chromium report every
    request the page starts (``Network.requestWillBeSent``, ``Network.webSocketCreated``) before
    anything is resolved or sent; :meth:`requests` lists them. ``--host-resolver-rules`` also
    maps every host name to "not found", so a request that slipped through could not leave.
    """

    def __init__(self, profile_dir: Path, width: int = 1300, height: int = 2200) -> None:
        assert CHROMIUM is not None
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def _fds() -> None:  # in the child: the protocol's descriptors 3 and 4
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                *CHROMIUM_FLAGS,
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--window-size={width},{height}",
                f"--user-data-dir={profile_dir}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(cmd_r)
        os.close(out_w)
        self._buf = b""
        self._id = 0
        self._session: str | None = None
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Network", "Page", "Runtime"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _message(self, timeout: float) -> dict:
        end = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self._out_r], [], [], left)[0]:
                raise TimeoutError(f"Chromium sent nothing for {timeout:.0f} s")
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        """Send one protocol command and return its result (events seen meanwhile are kept)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if self._session is not None and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self._session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._message(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        """The next event called ``method`` (one already received counts)."""
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            e = self._message(timeout)
            if e.get("method") == method:
                return e
            self.events.append(e)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str, timeout: float = 60):
        """The value of a JavaScript expression in the page (promises are awaited)."""
        r = self.call(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in r:
            raise RuntimeError(json.dumps(r["exceptionDetails"])[:3000])
        return r["result"].get("value")

    def requests(self) -> list[str]:
        """Every URL the page asked for (requests and websockets), in order."""
        self.evaluate("0")  # collects the events that arrived in the meantime
        return [
            e["params"]["request"]["url"] if "request" in e["params"] else e["params"]["url"]
            for e in self.events
            if e.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated")
        ]

    def page_errors(self) -> list[str]:
        """Uncaught JavaScript exceptions of the page."""
        self.evaluate("0")
        return [
            e["params"]["exceptionDetails"].get("exception", {}).get("description")
            or e["params"]["exceptionDetails"].get("text", "")
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
        ]

    def screenshot(self, out: Path) -> Path:
        """A PNG of the whole page."""
        png = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        out.write_bytes(base64.b64decode(png["data"]))
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            self.proc.kill()
        self.proc.wait(timeout=30)


def network_requests(urls: list[str], root: Path) -> list[str]:
    """The URLs that are network requests, or local files outside the built book ``root``."""
    bad = []
    for u in urls:
        if not u.startswith(LOCAL_SCHEMES):
            bad.append(u)
        elif u.startswith("file:") and not u.startswith(root.resolve().as_uri()):
            bad.append(u)
    return bad


def build_explorer_book(dst: Path) -> Path:
    """Build a book of the explorer page alone (book/_config.yml, book/explorer.md) into ``dst``.

    The page reads the book's profile (``book/_study.json``, default cpu) and the repository's
    ``results/`` as in the whole book; ``jupyter-book build -n -W`` fails on any warning.

    Returns:
        The built ``explorer.html``.
    """
    from musclemap_lib.study.book import book_dir, jupyter_book

    src = dst / "book"
    src.mkdir(parents=True)
    for name in ("_config.yml", "explorer.md", "references.bib"):
        shutil.copy2(book_dir() / name, src / name)
    (src / "_toc.yml").write_text("format: jb-book\nroot: explorer\n", encoding="utf-8")
    cmd = [str(jupyter_book()), "build", str(src), "-n", "-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return src / "_build" / "html" / "explorer.html"


# JavaScript helpers put into the page: pick an option of a Bokeh Select through its <select>
# element (as a reader does), and read what the page shows.
_PAGE_JS = r"""
window.mm = {
  view(name) {
    const model = Bokeh.documents[0].get_model_by_name(name);
    return Bokeh.index.find_one(model);
  },
  choose(name, pick) {  // pick: (option text, index) -> bool
    const sel = mm.view(name).el.shadowRoot.querySelector("select");
    const opt = Array.from(sel.options).find((o, i) => pick(o.textContent, i));
    if (!opt) { throw new Error(name + ": no such option"); }
    sel.value = opt.value;
    sel.dispatchEvent(new Event("change", { bubbles: true }));
    return opt.textContent;
  },
  options(name) {
    const sel = mm.view(name).el.shadowRoot.querySelector("select");
    return Array.from(sel.options).map((o) => o.textContent);
  },
  state() {
    const doc = Bokeh.documents[0], get = (n) => doc.get_model_by_name(n);
    const root = mm.view("explorer-scores").el.shadowRoot, table = root.querySelector("table");
    const rows = {};
    for (const tr of table.querySelectorAll("tbody tr")) {
      const td = (c) => tr.querySelector("td." + c);
      rows[tr.dataset.muscle] = {
        truth: td("mm-truth").textContent, a: td("score-a").textContent,
        mark_a: td("mark-a").dataset.mark, b: td("score-b").textContent,
        mark_b: td("mark-b").dataset.mark,
      };
    }
    const body = (side) => {
      const d = get("explorer-body-" + side).data;
      return Array.from(d.m).map((m, i) => [m, d.score[i], d.line_width[i]]);
    };
    const frames = mm.view("explorer-frames").el.shadowRoot;
    return {
      split: get("explorer-split").value, clip: get("explorer-clip").value,
      model_a: get("explorer-model-a").value, model_b: get("explorer-model-b").value,
      table: { clip: table.dataset.clip, model_a: table.dataset.modelA,
               model_b: table.dataset.modelB, rows: rows },
      body_a: body("a"), body_b: body("b"),
      frames: { img: frames.querySelectorAll("img").length,
                text: frames.textContent },
      ap_title: get("explorer-ap-figure").title.text, ap_cells: get("explorer-ap").data.ap.length,
    };
  },
};
new Promise((done, fail) => {  // wait until the first draw filled the score table
  const t0 = performance.now();
  const poll = () => {
    try {
      if (mm.view("explorer-scores").el.shadowRoot.querySelector("table")) { return done(true); }
    } catch (e) { /* not rendered yet */ }
    if (performance.now() - t0 > 30000) { return fail(new Error("the explorer never drew")); }
    setTimeout(poll, 25);
  };
  poll();
});
"""


def _synth_first_clip(profile: str, root: Path) -> str | None:
    """Render the source video of the page's first clip into ``root/synth-<profile>``.

    The page then has frames for that clip only (a data folder need not be complete), which
    tests both the frames and the "no frames" state in one page. None when the profile is not a
    MuscleMap-Synth one.
    """
    from musclemap_lib.evaluation.records import load_scores
    from musclemap_lib.figures.explorer_data import DEFAULT_MODELS
    from musclemap_lib.paths import results_dir
    from musclemap_lib.synth import writer as W

    clip = load_scores(results_dir(profile) / DEFAULT_MODELS[0])["new_test"].clip_ids[0]
    m = re.search(r"-s(\d+)-c\d+$", clip)
    if m is None or profile not in W.PROFILES:
        return None
    prof = W.get_profile(profile)
    plan = next(p for p in W.plan_sources(prof) if p.index == int(m.group(1)))
    out = root / f"synth-{profile}"
    (out / "videos").mkdir(parents=True)
    (out / "skeletons").mkdir()
    rows = W.render_source((plan, prof, 0, str(out)))
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=W.MANIFEST_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return clip


@pytest.fixture(scope="module")
def explorer_html(tmp_path_factory) -> Path:
    """The explorer page built by jupyter-book (the book's profile, the committed results).

    The data root (``MUSCLEMAP_DATA_ROOT``, read by the page's kernel) holds the first clip's
    video only.
    """
    from musclemap_lib.figures.explorer_data import DEFAULT_MODELS, scored_experiments
    from musclemap_lib.study.book import study_profile

    profile = study_profile()
    found = scored_experiments(profile)
    if len(found) < 3 or not set(DEFAULT_MODELS) <= set(found):
        pytest.skip(f"results/{profile} lacks the explorer's runs: run `make reproduce`")
    tmp = tmp_path_factory.mktemp("explorer-book")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSCLEMAP_DATA_ROOT", str(tmp / "data"))
        _synth_first_clip(profile, tmp / "data")
        return build_explorer_book(tmp)


@pytest.fixture
def browser(tmp_path):
    chromium = Chromium(tmp_path / "chromium-cdp")
    yield chromium
    chromium.close()


def test_the_network_check_fails_when_a_page_makes_a_request(browser, tmp_path):
    """The check below is real: a page that asks for a CDN script, an image and a fetch fails it."""
    page = tmp_path / "online.html"
    page.write_text(
        "<html><head><script src='https://cdn.example.invalid/lib.js'></script></head><body>"
        "<img src='http://img.example.invalid/a.png'>"
        "<script>fetch('https://api.example.invalid/x').catch(() => 0)</script></body></html>",
        encoding="utf-8",
    )
    browser.open(page.as_uri())
    browser.evaluate("new Promise((r) => setTimeout(r, 500))")
    bad = network_requests(browser.requests(), tmp_path)
    assert {"https://cdn.example.invalid/lib.js", "http://img.example.invalid/a.png"} <= set(bad)
    assert "https://api.example.invalid/x" in bad
    assert page.as_uri() not in bad  # the page itself is a local file


def test_explorer_page_has_launch_buttons_and_the_study_footer(explorer_html):
    import yaml

    from musclemap_lib.study.book import book_dir

    cfg = yaml.safe_load((book_dir() / "_config.yml").read_text(encoding="utf-8"))
    repo = cfg["repository"]["url"].removeprefix("https://github.com/")
    raw = explorer_html.read_text(encoding="utf-8")
    # sphinx-book-theme's launch buttons of this (notebook) page, and our links to the notebook
    assert f"mybinder.org/v2/gh/{repo}/{cfg['repository']['branch']}?urlpath=" in raw
    assert f"colab.research.google.com/github/{repo}/blob/" in raw
    assert re.search(r"launch-buttons|Launch on", raw), "no launch button in the page header"
    assert "notebooks/explore.ipynb" in raw
    assert "2026 MuscleMap Study" in raw and "Copyright 2023" not in raw
    # every script and style is in the page or next to it, none comes from another address
    for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", raw):
        m = re.search(r'\b(?:src|href)="([^"]+)"', tag)
        if m and not tag.startswith('<link rel="canonical'):
            assert not re.match(r"^(https?:)?//", m.group(1)), f"remote resource: {tag}"
    size = sum(
        (explorer_html.parent / p.split("?")[0]).stat().st_size
        for p in re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(_static/[^"]+)"', raw)
    )
    total = explorer_html.stat().st_size + size
    print(
        f"explorer.html {explorer_html.stat().st_size / 1e6:.2f} MB, "
        f"with assets {total / 1e6:.2f} MB"
    )
    assert total < 8e6


def _expected(profile: str, exp: str, split: str, clip: str) -> tuple[np.ndarray, np.ndarray]:
    from musclemap_lib.evaluation.records import load_scores
    from musclemap_lib.paths import results_dir

    s = load_scores(results_dir(profile) / exp)[split]
    i = s.clip_ids.index(clip)
    return np.asarray(s.scores[i], dtype=np.float64), np.asarray(s.labels[i])


def _check_state(state: dict, profile: str) -> None:
    """The score table and both body maps show the clip's values of scores.npz."""
    from musclemap_lib.muscles import MUSCLE_GROUPS

    assert state["table"]["clip"] == state["clip"]
    assert (state["table"]["model_a"], state["table"]["model_b"]) == (
        state["model_a"],
        state["model_b"],
    )
    truth = None
    for side in ("a", "b"):
        want, labels = _expected(profile, state[f"model_{side}"], state["split"], state["clip"])
        truth = labels if truth is None else truth
        assert np.array_equal(labels, truth)
        for g, muscle in enumerate(MUSCLE_GROUPS):
            row = state["table"]["rows"][muscle]
            shown = float(row[side])
            assert abs(shown - want[g]) <= 5e-4 + 1e-6, (side, muscle, shown, want[g])
            active = bool(labels[g])
            assert row["truth"] == ("active" if active else "")
            pred = shown >= 0.5  # marks follow the score as shown (three decimals)
            mark = "true" if pred and active else "missed" if active else "false" if pred else ""
            assert row[f"mark_{side}"] == mark, (side, muscle)
        for m, score, width in state[f"body_{side}"]:
            assert abs(score - want[m]) <= 5e-4 + 1e-6, (side, MUSCLE_GROUPS[m], score, want[m])
            assert (width > 1.0) == bool(labels[m]), (side, MUSCLE_GROUPS[m], width)


def test_explorer_follows_the_selections_with_the_values_of_scores_npz(
    explorer_html, browser, tmp_path
):
    from musclemap_lib.figures.explorer_data import (
        DEFAULT_MODELS,
        display_name,
        menu_label,
        scored_experiments,
    )
    from musclemap_lib.study.book import study_profile

    profile = study_profile()
    browser.open(explorer_html.as_uri())
    assert browser.evaluate(_PAGE_JS, timeout=90) is True
    first = browser.evaluate("mm.state()")
    assert (first["model_a"], first["model_b"]) == DEFAULT_MODELS
    assert first["split"] == "new_test" and first["ap_cells"] > 0
    _check_state(first, profile)
    # the first clip has frames (the fixture rendered its video), marked in the clip menu
    assert first["frames"]["img"] == 1, first["frames"]["text"]
    assert browser.evaluate("mm.options('explorer-clip')")[0] == f"{first['clip']} \u25a3"

    # another experiment: the table and the first body map change to its scores
    other = next(e for e in scored_experiments(profile) if e not in DEFAULT_MODELS)
    label = menu_label(other, display_name(other))
    browser.evaluate(f"mm.choose('explorer-model-a', (t) => t === {label!r})")
    second = browser.evaluate("mm.state()")
    assert second["model_a"] == other and second["clip"] == first["clip"]
    _check_state(second, profile)
    assert second["table"]["rows"] != first["table"]["rows"]

    # another split, an activity and a clip of it
    browser.evaluate("mm.choose('explorer-split', (t) => t === 'known test')")
    browser.evaluate("mm.choose('explorer-activity', (t, i) => i === 2)")
    browser.evaluate("mm.choose('explorer-clip', (t, i) => i === 1)")
    third = browser.evaluate("mm.state()")
    assert third["split"] == "known_test" and third["clip"] != first["clip"]
    _check_state(third, profile)
    assert third["frames"]["img"] == 0 and "No frames kept" in third["frames"]["text"]

    # the second model
    browser.evaluate(
        f"mm.choose('explorer-model-b', (t) => t === {DEFAULT_MODELS[0]!r} || "
        f"t.startsWith('{display_name(DEFAULT_MODELS[0])} ('))"
    )
    fourth = browser.evaluate("mm.state()")
    assert fourth["model_b"] == DEFAULT_MODELS[0]
    _check_state(fourth, profile)

    # the per-activity view follows its own model menu
    browser.evaluate(f"mm.choose('explorer-ap-model', (t) => t === {label!r})")
    assert display_name(other) in browser.evaluate("mm.state()")["ap_title"]

    shot = browser.screenshot(tmp_path / "explorer.png")
    print(f"screenshot: {shot}")
    errors = [e for e in browser.page_errors() if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    assert not errors, errors
    urls = browser.requests()
    assert explorer_html.as_uri() in urls, "the request log saw no page load"
    bad = network_requests(urls, explorer_html.parent)
    assert not bad, f"the explorer page made network requests: {bad}"
