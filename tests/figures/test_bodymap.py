"""The body map: every muscle group is drawn, shading follows the probabilities, truth outlines."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from musclemap_lib.figures.bodymap import REGIONS, SILHOUETTE, draw_body_map, regions_by_muscle
from musclemap_lib.muscles import MUSCLE_GROUPS, names_to_multihot


def _patches(fig) -> dict[str, list]:
    """gid -> patches, over all axes of a figure (region patches only)."""
    out: dict[str, list] = {}
    for ax in fig.axes:
        for p in ax.patches:
            gid = p.get_gid()
            if gid:
                view, muscle, _ = gid.split(":")
                out.setdefault(muscle, []).append((view, p))
    return out


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_every_muscle_group_has_a_region_and_no_unknown_ids():
    views = regions_by_muscle()
    assert set(views) == set(MUSCLE_GROUPS)
    assert all(views[m] for m in MUSCLE_GROUPS), [m for m in MUSCLE_GROUPS if not views[m]]
    for view, regions in REGIONS.items():
        assert set(regions) <= set(MUSCLE_GROUPS), (view, set(regions) - set(MUSCLE_GROUPS))
    # anatomy: front-only and back-only groups sit on the right view
    assert views["chest"] == ["front"] and views["biceps"] == ["front"]
    assert views["gluteus"] == ["back"] and views["upper_back"] == ["back"]


def test_drawn_figure_holds_a_patch_for_every_group():
    fig = draw_body_map(np.full(20, 0.5))
    drawn = _patches(fig)
    assert set(drawn) == set(MUSCLE_GROUPS)
    # bilateral shapes are mirrored: a group drawn by mirrored shapes has patches on both sides
    xs = [p.get_xy()[:, 0].mean() for _, p in drawn["biceps"]]
    assert min(xs) < 0 < max(xs)


def test_regions_lie_inside_the_figure_frame():
    for regions in REGIONS.values():
        for shapes in regions.values():
            for shape in shapes:
                for xy in shape.outlines():
                    assert np.all(np.abs(xy[:, 0]) < 46) and np.all(
                        (xy[:, 1] > 0) & (xy[:, 1] < 200)
                    )
    assert len(SILHOUETTE) > 5


def test_shading_follows_the_probabilities():
    probs = np.zeros(20)
    probs[MUSCLE_GROUPS.index("chest")] = 1.0
    fig = draw_body_map(probs)
    drawn = _patches(fig)
    hot = drawn["chest"][0][1].get_facecolor()
    cold = drawn["triceps"][0][1].get_facecolor()
    assert not np.allclose(hot, cold)
    # monotone in p for the default (sequential) colour map: darker = larger p
    fig2 = draw_body_map(np.linspace(0, 1, 20))
    d2 = _patches(fig2)
    lum = [np.mean(d2[m][0][1].get_facecolor()[:3]) for m in MUSCLE_GROUPS]
    assert np.all(np.diff(lum) <= 1e-9) and lum[0] > lum[-1]


def test_truth_outlines_only_the_active_groups():
    truth = names_to_multihot(["quadriceps", "gluteus"])
    fig = draw_body_map(np.full(20, 0.3), truth=truth)
    for muscle, patches in _patches(fig).items():
        widths = {p.get_linewidth() for _, p in patches}
        if muscle in ("quadriceps", "gluteus"):
            assert min(widths) >= 1.5, muscle
        else:
            assert max(widths) < 1.0, muscle


def test_axes_options_single_and_pair():
    fig, ax = plt.subplots()
    assert draw_body_map(np.zeros(20), ax=ax, colorbar=False) is fig
    assert len(_patches(fig)) == 20
    fig2, pair = plt.subplots(1, 2)
    draw_body_map(np.zeros(20), ax=pair, title="t")
    assert {g.split(":")[0] for a in pair for p in a.patches if (g := p.get_gid())} == {
        "front",
        "back",
    }
    assert any(p.get_gid() and p.get_gid().startswith("back") for p in pair[1].patches)
    assert not any(p.get_gid() and p.get_gid().startswith("back") for p in pair[0].patches)


@pytest.mark.parametrize(
    "probs, match",
    [(np.zeros(19), "shape"), (np.full(20, 1.5), r"\[0, 1\]"), (np.full(20, np.nan), r"\[0, 1\]")],
)
def test_bad_probabilities_are_refused(probs, match):
    with pytest.raises(ValueError, match=match):
        draw_body_map(probs)


def test_bad_truth_is_refused():
    with pytest.raises(ValueError):
        draw_body_map(np.zeros(20), truth=np.full(20, 0.5))
