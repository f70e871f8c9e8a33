"""The book's explorer page: its size and how long headless Chromium takes to load and draw it.

    python benchmarks/bench_explorer.py                  # build from results/, then measure
    python benchmarks/bench_explorer.py --synth-frames   # with the clips' frames (see below)
    python benchmarks/bench_explorer.py --html book/_build/html/explorer.html   # a built page

The page is built as the book builds it (``jupyter-book build -n -W`` of a book holding only
``book/explorer.md``, the book's profile, the committed ``results/``), into a temporary folder.
Frames come from the profile's data folder when it exists. ``--synth-frames`` renders only the
MuscleMap-Synth source videos of the clips that get frames (deterministic, the same frames as
``musclemap synth``) into a temporary data root first, so a fresh clone can measure the page with
its frames.

Printed: the size of ``explorer.html`` (BokehJS, frames, the rest: scores and layout), the
local scripts and styles it loads (shared by every page of the book), and the median over
``--repeats`` loads (cache disabled) of the time to the load event and to the first draw (the
score table filled). Needs ``chromium`` (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the DevTools client and the page build of the tests

# Resolves when the first draw has filled the score table: (load event ms, drawn ms), both on
# the page's clock (0 = navigation start).
_DRAWN_JS = r"""
new Promise((done, fail) => {
  const poll = () => {
    try {
      const model = Bokeh.documents[0].get_model_by_name("explorer-scores");
      if (Bokeh.index.find_one(model).el.shadowRoot.querySelector("table")) {
        const nav = performance.getEntriesByType("navigation")[0];
        return done([nav.loadEventEnd, performance.now()]);
      }
    } catch (e) { /* not rendered yet */ }
    if (performance.now() > 60000) { return fail(new Error("the explorer never drew")); }
    setTimeout(poll, 5);
  };
  poll();
});
"""


def synth_frames(profile: str, root: Path) -> Path:
    """Render the sources of the explorer's frame clips into ``root/synth-<profile>``."""
    from musclemap_lib.figures import explorer_data as D
    from musclemap_lib.synth import writer as W

    out = root / f"synth-{profile}"
    (out / "videos").mkdir(parents=True)
    (out / "skeletons").mkdir()
    splits = D.load_explorer_data(profile, data=out, frames=False).splits
    wanted = {int(m.group(1)) for c in D.frame_clips(splits) if (m := re.search(r"-s(\d+)-c", c))}
    prof = W.get_profile(profile)
    rows = []
    for plan in W.plan_sources(prof):
        if plan.index in wanted:
            rows += W.render_source((plan, prof, 0, str(out)))
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=W.MANIFEST_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return out


def sizes(page: Path) -> dict[str, int]:
    """Bytes of the page, of its parts, and of the local scripts and styles it loads."""
    raw = page.read_text(encoding="utf-8")
    bokeh = sum(len(m) for m in re.findall(r"/\* BEGIN bokeh.*?/\* END [^*]+\*/", raw, re.S))
    frames = sum(len(m) for m in re.findall(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+", raw))
    assets = {
        p.split("?")[0]
        for p in re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(_static/[^"]+)"', raw)
    }
    page_bytes = page.stat().st_size
    return {
        "page": page_bytes,
        "bokehjs": bokeh,
        "frames": frames,
        "rest": page_bytes - bokeh - frames,
        "assets": sum((page.parent / a).stat().st_size for a in assets),
        "num_frames": raw.count("data:image/jpeg;base64,"),
    }


def load_times(page: Path, repeats: int, profile_dir: Path) -> list[tuple[float, float]]:
    """(load event ms, first draw ms) of ``repeats`` fresh loads of the page from file://."""
    from test_browser import Chromium

    browser = Chromium(profile_dir)
    try:
        browser.call("Network.setCacheDisabled", cacheDisabled=True)
        out = []
        for _ in range(repeats):
            browser.open("about:blank")
            browser.open(page.as_uri())
            load_ms, drawn_ms = browser.evaluate(_DRAWN_JS, timeout=90)
            out.append((float(load_ms), float(drawn_ms)))
        return out
    finally:
        browser.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--html", type=Path, default=None, help="measure this built explorer.html")
    p.add_argument("--synth-frames", action="store_true", help="render the frame clips first")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from musclemap_lib.study.book import study_profile

    profile = study_profile()
    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        tmp = Path(tmp)
        page = args.html.resolve() if args.html is not None else None
        if page is None:
            from test_browser import build_explorer_book

            if args.synth_frames:
                t0 = time.perf_counter()
                synth_frames(profile, tmp / "data")
                os.environ["MUSCLEMAP_DATA_ROOT"] = str(tmp / "data")  # for the page's kernel
                print(f"frame clips rendered in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            page = build_explorer_book(tmp / "book")
            print(f"explorer page built in {time.perf_counter() - t0:.1f} s (profile {profile})")
        s = sizes(page)
        mb = 1e6
        print(
            f"explorer.html {s['page'] / mb:.2f} MB: BokehJS {s['bokehjs'] / mb:.2f} MB, "
            f"frames {s['frames'] / mb:.2f} MB ({s['num_frames']} clips), "
            f"scores and layout {s['rest'] / mb:.2f} MB"
        )
        print(
            f"local scripts and styles it loads (shared by the book's pages) {s['assets'] / mb:.2f}"
            f" MB; page and assets together {(s['page'] + s['assets']) / mb:.2f} MB"
        )
        times = load_times(page, args.repeats, tmp / "chromium")
        load = statistics.median(t[0] for t in times)
        drawn = statistics.median(t[1] for t in times)
        print(
            f"headless Chromium from file://, median of {len(times)}: load event {load:.0f} ms, "
            f"first draw {drawn:.0f} ms (all: {', '.join(f'{d:.0f}' for _, d in times)} ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
