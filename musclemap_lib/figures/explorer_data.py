"""The data behind the book's explorer page: scores, per-activity AP, clip frames, launch links.

:func:`load_explorer_data` gathers, for a profile, every scored run's scores on the four
evaluation splits as thousandths in ``uint16`` arrays (what the page shows, to three decimals),
the AP of each muscle group on each new activity (:func:`activity_ap`), and, when the profile's
data folder exists, a small JPEG strip of a few clips per activity (:func:`load_sprites`).
:mod:`musclemap_lib.figures.explorer` turns it into the page.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musclemap_lib.muscles import NUM_MUSCLES

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("known_test", "new_test", "known_val", "new_val")
NEW_SPLITS: tuple[str, ...] = ("new_test", "new_val")  # the per-activity view's splits
FRAME_SPLITS: tuple[str, ...] = ("known_test", "new_test")  # splits whose clips get frames
FRAME_CLIPS_PER_ACTIVITY = 4  # clips with frames per activity and test split
SPRITE_FRAMES = 4  # frames per clip, evenly spaced over the clip
SPRITE_HEIGHT = 64  # pixels per frame in the sprite (the cpu profile's clips are 96 px)
SPRITE_QUALITY = 70  # JPEG quality of the sprites
DEFAULT_MODELS: tuple[str, str] = ("transm3e", "mvitv2_s_pt")  # first and second model shown
NO_VALUE = np.iinfo(np.uint16).max  # "no score" / "no AP" in the uint16 arrays
SCALE = 1000  # scores and APs are stored as round(value * SCALE)
NOTEBOOK = "notebooks/explore.ipynb"  # the kernel explorer that the launch links open
_CLIP_ID = re.compile(r"^(?P<activity>.+)-s\d+-c\d+$")  # MuscleMap-Synth clip ids


# ------------------------------------------------------------------------------------------------
# The data behind the page
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SplitClips:
    """The clips of one split as every experiment scored them.

    Attributes:
        clip_ids: ``N`` clip ids, in the order of the first experiment's ``scores.npz``.
        activity: ``(N,)`` index into ``activities`` per clip.
        activities: activity names of the split, sorted.
        labels: ``(N, 20)`` uint8 multi-hot ground truth.
    """

    clip_ids: tuple[str, ...]
    activity: np.ndarray
    activities: tuple[str, ...]
    labels: np.ndarray


@dataclass(frozen=True)
class ExplorerData:
    """Everything the page shows, computed from ``results/<profile>`` (and the data folder).

    Attributes:
        profile: the study profile.
        experiments: run folders with a ``scores.npz``, in menu order (by display name).
        names: experiment -> display name.
        splits: split -> its clips (splits that some experiment scored).
        scores: experiment -> split -> ``(N, 20)`` uint16 thousandths (``NO_VALUE``: not scored).
        ap: experiment -> new split -> ``(A, 21)`` uint16 thousandths of :func:`activity_ap`
            (20 groups, then the mean over the activity's active groups; ``NO_VALUE``: no AP).
        sprites: clip id -> ``data:image/jpeg;base64,...`` strip of :data:`SPRITE_FRAMES` frames.
        frames_note: one sentence on which clips have frames (or why none have).
    """

    profile: str
    experiments: tuple[str, ...]
    names: dict[str, str]
    splits: dict[str, SplitClips]
    scores: dict[str, dict[str, np.ndarray]]
    ap: dict[str, dict[str, np.ndarray]]
    sprites: dict[str, str] = field(default_factory=dict)
    frames_note: str = ""


def _results(results: Path | None) -> Path:
    from musclemap_lib.paths import results_dir

    return Path(results) if results is not None else results_dir()


def display_name(experiment: str) -> str:
    """The experiment's display name, or its id when :mod:`names` has none."""
    from musclemap_lib.figures.names import experiment_name

    try:
        return experiment_name(experiment)
    except ValueError:
        return experiment


def menu_label(experiment: str, name: str) -> str:
    """A model menu entry: the display name and the run folder (``"Sum (transm3e_fusion_sum)"``).

    The folder is shown because several display names only make sense inside their paper table
    ("Sum", "FL-KD"), and it says where the numbers come from.
    """
    return name if name == experiment else f"{name} ({experiment})"


def scored_experiments(profile: str, results: Path | None = None) -> list[str]:
    """Run folders (seed 0) of ``profile`` with a ``scores.npz``, sorted by display name."""
    folder = _results(results) / profile
    names = [
        p.parent.name
        for p in folder.glob("*/scores.npz")
        if not p.parent.name.startswith(".") and "--seed" not in p.parent.name
    ]
    return sorted(names, key=lambda n: (display_name(n).casefold(), n))


def clip_activity(clip_id: str) -> str:
    """The activity of a MuscleMap-Synth clip id (``"sumo_squats-s00012-c0"`` -> ``"sumo squats"``).

    ASSUMPTION: ``scores.npz`` stores no activities, and a fresh clone has no data folder, so the
    activity is read from the synth clip id (``<activity with _ for spaces>-s<source>-c<clip>``).
    Other ids (MuscleMap136 imports) give ``"(unknown)"``; their activities come from the data
    folder's manifest instead (:func:`load_explorer_data`).
    """
    m = _CLIP_ID.match(clip_id)
    return m.group("activity").replace("_", " ") if m else "(unknown)"


def _manifest_activities(data: Path | None) -> dict[str, str]:
    """clip id -> activity from the data folder's manifest ({} when there is no data folder)."""
    if data is None or not (Path(data) / "manifest.csv").is_file():
        return {}
    from musclemap_lib.data import load_manifest

    return {r.clip_id: r.activity for r in load_manifest(data)}


def _quantise(x: np.ndarray) -> np.ndarray:
    """float array -> uint16 thousandths, NaN -> NO_VALUE."""
    x = np.asarray(x, dtype=np.float64)
    q = np.where(np.isfinite(x), np.round(np.clip(x, 0.0, 1.0) * SCALE), NO_VALUE)
    return q.astype(np.uint16)


def activity_ap(scores: np.ndarray, labels: np.ndarray, activity: np.ndarray, n: int) -> np.ndarray:
    """The AP of each muscle group on each activity of a split.

    AP of group ``g`` on activity ``a``: the split's one metric
    (:func:`musclemap_lib.evaluation.metrics.per_muscle_average_precision`) on the clips of
    ``a`` together with every clip of the split where ``g`` is not active. It asks: do the
    clips of ``a`` score above the split's negatives of ``g``? A low value says where the model
    fails on that activity.

    ASSUMPTION: an AP inside one activity alone is not informative: MuscleMap-Synth (like the
    paper's activity-level annotation) labels every clip of an activity alike, so ``g`` is
    either active in all of its clips or in none. Groups not active in ``a`` get no AP (NaN).

    Args:
        scores: ``(N, 20)`` scores.
        labels: ``(N, 20)`` multi-hot labels.
        activity: ``(N,)`` activity index of each clip, in ``[0, n)``.
        n: number of activities.

    Returns:
        ``(n, 21)`` float: the 20 APs, then their mean over the groups that have one (NaN where
        an activity has no active group or no clip).
    """
    from musclemap_lib.evaluation.metrics import per_muscle_average_precision

    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    out = np.full((n, NUM_MUSCLES + 1), np.nan)
    for a in range(n):
        mine = activity == a
        if not mine.any():
            continue
        for g in np.flatnonzero(labels[mine].any(axis=0)):
            keep = mine | (labels[:, g] == 0)
            out[a, g] = per_muscle_average_precision(scores[keep][:, [g]], labels[keep][:, [g]])[0]
        if np.isfinite(out[a, :NUM_MUSCLES]).any():
            out[a, NUM_MUSCLES] = np.nanmean(out[a, :NUM_MUSCLES])
    return out


def _split_clips(
    split: str, runs: dict[str, dict[str, Any]], activities: dict[str, str]
) -> SplitClips | None:
    """The clip list of one split (the first run's order) and its labels; checks the others."""
    from musclemap_lib.muscles import multihot_to_names

    first = next((e for e, r in runs.items() if split in r), None)
    if first is None:
        return None
    ref = runs[first][split]
    truth = dict(zip(ref.clip_ids, np.asarray(ref.labels, dtype=np.uint8), strict=True))
    for exp, r in runs.items():
        if split not in r:
            continue
        for cid, lab in zip(r[split].clip_ids, np.asarray(r[split].labels), strict=True):
            if cid in truth and not np.array_equal(truth[cid], lab):
                raise ValueError(
                    f"{exp} and {first} disagree on the labels of clip {cid!r} ({split}): "
                    f"{multihot_to_names(lab)} vs {multihot_to_names(truth[cid])}; the runs were "
                    "scored on different data sets (rerun them on one)"
                )
    acts = [activities.get(c) or clip_activity(c) for c in ref.clip_ids]
    names = tuple(sorted(set(acts)))
    index = {a: i for i, a in enumerate(names)}
    return SplitClips(
        clip_ids=tuple(ref.clip_ids),
        activity=np.array([index[a] for a in acts], dtype=np.uint16),
        activities=names,
        labels=np.asarray(ref.labels, dtype=np.uint8),
    )


def _aligned(clip_ids: Sequence[str], scored: Any) -> np.ndarray:
    """A run's scores in the split's clip order (NaN for clips the run did not score)."""
    if list(scored.clip_ids) == list(clip_ids):
        return np.asarray(scored.scores, dtype=np.float64)
    row = {c: i for i, c in enumerate(scored.clip_ids)}
    out = np.full((len(clip_ids), NUM_MUSCLES), np.nan)
    for i, c in enumerate(clip_ids):
        if c in row:
            out[i] = scored.scores[row[c]]
    return out


def load_explorer_data(
    profile: str,
    results: Path | None = None,
    data: str | Path | None = None,
    frames: bool = True,
) -> ExplorerData:
    """Read every ``results/<profile>/<exp>/scores.npz`` (and frames) into :class:`ExplorerData`.

    Args:
        profile: the study profile (the book's, :func:`musclemap_lib.study.book.study_profile`).
        results: the results root (default ``<repo>/results``).
        data: the data folder for activities and frames (default: the profile's
            MuscleMap-Synth folder, ``data/synth-<profile>``; it may not exist).
        frames: read the clips' frames (when the data folder exists).

    Returns:
        The page's data; no experiments when the profile has no scored run.

    Raises:
        ValueError: when two runs disagree on a clip's labels (they saw different data sets).
    """
    from musclemap_lib.evaluation.records import load_scores
    from musclemap_lib.paths import synth_dir

    if data is not None:
        data_dir: Path | None = Path(data)
    else:
        try:
            data_dir = synth_dir(profile)
        except ValueError:  # a profile without a MuscleMap-Synth folder of its own
            data_dir = None
    experiments = scored_experiments(profile, results)
    runs = {e: load_scores(_results(results) / profile / e) for e in experiments}
    activities = _manifest_activities(data_dir)
    splits: dict[str, SplitClips] = {}
    for s in SPLITS:
        clips = _split_clips(s, runs, activities)
        if clips is not None:
            splits[s] = clips
    scores: dict[str, dict[str, np.ndarray]] = {}
    ap: dict[str, dict[str, np.ndarray]] = {}
    for e, r in runs.items():
        scores[e], ap[e] = {}, {}
        for s, clips in splits.items():
            if s not in r:
                continue
            x = _aligned(clips.clip_ids, r[s])
            scores[e][s] = _quantise(x)
            if s in NEW_SPLITS:
                ok = np.isfinite(x).all(axis=1)
                ap[e][s] = _quantise(
                    activity_ap(x[ok], clips.labels[ok], clips.activity[ok], len(clips.activities))
                )
    sprites, note = (
        load_sprites(splits, data_dir)
        if frames
        else ({}, "Frames were not requested for this page.")
    )
    return ExplorerData(
        profile=profile,
        experiments=tuple(experiments),
        names={e: display_name(e) for e in experiments},
        splits=splits,
        scores=scores,
        ap=ap,
        sprites=sprites,
        frames_note=note,
    )


# ------------------------------------------------------------------------------------------------
# Frames
# ------------------------------------------------------------------------------------------------
def frame_clips(
    splits: dict[str, SplitClips], per_activity: int = FRAME_CLIPS_PER_ACTIVITY
) -> list[str]:
    """The clips that get frames: the first ``per_activity`` of each activity of the test splits.

    Not cherry-picked: the choice depends on the clip order of ``scores.npz`` only.
    """
    out: list[str] = []
    for s in FRAME_SPLITS:
        if s not in splits:
            continue
        taken: dict[int, int] = {}
        for cid, a in zip(splits[s].clip_ids, splits[s].activity.tolist(), strict=True):
            if taken.get(a, 0) < per_activity:
                taken[a] = taken.get(a, 0) + 1
                out.append(cid)
    return out


def clip_sprite(
    video: str | Path,
    frames: int = SPRITE_FRAMES,
    height: int = SPRITE_HEIGHT,
    quality: int = SPRITE_QUALITY,
) -> bytes:
    """A JPEG strip of ``frames`` frames spaced evenly over a video, each ``height`` px tall.

    Raises:
        musclemap_lib.data.video.VideoError: for a missing or unreadable video.
    """
    from PIL import Image

    from musclemap_lib.data.video import probe_video, read_frames

    n = probe_video(video).num_frames
    idx = np.unique(np.round(np.linspace(0, n - 1, frames)).astype(np.int64))
    rgb = read_frames(video, idx)  # (T, H, W, 3) uint8
    width = max(1, round(rgb.shape[2] * height / rgb.shape[1]))
    tiles = [Image.fromarray(f).resize((width, height), Image.Resampling.LANCZOS) for f in rgb]
    strip = Image.new("RGB", (width * len(tiles), height))
    for i, t in enumerate(tiles):
        strip.paste(t, (i * width, 0))
    buf = io.BytesIO()
    strip.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def load_sprites(
    splits: dict[str, SplitClips],
    data: Path | None,
    per_activity: int = FRAME_CLIPS_PER_ACTIVITY,
) -> tuple[dict[str, str], str]:
    """``(clip id -> JPEG data URI, note)`` for :func:`frame_clips`, read from the data folder.

    Without a data folder (a fresh clone has none) there are no frames and the note says so.
    """
    if data is None:
        return {}, "No frames: this profile has no data folder of its own."
    if not (Path(data) / "manifest.csv").is_file():
        return {}, (
            f"No frames: the data folder {Path(data).name}/ did not exist when this page was "
            "built (it is not committed). Generate it with `make data` and rebuild the book to "
            "see the clips."
        )
    from musclemap_lib.data import load_manifest
    from musclemap_lib.data.video import VideoError

    videos = {r.clip_id: r.video for r in load_manifest(data)}
    wanted = frame_clips(splits, per_activity)
    sprites: dict[str, str] = {}
    for cid in wanted:
        if cid not in videos:
            continue
        try:
            jpeg = clip_sprite(videos[cid])
        except VideoError as err:
            log.warning("no frames for clip %s: %s", cid, err)
            continue
        sprites[cid] = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    note = (
        f"Frames ({SPRITE_FRAMES} per clip, spaced evenly) are kept for the first "
        f"{per_activity} clips of each activity of the test splits ({len(sprites)} "
        f"clip{'' if len(sprites) == 1 else 's'} here, marked \u25a3 in the clip list); the "
        "other clips show scores only."
    )
    return sprites, note


# ------------------------------------------------------------------------------------------------
# Launch links for the kernel explorer
# ------------------------------------------------------------------------------------------------
def launch_links(config: str | Path, notebook: str = NOTEBOOK) -> list[tuple[str, str]]:
    """``(service, url)`` links that open ``notebook`` in a live kernel, from ``_config.yml``.

    Built the way sphinx-book-theme builds a page's launch buttons (``repository:`` url and
    branch, ``launch_buttons:`` binderhub_url / jupyterhub_url / colab_url), but for the
    notebook, which is not a page of the book. Only GitHub repositories are supported; an
    empty service URL gives no link.
    """
    import yaml

    cfg = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    repo = cfg.get("repository") or {}
    buttons = cfg.get("launch_buttons") or {}
    m = re.match(r"^https://github\.com/([^/]+)/([^/]+?)/?$", str(repo.get("url", "")))
    if not m:
        return []
    org, name = m.groups()
    branch = repo.get("branch") or "main"
    ui = "lab/tree" if buttons.get("notebook_interface") == "jupyterlab" else "tree"
    links: list[tuple[str, str]] = []
    if binder := str(buttons.get("binderhub_url") or "").rstrip("/"):
        links.append(("Binder", f"{binder}/v2/gh/{org}/{name}/{branch}?urlpath={ui}/{notebook}"))
    if hub := str(buttons.get("jupyterhub_url") or "").rstrip("/"):
        from urllib.parse import urlencode

        q = urlencode(
            {"repo": repo["url"], "urlpath": f"{ui}/{name}/{notebook}", "branch": branch}, safe="/"
        )
        links.append(("JupyterHub", f"{hub}/hub/user-redirect/git-pull?{q}"))
    if colab := str(buttons.get("colab_url") or "").rstrip("/"):
        links.append(("Colab", f"{colab}/github/{org}/{name}/blob/{branch}/{notebook}"))
    return links
