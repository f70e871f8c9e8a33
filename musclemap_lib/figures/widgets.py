"""The explorer (``notebooks/explore.ipynb``): pick a profile, split, clip and model and look.

The callbacks are plain functions of this module (tested without a browser); :class:`Explorer`
only wires them to ipywidgets. What it shows:

* the clip's frames with a frame slider and, optionally, the skeleton overlay (needs the data
  folder of the profile, ``data/synth-<profile>``);
* the body map of the model's scores against the ground truth and a per-muscle score table
  (from the run folder's ``scores.npz``: no model, no data needed);
* Grad-CAM on demand (needs the run's checkpoint, which is never committed; a clear message
  says so when it is missing).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from musclemap_lib.muscles import MUSCLE_GROUPS

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("known_test", "new_test", "known_val", "new_val")


# ------------------------------------------------------------------------------------------------
# Callbacks (library functions)
# ------------------------------------------------------------------------------------------------
def _results(results: Path | None) -> Path:
    from musclemap_lib.paths import results_dir

    return Path(results) if results is not None else results_dir()


def available_profiles(results: Path | None = None) -> list[str]:
    """Profiles with at least one run folder holding ``scores.npz``."""
    root = _results(results)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*/scores.npz")))


def available_models(profile: str, results: Path | None = None) -> list[str]:
    """Experiments of ``profile`` with a ``scores.npz`` (the Grad-CAM-able ones first)."""
    from musclemap_lib.figures.gradcam import GRADCAM_EXPERIMENTS

    folder = _results(results) / profile
    names = sorted(p.parent.name for p in folder.glob("*/scores.npz"))
    return [n for n in GRADCAM_EXPERIMENTS if n in names] + [
        n for n in names if n not in GRADCAM_EXPERIMENTS
    ]


def load_split_scores(
    profile: str, experiment: str, split: str, results: Path | None = None
) -> Any:
    """The :class:`SplitScores` of one run and split.

    Raises:
        FileNotFoundError: when the run has no scores.npz.
        KeyError: when the run scored no such split.
    """
    from musclemap_lib.evaluation.records import SCORES_NPZ, load_scores

    folder = _results(results) / profile / experiment
    if not (folder / SCORES_NPZ).is_file():
        raise FileNotFoundError(
            f"{folder / SCORES_NPZ} does not exist: run `musclemap train {experiment} "
            f"--profile {profile}` first"
        )
    scores = load_scores(folder)
    if split not in scores:
        raise KeyError(f"{experiment} at {profile!r} has no scores for split {split!r}")
    return scores[split]


def available_clips(
    profile: str, experiment: str, split: str, results: Path | None = None
) -> list[str]:
    """Clip ids scored by ``experiment`` on ``split`` (in the scores' order)."""
    return list(load_split_scores(profile, experiment, split, results).clip_ids)


def clip_scores(
    profile: str, experiment: str, split: str, clip_id: str, results: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(scores (20,), labels (20,))`` of one clip from ``scores.npz``.

    Raises:
        KeyError: for a clip the run did not score.
    """
    s = load_split_scores(profile, experiment, split, results)
    if clip_id not in s.clip_ids:
        raise KeyError(f"{experiment} scored no clip {clip_id!r} on {split!r}")
    i = s.clip_ids.index(clip_id)
    return np.asarray(s.scores[i], dtype=float), np.asarray(s.labels[i], dtype=float)


def score_table(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> Any:
    """Per muscle group: score, ground truth and mark (true / missed / false / empty)."""
    import pandas as pd

    from musclemap_lib.figures.gradcam import marks
    from musclemap_lib.figures.names import muscle_name

    m = marks(scores, labels, threshold)
    return pd.DataFrame(
        {
            "muscle group": [muscle_name(g) for g in MUSCLE_GROUPS],
            "score": np.round(scores, 3),
            "active": labels.astype(int),
            "mark": [m.get(g, "") for g in MUSCLE_GROUPS],
        }
    )


def body_map_figure(
    profile: str, experiment: str, split: str, clip_id: str, results: Path | None = None
) -> Any:
    """The body map of one clip: scores shaded, ground truth outlined."""
    from musclemap_lib.figures.bodymap import draw_body_map
    from musclemap_lib.figures.names import experiment_name

    scores, labels = clip_scores(profile, experiment, split, clip_id, results)
    return draw_body_map(scores, labels, title=f"{experiment_name(experiment)}: {clip_id}")


def clip_frames(profile: str, split: str, clip_id: str, data: str | Path | None = None) -> dict:
    """All frames ``(N, H, W, 3)`` uint8 and skeleton ``(N, 17, 3)`` (or None) of a clip.

    Raises:
        FileNotFoundError: when the profile's data folder does not exist.
        KeyError: for a clip that is not in the split.
    """
    from musclemap_lib.data import load_manifest
    from musclemap_lib.data.video import probe_video, read_frames
    from musclemap_lib.study.profiles import data_dir

    man = load_manifest(data_dir(profile, data))
    row = next((r for r in man.split(split) if r.clip_id == clip_id), None)
    if row is None:
        raise KeyError(f"clip {clip_id!r} is not in split {split!r} of {man.root}")
    n = probe_video(row.video).num_frames
    frames = read_frames(row.video, np.arange(n))
    skel = np.load(row.skeleton) if row.skeleton is not None and row.skeleton.is_file() else None
    return {"frames": frames, "skeleton": skel, "activity": row.activity}


def frame_figure(clip: dict, frame: int, skeleton: bool = True) -> Any:
    """One frame of :func:`clip_frames` output, with the skeleton drawn over it if asked.

    Raises:
        IndexError: for a frame outside the clip.
    """
    import matplotlib.pyplot as plt

    from musclemap_lib.figures.dataset import draw_skeleton

    n = len(clip["frames"])
    if not 0 <= frame < n:
        raise IndexError(f"frame {frame} is outside the clip's {n} frames")
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    img = clip["frames"][frame]
    ax.imshow(img)
    if skeleton and clip["skeleton"] is not None:
        draw_skeleton(ax, clip["skeleton"][frame])
        ax.set_xlim(0, img.shape[1] - 1)
        ax.set_ylim(img.shape[0] - 1, 0)
    ax.set_title(f"{clip['activity']}: frame {frame + 1}/{n}", fontsize=9)
    ax.axis("off")
    return fig


def gradcam_figure(
    profile: str,
    experiment: str,
    split: str,
    clip_id: str,
    data: str | Path | None = None,
    results: Path | None = None,
) -> tuple[Any, str]:
    """Grad-CAM of one model on one clip: ``(figure, "")`` or ``(None, message)``.

    The message says why nothing was drawn: no checkpoint (checkpoints are not committed), or a
    model without an MViT video branch.
    """
    from musclemap_lib.figures import gradcam

    if gradcam.checkpoint_path(profile, experiment, 0, results) is None:
        return None, gradcam.missing_checkpoint_message(profile, experiment, 0, results)
    model = gradcam.load_trained_model(profile, experiment, 0, results)
    try:
        gradcam.video_backbone(model)
    except TypeError as err:
        return None, f"Grad-CAM is not available for {experiment}: {err}"
    ds = gradcam.clip_dataset(profile, split, model.modalities, data)
    cc = gradcam.clip_cam(model, ds, clip_id, experiment)
    return gradcam.plot_clip_cams([cc]), ""


# ------------------------------------------------------------------------------------------------
# The widget
# ------------------------------------------------------------------------------------------------
class Explorer:
    """ipywidgets explorer; every change calls one of the callbacks above.

    Attributes kept for tests and for the notebook: ``scores`` (the per-muscle table shown),
    ``message`` (the last status line), ``clip`` (the loaded frames), ``figures`` (name ->
    last Matplotlib figure drawn: ``frame``, ``body``, ``gradcam``).

    Args:
        profile: initial profile (must have results).
        data: data folder (default: the profile's MuscleMap-Synth folder).
        results: results root (default ``<repo>/results``).
    """

    def __init__(
        self, profile: str = "cpu", data: str | Path | None = None, results: Path | None = None
    ) -> None:
        import ipywidgets as w

        self.data, self.results = data, results
        profiles = available_profiles(results)
        if profile not in profiles:
            raise FileNotFoundError(
                f"no results for profile {profile!r} under {_results(results)} (found: "
                f"{', '.join(profiles) or 'none'}); run `musclemap run-all --profile {profile}`"
            )
        self.scores: Any = None
        self.message = ""
        self.clip: dict | None = None
        self.figures: dict[str, Any] = {}
        self.profile = w.Dropdown(options=profiles, value=profile, description="profile")
        self.split = w.Dropdown(options=SPLITS, value=SPLITS[0], description="split")
        self.model = w.Dropdown(options=available_models(profile, results), description="model")
        self.clip_id = w.Dropdown(options=[], description="clip")
        self.frame = w.IntSlider(value=0, min=0, max=0, description="frame")
        self.skeleton = w.Checkbox(value=True, description="skeleton")
        self.cam_button = w.Button(description="Grad-CAM")
        self.out_frame, self.out_body, self.out_scores, self.out_cam = (
            w.Output(),
            w.Output(),
            w.Output(),
            w.Output(),
        )
        self.status = w.HTML()
        self.profile.observe(lambda _: self.on_profile(), names="value")
        for wid in (self.split, self.model):
            wid.observe(lambda _: self.on_selection(), names="value")
        self.clip_id.observe(lambda _: self.on_clip(), names="value")
        self.frame.observe(lambda _: self.on_frame(), names="value")
        self.skeleton.observe(lambda _: self.on_frame(), names="value")
        self.cam_button.on_click(lambda _: self.on_gradcam())
        self.on_selection()

    def widget(self) -> Any:
        """The assembled widget to display."""
        import ipywidgets as w

        controls = w.VBox([self.profile, self.split, self.model, self.clip_id])
        view = w.HBox([w.VBox([self.frame, self.skeleton, self.out_frame]), self.out_body])
        return w.VBox([controls, self.status, view, self.out_scores, self.cam_button, self.out_cam])

    # ---- callbacks -------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.message = text
        self.status.value = f"<i>{text}</i>" if text else ""

    def _show(self, out: Any, name: str, fig: Any) -> None:
        import matplotlib.pyplot as plt

        self.figures[name] = fig
        out.clear_output(wait=True)
        with out:
            if fig is not None:
                _display(fig)
        if fig is not None:
            plt.close(fig)

    def on_profile(self) -> None:
        """A new profile: refill the model list (then the clips)."""
        self.model.options = available_models(self.profile.value, self.results)
        self.on_selection()

    def on_selection(self) -> None:
        """A new split or model: refill the clip list, keeping the clip when it is still there."""
        if self.model.value is None:
            self.clip_id.options = []
            self._say(f"no scored runs for profile {self.profile.value!r}")
            return
        clips = available_clips(
            self.profile.value, self.model.value, self.split.value, self.results
        )
        keep = self.clip_id.value if self.clip_id.value in clips else (clips[0] if clips else None)
        self.clip_id.options = clips
        self.clip_id.value = keep
        self.on_clip()

    def on_clip(self) -> None:
        """A new clip: scores, body map and frames; Grad-CAM is cleared (it is on demand)."""
        self.out_cam.clear_output()
        self.figures.pop("gradcam", None)
        p, e, s, c = self.profile.value, self.model.value, self.split.value, self.clip_id.value
        if c is None:
            return
        scores, labels = clip_scores(p, e, s, c, self.results)
        self.scores = score_table(scores, labels)
        self.out_scores.clear_output(wait=True)
        with self.out_scores:
            _display(self.scores)
        self._show(self.out_body, "body", body_map_figure(p, e, s, c, self.results))
        try:
            self.clip = clip_frames(p, s, c, self.data)
        except (FileNotFoundError, KeyError) as err:
            self.clip = None
            self._show(self.out_frame, "frame", None)
            self._say(f"frames unavailable: {err}")
            return
        self._say("")
        self.frame.max = len(self.clip["frames"]) - 1
        self.frame.value = min(self.frame.value, self.frame.max)
        self.on_frame()

    def on_frame(self) -> None:
        """Redraw the current frame (and skeleton)."""
        if self.clip is None:
            return
        fig = frame_figure(self.clip, self.frame.value, self.skeleton.value)
        self._show(self.out_frame, "frame", fig)

    def on_gradcam(self) -> None:
        """Grad-CAM of the selected model on the selected clip, or why it cannot be drawn."""
        p, e, s, c = self.profile.value, self.model.value, self.split.value, self.clip_id.value
        fig, why = gradcam_figure(p, e, s, c, self.data, self.results)
        self._say(why)
        self._show(self.out_cam, "gradcam", fig)


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)
