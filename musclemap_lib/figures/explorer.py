"""The book's explorer: one self-contained HTML fragment that needs no kernel, server or network.

``notebooks/explore.ipynb`` (:mod:`musclemap_lib.figures.widgets`) needs a live Jupyter kernel.
The book is static HTML, so ``book/explorer.md`` shows this page instead: a Bokeh layout whose
callbacks are JavaScript (``CustomJS``), with BokehJS and every number it shows inlined in the
page (``Resources(mode="inline")``). It works from ``file://`` and from GitHub Pages alike and
loads nothing from a CDN.

What the reader picks and sees (issue 14):

* the experiment (every run folder with a ``scores.npz`` at the profile), a second experiment
  beside it (default TransM3E against MViTv2-S), the split, the activity and the clip;
* for each of the two models, the front/back body map (the geometry of
  :func:`musclemap_lib.figures.bodymap.view_outlines`) shaded by the model's score with the
  ground truth outlined, and a table of the 20 scores with true / missed / false marks;
* a few frames of the clip, for the first :data:`FRAME_CLIPS_PER_ACTIVITY` clips of each
  activity of the test splits, when the profile's data folder exists at build time;
* per activity, for a chosen model: the AP of each muscle group on each new activity
  (:func:`activity_ap`).

Scores travel as thousandths in ``uint16`` arrays (what the table shows, to three decimals);
Bokeh serialises NumPy arrays as gzip-compressed base64, which keeps the page small.
Everything is computed in Python (:mod:`musclemap_lib.figures.explorer_data`); the JavaScript
only looks values up, marks and formats them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from musclemap_lib.figures.explorer_data import (
    DEFAULT_MODELS,
    NEW_SPLITS,
    NO_VALUE,
    SCALE,
    ExplorerData,
    load_explorer_data,
    menu_label,
)
from musclemap_lib.muscles import DISPLAY_NAMES, MUSCLE_GROUPS

log = logging.getLogger(__name__)

_TRUTH_WIDTH, _EDGE_WIDTH = 2.5, 0.6  # outline widths of active / inactive regions (pixels)
# Pixel sizes: the page fits the book's content column (about 700 px in sphinx-book-theme).
_WIDTH = 700
_BODY_WIDTH, _BODY_HEIGHT = 320, 400  # one body map (front and back); the second is wider


# ------------------------------------------------------------------------------------------------
# The Bokeh page
# ------------------------------------------------------------------------------------------------
def _palette(cmap: str = "Reds", n: int = 256) -> list[str]:
    """A Matplotlib colour map as hex colours (the body map's, so both maps read alike)."""
    import matplotlib as mpl

    cm = mpl.colormaps[cmap]
    return [mpl.colors.to_hex(cm(i / (n - 1))) for i in range(n)]


def body_map_source_data() -> tuple[dict[str, list], dict[str, list]]:
    """Columns of the body-map glyphs: ``(silhouette, regions)``, both views side by side.

    The polygons are :func:`~musclemap_lib.figures.bodymap.view_outlines` (``shared=True``),
    so the page draws the same geometry as :func:`~musclemap_lib.figures.bodymap.draw_body_map`.
    Region columns: ``xs``, ``ys``, ``m`` (muscle index), ``muscle`` (display name), ``view``,
    and the per-clip ``score``, ``active``, ``line_width``, ``line_color`` that the page's
    callback fills.
    """
    from musclemap_lib.figures.bodymap import VIEWS, view_outlines

    sil: dict[str, list] = {"xs": [], "ys": []}
    reg: dict[str, list] = {k: [] for k in ("xs", "ys", "m", "muscle", "view", "score", "active")}
    for view in VIEWS:
        outline, regions = view_outlines(view, shared=True)
        for xy in outline:
            sil["xs"].append(xy[:, 0].round(2).tolist())
            sil["ys"].append(xy[:, 1].round(2).tolist())
        for muscle, _, xy in regions:
            reg["xs"].append(xy[:, 0].round(2).tolist())
            reg["ys"].append(xy[:, 1].round(2).tolist())
            reg["m"].append(MUSCLE_GROUPS.index(muscle))
            reg["muscle"].append(DISPLAY_NAMES[muscle])
            reg["view"].append(view)
            reg["score"].append(float("nan"))
            reg["active"].append(0)
    reg["line_width"] = [_EDGE_WIDTH] * len(reg["m"])
    reg["line_color"] = ["#6f6f6f"] * len(reg["m"])
    return sil, reg


def _store(data: ExplorerData) -> dict[str, Any]:
    """The page's data as the JavaScript callback reads it (NumPy arrays become typed arrays)."""
    from musclemap_lib.figures.gradcam import MARK_STYLE, THRESHOLD
    from musclemap_lib.figures.names import split_name

    return {
        "names": dict(data.names),
        "split_names": {s: split_name(s) for s in data.splits},
        "muscles": [DISPLAY_NAMES[m] for m in MUSCLE_GROUPS],
        "muscle_ids": list(MUSCLE_GROUPS),
        "clips": {s: list(c.clip_ids) for s, c in data.splits.items()},
        "activity": {s: c.activity for s, c in data.splits.items()},
        "activities": {s: list(c.activities) for s, c in data.splits.items()},
        "labels": {s: c.labels for s, c in data.splits.items()},
        "scores": data.scores,
        "ap": data.ap,
        "sprites": dict(data.sprites),
        "frames_note": data.frames_note,
        "threshold": int(round(THRESHOLD * SCALE)),
        "scale": SCALE,
        "no_value": int(NO_VALUE),
        "marks": {k: list(v) for k, v in MARK_STYLE.items()},
        "busy": False,
    }


# ASSUMPTION: the marks follow the score as the table shows it (thousandths), so a score in
# [0.4995, 0.5) shows as 0.500 and counts as predicted, where gradcam.marks on the float would not.
# The callback of every selection (and of the document's first draw). Bokeh hands ``store`` (see
# _store) over as plain objects or Map objects, hence get/put; its arrays are typed arrays of
# shape (N, 20) stored row-major, so clip i's group g is a[i * 20 + g].
_CALLBACK_JS = r"""
const get = (o, k) => (o instanceof Map ? o.get(k) : o[k]);
const w = { model_a: w_model_a, model_b: w_model_b, split: w_split, activity: w_activity,
  clip: w_clip, ap_model: w_ap_model, ap_split: w_ap_split };
if (get(store, "busy")) { return; }  // our own option/value changes below re-enter here
const put = (o, k, v) => (o instanceof Map ? o.set(k, v) : (o[k] = v));
put(store, "busy", true);
try {
  const K = get(store, "muscles").length, SC = get(store, "scale"), NV = get(store, "no_value");
  const THR = get(store, "threshold"), MARKS = get(store, "marks"), names = get(store, "names");
  const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const fmt = (q) => (q === null || q === NV ? "\u2014" : (q / SC).toFixed(3));
  const setOpts = (sel, opts, fallback) => {  // keeps the value when it is still an option
    if (JSON.stringify(sel.options) !== JSON.stringify(opts)) { sel.options = opts; }
    const vals = opts.map((o) => (Array.isArray(o) ? o[0] : o));
    if (!vals.includes(sel.value)) { sel.value = vals.includes(fallback) ? fallback : vals[0]; }
  };
  // ---- clip selection: split -> activity -> clip ---------------------------------------------
  const split = w.split.value;
  const clips = get(get(store, "clips"), split), act = get(get(store, "activity"), split);
  const acts = get(get(store, "activities"), split), sprites = get(store, "sprites");
  setOpts(w.activity, [["", "all activities (" + clips.length + " clips)"]].concat(
    acts.map((a, i) => [String(i), a + " (" + act.filter((x) => x === i).length + ")"])), "");
  const wanted = w.activity.value === "" ? null : Number(w.activity.value);
  const mine = [];
  for (let i = 0; i < clips.length; i++) {
    if (wanted === null || act[i] === wanted) {
      mine.push([clips[i], clips[i] + (get(sprites, clips[i]) ? " \u25a3" : "")]);
    }
  }
  setOpts(w.clip, mine, mine.length ? mine[0][0] : "");
  const ci = clips.indexOf(w.clip.value), lab = get(get(store, "labels"), split);
  const truth = [];
  for (let g = 0; g < K; g++) { truth.push(lab[ci * K + g] > 0); }
  const scoresOf = (exp) => {
    const byExp = get(get(store, "scores"), exp), a = byExp ? get(byExp, split) : undefined;
    if (a === undefined) { return null; }
    const q = [];
    for (let g = 0; g < K; g++) { q.push(a[ci * K + g]); }
    return q;
  };
  const markOf = (q, g) => {
    if (q === null || q[g] === NV) { return ""; }
    const pred = q[g] >= THR;
    return pred && truth[g] ? "true" : truth[g] ? "missed" : pred ? "false" : "";
  };
  // ---- frames ----------------------------------------------------------------------------------
  const uri = get(sprites, w.clip.value);
  frames.text = '<div class="mm-frames" data-clip="' + esc(w.clip.value) + '">' + (uri
    ? '<img src="' + uri + '" alt="frames of clip ' + esc(w.clip.value) + '">'
      + '<p>' + esc(w.clip.value) + ': ' + esc(acts[act[ci]]) + '</p>'
    : '<p class="mm-none">No frames kept for clip ' + esc(w.clip.value) + ' ('
      + esc(acts[act[ci]]) + ').</p>')
    + '<p class="mm-note">' + esc(get(store, "frames_note")) + '</p></div>';
  // ---- body maps and the score table ---------------------------------------------------------
  const models = [[w.model_a.value, body_a, fig_a], [w.model_b.value, body_b, fig_b]];
  const qs = models.map(([exp, src, fig]) => {
    const q = scoresOf(exp), m = src.data.m;
    const count = { true: 0, missed: 0, false: 0 };
    for (let g = 0; g < K; g++) { const k = markOf(q, g); if (k) { count[k] += 1; } }
    fig.title.text = get(names, exp) + (q === null ? ": not scored on this split"
      : ": " + count.true + " true, " + count.missed + " missed, " + count.false + " false");
    src.data = Object.assign({}, src.data, {
      score: m.map((g) => (q === null || q[g] === NV ? NaN : q[g] / SC)),
      active: m.map((g) => (truth[g] ? 1 : 0)),
      line_width: m.map((g) => (truth[g] ? LW[0] : LW[1])),
      line_color: m.map((g) => (truth[g] ? "#111111" : "#6f6f6f")),
    });
    return q;
  });
  const ids = get(store, "muscle_ids"), mus = get(store, "muscles");
  const cell = (q, g, side) => {
    const k = markOf(q, g), mk = k ? get(MARKS, k) : null;
    return '<td class="mm-score score-' + side + '">' + fmt(q === null ? null : q[g]) + '</td>'
      + '<td class="mm-mark mark-' + side + '" data-mark="' + k + '"'
      + (mk ? ' style="color:' + mk[1] + '" title="' + k + '">' + mk[0] : '>') + '</td>';
  };
  let html = '<table class="mm-scores" data-split="' + split + '" data-clip="'
    + esc(w.clip.value) + '" data-model-a="' + esc(w.model_a.value) + '" data-model-b="'
    + esc(w.model_b.value) + '"><thead><tr><th>muscle group</th><th>ground truth</th>'
    + '<th colspan="2">'
    + esc(get(names, w.model_a.value)) + '</th><th colspan="2">' + esc(get(names, w.model_b.value))
    + '</th></tr></thead><tbody>';
  for (let g = 0; g < K; g++) {
    html += '<tr data-muscle="' + ids[g] + '"><td>' + esc(mus[g]) + '</td><td class="mm-truth">'
      + (truth[g] ? "active" : "") + '</td>' + cell(qs[0], g, "a") + cell(qs[1], g, "b") + '</tr>';
  }
  table.text = html + '</tbody></table><p class="mm-note">' + esc(w.clip.value) + " ("
    + esc(get(get(store, "split_names"), split)) + ", " + esc(acts[act[ci]]) + "). Marks: "
    + "\u2713 true (score \u2265 " + (THR / SC).toFixed(1) + " and active), \u2717 purple missed,"
    + " \u2717 red false; scores as stored in the run's scores.npz, to three decimals.</p>";
  // ---- per activity ----------------------------------------------------------------------------
  const apSplit = w.ap_split.value, apExp = w.ap_model.value;
  const apActs = get(get(store, "activities"), apSplit) || [];
  const byExp = get(get(store, "ap"), apExp), apQ = byExp ? get(byExp, apSplit) : undefined;
  const cols = mus.concat(["mean"]), xs = [], ys = [], ap = [], txt = [], tc = [];
  for (let a = 0; a < apActs.length; a++) {
    for (let g = 0; g < cols.length; g++) {
      const q = apQ === undefined ? NV : apQ[a * cols.length + g];
      xs.push(cols[g]); ys.push(apActs[a]);
      ap.push(q === NV ? NaN : q / SC); txt.push(q === NV ? "" : (q / SC).toFixed(2));
      tc.push(q !== NV && q >= 600 ? "white" : "black");  // dark cells get white digits
    }
  }
  ap_fig.y_range.factors = apActs.slice().reverse();
  ap_src.data = { x: xs, y: ys, ap: ap, text: txt, tc: tc };
  ap_fig.title.text = "AP per muscle group and activity: " + get(names, apExp) + ", "
    + get(get(store, "split_names"), apSplit) + (apQ === undefined ? " (not scored)" : "");
} finally {
  put(store, "busy", false);
}
"""

_TABLE_CSS = """
:host { font-family: var(--pst-font-family-base, sans-serif); font-size: 0.85rem; }
table.mm-scores { border-collapse: collapse; width: 100%; }
table.mm-scores th, table.mm-scores td { padding: 1px 8px; border-bottom: 1px solid #ddd; }
table.mm-scores td.mm-score { text-align: right; font-variant-numeric: tabular-nums; }
table.mm-scores td.mm-mark { font-weight: bold; width: 1.5em; }
table.mm-scores td.mm-truth { color: #111; font-weight: bold; }
.mm-note { color: #555; font-size: 0.8rem; margin: 4px 0; }
.mm-frames img { image-rendering: pixelated; width: 100%; max-width: 440px; }
.mm-none { color: #555; font-style: italic; }
"""


def explorer_layout(data: ExplorerData) -> Any:
    """The Bokeh layout of the page (selects, frames, two body maps, table, per-activity view).

    Raises:
        ValueError: when ``data`` holds no scored experiment.
    """
    from bokeh.layouts import column, row
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        Div,
        FactorRange,
        HoverTool,
        InlineStyleSheet,
        LinearColorMapper,
        Range1d,
        Select,
    )
    from bokeh.plotting import figure

    from musclemap_lib.figures.names import split_name

    if not data.experiments:
        raise ValueError(f"no scored run at profile {data.profile!r}: nothing to explore")
    exps = list(data.experiments)
    a = DEFAULT_MODELS[0] if DEFAULT_MODELS[0] in exps else exps[0]
    b = DEFAULT_MODELS[1] if DEFAULT_MODELS[1] in exps else exps[min(1, len(exps) - 1)]
    options = [(e, menu_label(e, data.names[e])) for e in exps]
    splits = list(data.splits)
    split = "new_test" if "new_test" in splits else splits[0]
    sel = dict(width=250, margin=(2, 12, 2, 0))
    w = {
        "model_a": Select(title="model", options=options, value=a, name="explorer-model-a", **sel),
        "model_b": Select(
            title="beside it", options=options, value=b, name="explorer-model-b", **sel
        ),
        "split": Select(
            title="split",
            options=[(s, split_name(s)) for s in splits],
            value=split,
            name="explorer-split",
            **sel,
        ),
        "activity": Select(
            title="activity", options=[""], value="", name="explorer-activity", **sel
        ),
        "clip": Select(title="clip", options=[""], value="", name="explorer-clip", **sel),
    }
    ap_splits = [s for s in NEW_SPLITS if s in splits] or splits[:1]
    w["ap_model"] = Select(title="model", options=options, value=a, name="explorer-ap-model", **sel)
    w["ap_split"] = Select(
        title="split",
        options=[(s, split_name(s)) for s in ap_splits],
        value=ap_splits[0],
        name="explorer-ap-split",
        **sel,
    )
    css = InlineStyleSheet(css=_TABLE_CSS)
    frames = Div(
        text="", width=_WIDTH - 270, name="explorer-frames", stylesheets=[css], disable_math=True
    )
    table = Div(text="", width=_WIDTH, name="explorer-scores", stylesheets=[css], disable_math=True)
    mapper = LinearColorMapper(palette=_palette(), low=0.0, high=1.0, nan_color="#f2f2f2")

    sil, reg = body_map_source_data()
    figs, sources = [], []
    for side in ("a", "b"):
        src = ColumnDataSource(
            data={k: list(v) for k, v in reg.items()}, name=f"explorer-body-{side}"
        )
        fig = figure(
            width=_BODY_WIDTH,
            height=_BODY_HEIGHT,
            x_range=Range1d(-92, 92),
            y_range=Range1d(-14, 202),
            tools="",
            toolbar_location=None,
            match_aspect=True,
            name=f"explorer-figure-{side}",
            title="",
        )
        fig.patches(
            "xs",
            "ys",
            source=ColumnDataSource(sil),
            fill_color="#e4e1dc",
            line_color="#9c9690",
            line_width=0.8,
        )
        r = fig.patches(
            "xs",
            "ys",
            source=src,
            fill_color={"field": "score", "transform": mapper},
            line_color="line_color",
            line_width="line_width",
        )
        fig.add_tools(
            HoverTool(
                renderers=[r],
                tooltips=[
                    ("", "@muscle (@view)"),
                    ("score", "@score{0.000}"),
                    ("active", "@active"),
                ],
            )
        )
        fig.text(
            x=[-46, 46],
            y=[-2, -2],
            text=["Front", "Back"],
            text_align="center",
            text_baseline="top",
            text_font_size="10pt",
        )
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = None
        figs.append(fig)
        sources.append(src)
    figs[1].add_layout(
        ColorBar(color_mapper=mapper, width=10, title="score", title_text_font_size="8pt"), "right"
    )
    figs[1].width = _WIDTH - _BODY_WIDTH  # the second map carries the colour bar

    cols = [DISPLAY_NAMES[m] for m in MUSCLE_GROUPS] + ["mean"]
    ap_src = ColumnDataSource(
        data={"x": [], "y": [], "ap": [], "text": [], "tc": []}, name="explorer-ap"
    )
    n_acts = max((len(data.splits[s].activities) for s in ap_splits), default=1)
    ap_fig = figure(
        width=_WIDTH,
        height=150 + 20 * n_acts,
        x_range=FactorRange(factors=cols),
        y_range=FactorRange(factors=[]),
        tools="",
        toolbar_location=None,
        x_axis_location="above",
        name="explorer-ap-figure",
        title="",
    )
    cells = ap_fig.rect(
        "x",
        "y",
        1,
        1,
        source=ap_src,
        line_color="white",
        fill_color={"field": "ap", "transform": mapper},
    )
    ap_fig.text(
        "x",
        "y",
        text="text",
        source=ap_src,
        text_align="center",
        text_color="tc",
        text_baseline="middle",
        text_font_size="7pt",
    )
    ap_fig.add_tools(HoverTool(renderers=[cells], tooltips=[("", "@y, @x"), ("AP", "@ap{0.000}")]))
    ap_fig.xaxis.major_label_orientation = 1.0
    ap_fig.axis.major_label_text_font_size = "8pt"
    ap_fig.grid.visible = False
    ap_fig.outline_line_color = None
    ap_note = Div(
        width=_WIDTH,
        disable_math=True,
        stylesheets=[css],
        text=(
            '<p class="mm-note">AP of a group on an activity: the clips of the activity ranked '
            "against the split's clips where the group is not active (blank: the group is not "
            'active in that activity). "mean" averages the activity\'s active groups. A low '
            "value says where the model fails on a new activity.</p>"
        ),
    )

    callback = CustomJS(
        args=dict(
            store=_store(data),
            **{f"w_{k}": v for k, v in w.items()},
            frames=frames,
            table=table,
            body_a=sources[0],
            body_b=sources[1],
            fig_a=figs[0],
            fig_b=figs[1],
            ap_src=ap_src,
            ap_fig=ap_fig,
            LW=[_TRUTH_WIDTH, _EDGE_WIDTH],
        ),
        code=_CALLBACK_JS,
    )
    for widget in w.values():
        widget.js_on_change("value", callback)
    heading = {"styles": {"font-weight": "bold", "margin-top": "12px"}, "disable_math": True}
    layout = column(
        row(column(*(w[k] for k in ("model_a", "model_b", "split", "activity", "clip"))), frames),
        row(*figs),
        table,
        Div(text="Per activity: where does a model fail?", **heading),
        row(w["ap_model"], w["ap_split"]),
        ap_fig,
        ap_note,
        name="explorer",
    )
    return layout, callback


def explorer_html(data: ExplorerData) -> str:
    """The page as one HTML fragment: BokehJS, the data and the layout, all inline.

    Only the BokehJS bundles the page uses (core and widgets) are inlined; nothing is loaded
    from a CDN or any other address.
    """
    from bokeh.embed import components
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=["bokeh", "bokeh-widgets"])
    from bokeh.document import Document
    from bokeh.events import DocumentReady

    layout, callback = explorer_layout(data)
    doc = Document()
    doc.add_root(layout)
    doc.js_on_event(DocumentReady, callback)  # the first draw: the default selection
    script, div = components(layout)
    return f'<div class="musclemap-explorer">\n{resources.render_js()}\n{script}\n{div}\n</div>'


def explorer_page(profile: str, results: Path | None = None, data: str | Path | None = None) -> Any:
    """What ``book/explorer.md`` displays: the explorer, or a line saying why there is none."""
    from IPython.display import HTML, Markdown

    d = load_explorer_data(profile, results, data)
    if not d.experiments:
        return Markdown(f"*No scored run at profile `{profile}` yet: run `make reproduce`.*")
    return HTML(explorer_html(d))
