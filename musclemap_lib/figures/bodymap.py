"""A body map: front and back views of a person with the 20 muscle regions shaded by probability.

The figure is drawn from data. :data:`SILHOUETTE` holds the body outline and :data:`REGIONS` the
regions, ``{view: {muscle_id: (shape, ...)}}``, in one coordinate frame per view (a person about
200 units tall, feet at y=0, centred on x=0, arms slightly away from the body so that no part
hides another). Shapes are drawn for the right half (x >= 0) and mirrored unless they say
otherwise; each muscle group appears on the view(s) where it is visible (biceps, chest and
abdominis in front; trapezius, latissimus, lower back, gluteus, hamstring and calves behind).

Each region is shaded by a colour map of its probability and drawn with a thick outline where
the ground truth says the group is active. Patches carry a ``gid`` of the form
``"<view>:<muscle_id>:<k>"`` so that tests and callers can find them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from musclemap_lib.muscles import MUSCLE_GROUPS, NUM_MUSCLES, multihot_to_indices

Point = tuple[float, float]
View = Literal["front", "back"]
VIEWS: tuple[View, ...] = ("front", "back")


@dataclass(frozen=True)
class Shape:
    """One outline of the body map, in body units (height about 200, feet at y=0).

    ``kind`` picks the meaning of ``points``:

    * ``"polygon"``: the vertices, in order.
    * ``"segment"``: a limb piece, ``(start, end)``; ``widths`` gives the width at each end.
    * ``"ellipse"``: ``(centre,)``; ``widths`` gives (width, height).
    """

    kind: Literal["polygon", "segment", "ellipse"]  # how ``points`` is read
    points: tuple[Point, ...]  # vertices, segment ends, or the centre
    widths: tuple[float, float] = (0.0, 0.0)  # segment end widths or ellipse (width, height)
    mirror: bool = True  # also draw the shape mirrored at x=0 (the other body side)

    def outlines(self) -> list[np.ndarray]:
        """The polygon(s) this shape draws, as ``(N, 2)`` arrays (two when mirrored)."""
        if self.kind == "polygon":
            xy = np.asarray(self.points, dtype=float)
        elif self.kind == "segment":
            (x0, y0), (x1, y1) = self.points
            d = np.array([x1 - x0, y1 - y0], dtype=float)
            n = np.array([-d[1], d[0]]) / np.hypot(*d)  # unit normal of the limb axis
            w0, w1 = self.widths[0] / 2, self.widths[1] / 2
            p0, p1 = np.array([x0, y0]), np.array([x1, y1])
            xy = np.stack([p0 + n * w0, p1 + n * w1, p1 - n * w1, p0 - n * w0])
        elif self.kind == "ellipse":
            (cx, cy), (w, h) = self.points[0], self.widths
            t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
            xy = np.stack([cx + w / 2 * np.cos(t), cy + h / 2 * np.sin(t)], axis=1)
        else:  # pragma: no cover - Literal guards this
            raise ValueError(f"unknown shape kind {self.kind!r}")
        if not self.mirror:
            return [xy]
        return [xy, xy * np.array([-1.0, 1.0])]


def _poly(*pts: Point, mirror: bool = True) -> Shape:
    return Shape("polygon", tuple(pts), mirror=mirror)


def _seg(a: Point, b: Point, w0: float, w1: float) -> Shape:
    return Shape("segment", (a, b), (w0, w1))


def _ell(c: Point, w: float, h: float, mirror: bool = False) -> Shape:
    return Shape("ellipse", (c,), (w, h), mirror=mirror)


# The body outline, drawn in light grey under the regions (same for both views).
SILHOUETTE: tuple[Shape, ...] = (
    _ell((0, 186), 22, 27),  # head
    _poly((0, 166), (7, 166), (7.5, 176), (0, 176)),  # neck
    _poly(
        (0, 168),
        (8, 168),
        (20, 165),
        (27, 161),
        (23, 140),
        (19, 128),
        (17, 118),
        (19, 104),
        (19.5, 96),
        (0, 96),
    ),  # torso and hips
    _seg((26.5, 158), (32.5, 122), 12, 9.5),  # upper arm
    _ell((32.5, 122), 9.5, 6, mirror=True),  # elbow
    _seg((32.5, 122), (37.5, 88), 9.5, 6.5),  # forearm
    _poly((35, 85), (40.5, 85), (42.5, 74), (40.5, 66), (37, 67), (35, 75)),  # hand
    _poly((0.5, 99), (19.5, 99), (18.5, 78), (15.5, 57), (6.5, 57), (3, 75), (0.5, 92)),  # thigh
    _ell((11, 55), 10, 7, mirror=True),  # knee
    _poly((6.5, 55), (15.5, 55), (16.5, 42), (14, 24), (12.5, 15), (8.5, 15), (7.5, 26), (5.5, 42)),
    _poly((7, 17), (14, 17), (16.5, 8), (17, 1), (6, 1), (6.5, 8)),  # foot
)

# The regions: view -> muscle id -> shapes. Every id of MUSCLE_GROUPS appears on at least one view.
REGIONS: dict[View, dict[str, tuple[Shape, ...]]] = {
    "front": {
        "neck_head": (
            _ell((0, 186), 20, 25),
            _poly((0, 166.5), (6.5, 166.5), (7, 175), (0, 175)),
        ),
        "shoulder": (
            _poly(
                (18, 165), (25, 166.5), (30, 161), (32, 151), (29.5, 143), (24.5, 147), (20.5, 157)
            ),
        ),
        "chest": (_poly((1, 161), (17, 164), (20, 157.5), (23.5, 147), (17, 139.5), (1, 141)),),
        "biceps": (_seg((28.5, 145), (32, 127), 8.5, 6.5),),
        "forearms": (_seg((33, 118.5), (36.8, 93), 8.2, 5.5),),
        "wrists": (_seg((37.2, 91), (37.9, 85.5), 6.3, 6.3),),
        "upper_abdominis": (_poly((1, 139), (10, 138.5), (10, 121.5), (1, 121.5)),),
        "lower_abdominis": (_poly((1, 120), (10, 120), (9.5, 106), (1, 102)),),
        "obliques": (
            _poly(
                (11.5, 138.5),
                (17.5, 139),
                (20.5, 130),
                (17.5, 119.5),
                (18, 106),
                (11, 104),
                (11.5, 121),
            ),
        ),
        "quadriceps": (_poly((6, 95), (16.5, 97), (16, 80), (14, 62), (8, 61), (6.2, 76)),),
        "inner_thigh": (_poly((1, 97.5), (5, 95.5), (5.2, 76), (7, 62.5), (4.5, 66), (1.5, 84)),),
        "outer_thigh": (
            _poly((17.5, 97.5), (19.3, 97), (18, 79), (15.2, 62), (14.8, 62), (17, 80)),
        ),
        "feet_ankles": (
            _poly((8.2, 24), (13.6, 24), (13.8, 17), (16, 8), (16.3, 2), (6.7, 2), (7, 8), (8, 17)),
        ),
    },
    "back": {
        "neck_head": (
            _ell((0, 186), 20, 25),
            _poly((0, 166.5), (6.5, 166.5), (7, 175), (0, 175)),
        ),
        "upper_back": (_poly((0, 172), (6.5, 169.5), (18, 164.5), (12, 155), (4, 139), (0, 132)),),
        "shoulder": (
            _poly(
                (19, 164), (25, 166.5), (30, 161), (32, 151), (29.5, 143), (24.5, 147), (21, 156.5)
            ),
        ),
        "triceps": (_seg((28.5, 145), (32, 127), 8.5, 6.5),),
        "forearms": (_seg((33, 118.5), (36.8, 93), 8.2, 5.5),),
        "wrists": (_seg((37.2, 91), (37.9, 85.5), 6.3, 6.3),),
        "latissimus": (
            _poly(
                (13, 154.5),
                (22, 154.5),
                (22.5, 143),
                (19.5, 130),
                (16, 118),
                (8, 115.5),
                (7.5, 127),
                (5, 139),
            ),
        ),
        "lower_back": (_poly((1, 130), (6.5, 127), (6.8, 105), (1, 102)),),
        "gluteus": (
            _poly(
                (1, 100.5), (8.5, 104), (17.5, 102), (19.2, 93), (17, 83.5), (9, 81.5), (1.2, 85)
            ),
        ),
        "hamstring": (
            _poly((6, 80), (15.8, 81.5), (15.5, 68), (13.5, 60), (8.5, 59.5), (6.5, 67)),
        ),
        "inner_thigh": (
            _poly((1.2, 83), (5, 80.5), (5.2, 70), (7.5, 60.5), (4.5, 63.5), (2.3, 74)),
        ),
        "outer_thigh": (
            _poly((17.6, 81.5), (19.3, 91), (18.3, 77), (15.4, 60), (14.9, 61), (16.6, 70)),
        ),
        "calves": (
            _poly(
                (6.7, 53),
                (15.3, 53),
                (16.2, 42),
                (13.7, 28),
                (12, 22),
                (9, 22),
                (7.8, 29),
                (5.9, 42),
            ),
        ),
        "feet_ankles": (_poly((8.5, 20), (12.6, 20), (13.8, 9), (13.2, 2), (7.8, 2), (7.2, 9)),),
    },
}


def regions_by_muscle() -> dict[str, list[View]]:
    """Which view(s) show each muscle group, for every id of :data:`MUSCLE_GROUPS`."""
    return {m: [v for v in VIEWS if m in REGIONS[v]] for m in MUSCLE_GROUPS}


def view_outlines(
    view: View, shared: bool = False
) -> tuple[list[np.ndarray], list[tuple[str, int, np.ndarray]]]:
    """The polygons of one view: the silhouette and the regions, as :func:`draw_body_map` draws them.

    Args:
        view: ``"front"`` or ``"back"``.
        shared: shift the view as when both views share one Axes (front left, back right).

    Returns:
        ``(silhouette, regions)``: the silhouette's ``(N, 2)`` polygons, and for each region
        polygon ``(muscle_id, k, (N, 2) polygon)``, ``k`` counting the polygons of that muscle
        group on this view (the ``k`` of the patch ``gid``).
    """
    dx = (-_VIEW_SHIFT / 2 if view == "front" else _VIEW_SHIFT / 2) if shared else 0.0
    shift = np.array([dx, 0.0])
    silhouette = [xy + shift for shape in SILHOUETTE for xy in shape.outlines()]
    regions: list[tuple[str, int, np.ndarray]] = []
    for muscle, shapes in REGIONS[view].items():
        polys = [xy + shift for shape in shapes for xy in shape.outlines()]
        regions.extend((muscle, k, xy) for k, xy in enumerate(polys))
    return silhouette, regions


def _check_probs(probs: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    if p.shape != (NUM_MUSCLES,):
        raise ValueError(
            f"draw_body_map needs one probability per muscle group, shape ({NUM_MUSCLES},); "
            f"got {p.shape}. Pass sigmoid(logits)[i] for a single clip."
        )
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise ValueError(
            f"draw_body_map needs probabilities in [0, 1]; {int(bad.sum())} value(s) are not "
            f"(first: {p[bad][0]!r} at index {int(np.flatnonzero(bad)[0])}). Apply a sigmoid to "
            "logits first."
        )
    return p


def _axes_pair(ax: Any) -> tuple[Any, Any, Any, bool]:
    """(figure, front axes, back axes, shared) from ``ax``: None, one Axes or a pair."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, (a, b) = plt.subplots(1, 2, figsize=(6.4, 6.2))
        return fig, a, b, False
    if isinstance(ax, (tuple, list, np.ndarray)):
        pair = list(np.ravel(ax))
        if len(pair) != 2:
            raise ValueError(
                f"draw_body_map takes one Axes or a (front, back) pair; got {len(pair)}"
            )
        return pair[0].figure, pair[0], pair[1], False
    return ax.figure, ax, ax, True


# Drawing constants: the body, region edges and the ground-truth outline.
_SKIN = "#e4e1dc"
_SKIN_EDGE = "#9c9690"
_EDGE = "#6f6f6f"
_TRUTH_EDGE = "#111111"
_VIEW_SHIFT = 92.0  # x offset of each view when both share one Axes


def draw_body_map(
    probs: Sequence[float] | np.ndarray,
    truth: Sequence[float] | np.ndarray | None = None,
    ax: Any = None,
    title: str | None = None,
    cmap: str = "Reds",
    colorbar: bool = True,
) -> Any:
    """Draw the front and back of a person with the 20 regions shaded by probability.

    Args:
        probs: ``(20,)`` probabilities in [0, 1], indexed like :data:`MUSCLE_GROUPS`.
        truth: optional ``(20,)`` multi-hot ground truth; active groups get a thick outline.
        ax: None (a new figure with two Axes), a ``(front, back)`` pair of Axes, or one Axes
            (both views side by side in it).
        title: figure title (suptitle for a new figure, Axes title for a single Axes).
        cmap: a Matplotlib colour map name for the probabilities (0 -> light, 1 -> dark).
        colorbar: add a colour bar labelled "probability".

    Returns:
        The Matplotlib Figure.

    Raises:
        ValueError: for probabilities of the wrong shape or outside [0, 1], or a truth vector
            that is not a 20-long multi-hot vector.
    """
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon

    p = _check_probs(probs)
    active = set(multihot_to_indices(np.asarray(truth))) if truth is not None else set()
    colormap = mpl.colormaps[cmap]
    norm = mpl.colors.Normalize(vmin=0.0, vmax=1.0)
    fig, ax_front, ax_back, shared = _axes_pair(ax)

    for view, axis in (("front", ax_front), ("back", ax_back)):
        dx = (-_VIEW_SHIFT / 2 if view == "front" else _VIEW_SHIFT / 2) if shared else 0.0
        silhouette, regions = view_outlines(view, shared)
        for xy in silhouette:
            axis.add_patch(Polygon(xy, closed=True, fc=_SKIN, ec=_SKIN_EDGE, lw=0.8, zorder=1))
        for muscle, k, xy in regions:
            i = MUSCLE_GROUPS.index(muscle)
            on = i in active
            axis.add_patch(
                Polygon(
                    xy,
                    closed=True,
                    fc=colormap(norm(p[i])),
                    ec=_TRUTH_EDGE if on else _EDGE,
                    lw=2.0 if on else 0.5,
                    zorder=3 if on else 2,
                    gid=f"{view}:{muscle}:{k}",
                )
            )
        label_y = -9.0
        axis.text(dx, label_y, view.capitalize(), ha="center", va="top", fontsize=10)
        half = 46.0 + (_VIEW_SHIFT / 2 if shared else 0.0)
        axis.set_xlim(-half, half)
        axis.set_ylim(-18, 202)
        axis.set_aspect("equal")
        axis.axis("off")

    if colorbar:
        mappable = mpl.cm.ScalarMappable(norm=norm, cmap=colormap)
        cbar = fig.colorbar(
            mappable, ax=[ax_front] if shared else [ax_front, ax_back], shrink=0.6, pad=0.02
        )
        cbar.set_label("predicted probability")
    if truth is not None:
        handle = Line2D([], [], color=_TRUTH_EDGE, lw=2.0, label="active in ground truth")
        legend_kw = dict(handles=[handle], loc="lower center", frameon=False, fontsize=9)
        if shared:
            ax_front.legend(**legend_kw, bbox_to_anchor=(0.5, -0.2))  # below the Front/Back labels
        else:
            fig.legend(**legend_kw, bbox_to_anchor=(0.45, 0.05))
    if title:
        if shared:
            ax_front.set_title(title)
        else:
            fig.suptitle(title)
    return fig
