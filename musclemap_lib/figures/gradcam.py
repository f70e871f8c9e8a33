"""Grad-CAM on the video transformers (MViTv2-S and the RGB branch of TransM3E), like the paper's Fig. 5.

PAPER: Fig. 5 and section 5.3: Grad-CAM (Selvaraju et al.) of MViTv2-S and TransM3E on two known
and two new test clips, with the ground truth and the predictions marked true (green check),
missed (purple cross) and false (red cross).

How the maps are made (pytorch-grad-cam 1.5, ``pytorch_grad_cam.GradCAM``):

* Target: one muscle group's logit, ``ClassifierOutputTarget(k)``; by default the group the
  model scores highest on the clip.
* Model: pytorch-grad-cam calls ``model(tensor)`` and expects ``(B, 20)``; our models take a
  batch dict and TransM3E returns a ``FusionOutput``. :class:`LogitsOnly` closes over the other
  inputs of the clip (the skeleton for TransM3E) and returns ``.logits``.
* Layer: the ``norm1`` LayerNorm at the entrance of a transformer block (default the last block).
  Its output holds ``P`` prefix tokens and the ``T*H*W`` grid tokens, ``(B, P + T*H*W, D)``.
  The last block's own output and the final norm cannot be used: the head reads the prefix tokens
  only, so the grid tokens there get no gradient. The grid tokens entering the last block reach
  the prefix tokens through its keys and values, as in Grad-CAM on ViTs (``blocks[-1].norm1``).
* Reshape: :func:`token_reshape` drops the prefix tokens and returns ``(B, D, T, H, W)``. With a
  5-D activation pytorch-grad-cam takes one weight per channel (the mean gradient over t, h, w)
  and keeps the time axis, so we get one map per token frame, resized to ``(T, H, W)`` of the
  input and scaled to [0, 1] over the whole clip (so frames can be compared with each other).

DEVIATION: at the cpu scale the clips are 64 x 64 pixels with 8 frames, so the last block sees a
4 x 4 x 4 grid (2 x 2 x 2 at smoke scale); the maps are much coarser than the paper's 7 x 7 at
224 pixels. ``block`` selects an earlier block for a finer grid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musclemap_lib.muscles import MUSCLE_GROUPS, NUM_MUSCLES

log = logging.getLogger(__name__)

# Experiments whose RGB transformer Grad-CAM can look at (the ones of Fig. 5 first). The paper's
# MViTv2-S is the pretrained row (mvitv2_s_pt); the from-scratch mvitv2_s follows it.
GRADCAM_EXPERIMENTS: tuple[str, ...] = ("mvitv2_s_pt", "mvitv2_s", "transm3e")
# ASSUMPTION: a group counts as predicted when its probability is >= 0.5 (the paper does not say
# which threshold its Fig. 5 marks use).
THRESHOLD: float = 0.5


# ------------------------------------------------------------------------------------------------
# Model plumbing
# ------------------------------------------------------------------------------------------------
def video_backbone(model: Any) -> Any:
    """The MViT that reads the RGB clip: the model itself, an MCT branch's or TransM3E's main one.

    Raises:
        TypeError: for a model without an MViT RGB branch (a GCN, a CNN, a baseline).
    """
    from musclemap_lib.models.mvit import MViT
    from musclemap_lib.models.tokens import MCTVideo
    from musclemap_lib.models.transm3e import TransM3E

    if isinstance(model, MViT):
        return model
    if isinstance(model, MCTVideo):
        return model.backbone
    if isinstance(model, TransM3E) and isinstance(model.main, MCTVideo):
        return model.main.backbone
    raise TypeError(
        f"Grad-CAM here needs an MViT video branch (mvitv2_s, mvitv2_s_mct, transm3e); got "
        f"{type(model).__name__}"
    )


def num_prefix_tokens(model: Any) -> int:
    """Prefix tokens in front of the grid in the video branch (cls, MCT and distillation tokens)."""
    from musclemap_lib.models.tokens import MCTVideo
    from musclemap_lib.models.transm3e import TransM3E

    if isinstance(model, TransM3E):
        model = model.main
    if isinstance(model, MCTVideo):
        return model.num_cls + model.num_distill
    return video_backbone(model).num_prefix_tokens


def token_reshape(num_prefix: int, thw: tuple[int, int, int]) -> Callable[[Any], Any]:
    """A pytorch-grad-cam ``reshape_transform`` for MViT tokens.

    Shape:
        ``(B, P + T*H*W, D)`` -> ``(B, D, T, H, W)`` (the ``P`` prefix tokens are dropped).
    """
    t, h, w = thw

    def reshape(x: Any) -> Any:
        b, n, d = x.shape
        if n != num_prefix + t * h * w:
            raise ValueError(
                f"Grad-CAM layer output has {n} tokens; expected {num_prefix} prefix + {thw} grid"
            )
        return x[:, num_prefix:].reshape(b, t, h, w, d).permute(0, 4, 1, 2, 3)

    return reshape


def _logits_only_cls() -> type:
    from torch import nn

    class LogitsOnly(nn.Module):
        """``tensor -> (B, 20)`` logits: puts the RGB tensor into the clip's batch dict."""

        def __init__(self, model: nn.Module, batch: Mapping[str, Any], key: str = "rgb") -> None:
            super().__init__()
            self.model = model
            self.key = key
            self.rest = {k: v for k, v in batch.items() if k != key}

        def forward(self, x: Any) -> Any:
            out = self.model({**self.rest, self.key: x})
            return out.logits if hasattr(out, "logits") else out

    return LogitsOnly


def logits_only(model: Any, batch: Mapping[str, Any], key: str = "rgb") -> Any:
    """Wrap ``model`` so that ``wrapped(batch[key]) -> (B, 20)`` logits.

    The other tensors of ``batch`` (e.g. the skeleton of TransM3E) are kept fixed; a NamedTuple
    output (TransM3E's ``FusionOutput``) is reduced to its ``logits``.
    """
    return _logits_only_cls()(model, batch, key)


# ------------------------------------------------------------------------------------------------
# One clip
# ------------------------------------------------------------------------------------------------
@dataclass
class ClipCam:
    """Grad-CAM of one model on one clip."""

    clip_id: str  # manifest clip id
    activity: str  # activity name of the clip
    split: str  # known_test, new_test, ...
    model: str  # experiment name
    frames: np.ndarray  # (T, H, W, 3) uint8: the model's input frames, un-normalised
    cam: np.ndarray  # (T, H, W) float32 in [0, 1]
    target: int  # muscle index whose logit the map explains
    probs: np.ndarray  # (20,) sigmoid of the model's logits on this clip (this single view)
    labels: np.ndarray  # (20,) multi-hot ground truth


def gradcam_maps(
    model: Any, batch: Mapping[str, Any], target: int | None = None, block: int = -1
) -> tuple[np.ndarray, int, np.ndarray]:
    """Grad-CAM maps of one clip for one muscle group.

    Args:
        model: an MViT, MCTVideo or TransM3E model (put in eval mode here).
        batch: the model's inputs for one clip: ``rgb`` ``(1, 3, T, H, W)`` (and ``skeleton``).
        target: muscle index whose logit is explained; None -> the highest scored group.
        block: index of the transformer block whose input (``norm1`` output) is the CAM layer.

    Returns:
        ``cam`` ``(T, H, W)`` in [0, 1], the target index, and the ``(20,)`` probabilities.

    Raises:
        ValueError: for a batch of more than one clip or a target outside 0..19.
    """
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    rgb = batch["rgb"]
    if rgb.ndim != 5 or rgb.shape[0] != 1:
        raise ValueError(f"Grad-CAM takes one clip, rgb (1, 3, T, H, W); got {tuple(rgb.shape)}")
    model.eval()
    wrapped = logits_only(model, batch)
    with torch.no_grad():
        probs = torch.sigmoid(wrapped(rgb))[0].float().numpy()  # (20,)
    if target is None:
        target = int(np.argmax(probs))
    if not 0 <= target < NUM_MUSCLES:
        raise ValueError(f"target must be a muscle index in 0..{NUM_MUSCLES - 1}, got {target}")
    backbone = video_backbone(model)
    layer_block = backbone.blocks[block]
    reshape = token_reshape(num_prefix_tokens(model), layer_block.spec.input_thw)
    with GradCAM(wrapped, [layer_block.norm1], reshape_transform=reshape) as cam:
        maps = cam(rgb, targets=[ClassifierOutputTarget(target)])  # (1, T, H, W)
    # scipy's spline zoom in pytorch-grad-cam can overshoot [0, 1] a little: clip it back.
    out = np.clip(np.nan_to_num(maps[0].astype(np.float32)), 0.0, 1.0)
    return out, target, probs


def run_folder(profile: str, experiment: str, seed: int = 0, results: Path | None = None) -> Path:
    """A run folder: ``records.run_dir`` or, with ``results``, ``<results>/<profile>/...``."""
    from musclemap_lib.evaluation import records

    folder = records.run_dir(profile, experiment, seed)
    if results is None:
        return folder
    return Path(results) / profile / folder.name


def checkpoint_path(
    profile: str, experiment: str, seed: int = 0, results: Path | None = None
) -> Path | None:
    """The ``last.ckpt`` of a run folder, or None when the run was not trained here."""
    from musclemap_lib.training.callbacks import last_checkpoint

    return last_checkpoint(run_folder(profile, experiment, seed, results) / "checkpoints")


def missing_checkpoint_message(
    profile: str, experiment: str, seed: int = 0, results: Path | None = None
) -> str:
    """What to tell a reader when a run has no checkpoint (checkpoints are never committed)."""
    folder = run_folder(profile, experiment, seed, results) / "checkpoints"
    return (
        f"no checkpoint for {experiment} at profile {profile!r} (seed {seed}): {folder} has no "
        f"last.ckpt. Checkpoints are not committed; train the run first "
        f"(`musclemap run-all --profile {profile}` or `make reproduce PROFILE={profile}`)."
    )


def load_trained_model(
    profile: str, experiment: str, seed: int = 0, results: Path | None = None
) -> Any:
    """Build ``experiment``'s model at the profile's scale and load its trained weights.

    Args:
        profile: study profile (its model scale is used).
        experiment: experiment name (its registered model is built).
        seed: run seed.
        results: results root (default ``<repo>/results``).

    Raises:
        FileNotFoundError: when the run has no checkpoint (see :func:`missing_checkpoint_message`).
        CheckpointError: when the checkpoint is corrupt (the message names it and the fix).
    """
    from musclemap_lib.models import build_model
    from musclemap_lib.study import get_experiment, get_profile
    from musclemap_lib.training.callbacks import model_weights

    ckpt = checkpoint_path(profile, experiment, seed, results)
    if ckpt is None:
        raise FileNotFoundError(missing_checkpoint_message(profile, experiment, seed, results))
    exp, prof = get_experiment(experiment), get_profile(profile)
    model = build_model(exp.model, scale=prof.scale, **prof.builder_options(exp))
    model.load_state_dict(model_weights(ckpt))
    return model.eval()


def clip_dataset(
    profile: str, split: str, modalities: Sequence[str], data: str | Path | None = None
) -> Any:
    """The evaluation ``ClipDataset`` of a profile's data (one centre view per clip)."""
    from musclemap_lib.data import ClipDataset
    from musclemap_lib.study.profiles import data_dir, get_profile

    cfg = get_profile(profile).data
    return ClipDataset(data_dir(profile, data), split, cfg, modalities, train=False, views=1)


def load_clip_batch(dataset: Any, clip_id: str) -> tuple[dict[str, Any], np.ndarray]:
    """A one-clip batch of ``dataset`` and its display frames ``(T, H, W, 3)`` uint8.

    Raises:
        KeyError: for a clip id that is not in the dataset's split.
    """
    ids = [r.clip_id for r in dataset.rows]
    if clip_id not in ids:
        raise KeyError(f"clip {clip_id!r} is not in split {dataset.split!r} of {dataset.root}")
    item = dataset[ids.index(clip_id)]
    batch = {k: v[None] for k, v in item.items() if k in dataset.modalities}
    batch["labels"] = item["labels"][None]
    frames = display_frames(batch["rgb"][0], dataset.cfg)
    return batch, frames


def display_frames(rgb: Any, cfg: Any) -> np.ndarray:
    """``(3, T, H, W)`` model input -> ``(T, H, W, 3)`` uint8 (undoing the normalisation)."""
    x = rgb.detach().float().numpy().transpose(1, 2, 3, 0)  # (T, H, W, 3)
    if cfg.normalize:
        x = x * np.asarray(cfg.std) + np.asarray(cfg.mean)
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def clip_cam(
    model: Any,
    dataset: Any,
    clip_id: str,
    experiment: str,
    target: int | None = None,
    block: int = -1,
) -> ClipCam:
    """Grad-CAM of ``model`` on ``clip_id`` of ``dataset`` (see :func:`gradcam_maps`)."""
    batch, frames = load_clip_batch(dataset, clip_id)
    row = next(r for r in dataset.rows if r.clip_id == clip_id)
    cam, target, probs = gradcam_maps(model, batch, target, block)
    labels = batch["labels"][0].numpy().astype(np.float32)
    return ClipCam(
        clip_id, row.activity, dataset.split, experiment, frames, cam, target, probs, labels
    )


def pick_clips(dataset: Any, n: int) -> list[str]:
    """``n`` clips of different activities, evenly spaced over the sorted activities.

    Not cherry-picked: the choice depends on the split's activity list only, never on scores.
    """
    by_activity: dict[str, str] = {}
    for row in sorted(dataset.rows, key=lambda r: r.clip_id):
        by_activity.setdefault(row.activity, row.clip_id)
    names = sorted(by_activity)
    if not names:
        raise ValueError(f"split {dataset.split!r} of {dataset.root} has no clips")
    idx = np.linspace(0, len(names) - 1, min(n, len(names))).round().astype(int)
    return [by_activity[names[i]] for i in dict.fromkeys(idx.tolist())]


# ------------------------------------------------------------------------------------------------
# Marks and figures
# ------------------------------------------------------------------------------------------------
def marks(probs: np.ndarray, labels: np.ndarray, threshold: float = THRESHOLD) -> dict[str, str]:
    """Per muscle id: ``true`` (predicted and active), ``missed`` (active, not predicted),
    ``false`` (predicted, not active); groups that are neither are left out.
    """
    out: dict[str, str] = {}
    for i, name in enumerate(MUSCLE_GROUPS):
        pred, act = bool(probs[i] >= threshold), bool(labels[i] > 0.5)
        if pred and act:
            out[name] = "true"
        elif act:
            out[name] = "missed"
        elif pred:
            out[name] = "false"
    return out


# PAPER: Fig. 5 colours: green check (true), purple cross (missed), red cross (false).
MARK_STYLE: dict[str, tuple[str, str]] = {
    "true": ("\u2713", "#1a9641"),
    "missed": ("\u2717", "#7b3294"),
    "false": ("\u2717", "#d7191c"),
}


def overlay(frame: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """``(H, W, 3)`` uint8 frame with a jet-coloured ``(H, W)`` [0, 1] map blended over it."""
    import matplotlib as mpl

    heat = mpl.colormaps["jet"](cam)[..., :3]
    img = frame.astype(np.float32) / 255.0
    return np.clip((1 - alpha) * img + alpha * heat, 0, 1)


def frame_picks(num_frames: int, k: int) -> list[int]:
    """``k`` frame indices evenly spaced over a clip of ``num_frames``."""
    return sorted(set(np.linspace(0, num_frames - 1, min(k, num_frames)).round().astype(int)))


def _label_text(ax: Any, cc: ClipCam, threshold: float) -> None:
    from musclemap_lib.figures.names import muscle_name

    ax.axis("off")
    y = 0.98
    for name, kind in marks(cc.probs, cc.labels, threshold).items():
        sym, colour = MARK_STYLE[kind]
        p = cc.probs[MUSCLE_GROUPS.index(name)]
        ax.text(0.0, y, f"{sym} {muscle_name(name)} ({p:.2f})", color=colour, fontsize=8,
                va="top", transform=ax.transAxes)  # fmt: skip
        y -= 0.085
    if y == 0.98:
        ax.text(0.0, y, "(nothing predicted or active)", fontsize=8, va="top")


def plot_clip_cams(cams: Sequence[ClipCam], frames: int = 4, threshold: float = THRESHOLD) -> Any:
    """One clip, one row per model: frames with the heat map, body map, marked predictions.

    Args:
        cams: the :class:`ClipCam` of each model on the same clip.
        frames: frames shown per row (evenly spaced over the clip).
        threshold: probability at which a group counts as predicted.

    Returns:
        The Matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from musclemap_lib.figures.bodymap import draw_body_map
    from musclemap_lib.figures.names import experiment_name, muscle_name

    if not cams or len({c.clip_id for c in cams}) != 1:
        raise ValueError("plot_clip_cams takes the maps of several models on one clip")
    first = cams[0]
    picks = frame_picks(first.frames.shape[0], frames)
    fig = plt.figure(figsize=(1.7 * len(picks) + 6.2, 2.3 * len(cams) + 0.9))
    widths = [1.0] * len(picks) + [2.0, 1.9]
    gs = fig.add_gridspec(len(cams), len(widths), width_ratios=widths, wspace=0.08, hspace=0.25)
    for r, cc in enumerate(cams):
        for c, t in enumerate(picks):
            ax = fig.add_subplot(gs[r, c])
            ax.imshow(overlay(cc.frames[t], cc.cam[t]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {t + 1}/{cc.frames.shape[0]}", fontsize=8)
            if c == 0:
                ax.set_ylabel(experiment_name(cc.model), fontsize=9)
        draw_body_map(cc.probs, cc.labels, ax=fig.add_subplot(gs[r, len(picks)]), colorbar=False)
        _label_text(fig.add_subplot(gs[r, len(picks) + 1]), cc, threshold)
    truth = ", ".join(muscle_name(MUSCLE_GROUPS[i]) for i in np.flatnonzero(first.labels > 0.5))
    targets = "; ".join(
        f"{experiment_name(c.model)}: {muscle_name(MUSCLE_GROUPS[c.target])}" for c in cams
    )
    fig.suptitle(
        f"{first.activity} ({first.split.replace('_', ' ')}, clip {first.clip_id})\n"
        f"ground truth: {truth or 'none'}\nGrad-CAM target: {targets}",
        fontsize=9,
    )
    return fig


def cams_summary(cams: Sequence[ClipCam], threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    """A JSON-ready record of what a Grad-CAM figure shows (one entry per model and clip)."""
    return [
        {
            "clip_id": c.clip_id,
            "activity": c.activity,
            "split": c.split,
            "model": c.model,
            "target": MUSCLE_GROUPS[c.target],
            "probs": [round(float(p), 4) for p in c.probs],
            "labels": [int(v) for v in c.labels],
            "marks": marks(c.probs, c.labels, threshold),
            "cam_mean_per_frame": [round(float(m), 4) for m in c.cam.mean(axis=(1, 2))],
        }
        for c in cams
    ]


def render_gradcam_figures(
    profile: str,
    out_dir: str | Path,
    experiments: Sequence[str] = GRADCAM_EXPERIMENTS,
    n_known: int = 2,
    n_new: int = 2,
    seed: int = 0,
    block: int = -1,
    data: str | Path | None = None,
    results: Path | None = None,
) -> dict[str, Any]:
    """Render Fig. 5-like PNGs ``gradcam_<split>_<k>.png`` into ``out_dir`` and a JSON record.

    Each clip is explained for each model's own top-scored group. Models without a checkpoint are
    left out and named in the returned record (``missing``); nothing is drawn for them.

    Returns:
        ``{"figures": [...png names], "missing": {experiment: message}, "clips": [...]}``.
    """
    import json

    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models, missing = {}, {}
    for exp in experiments:
        try:
            models[exp] = load_trained_model(profile, exp, seed, results)
        except FileNotFoundError as err:
            missing[exp] = str(err)
            log.warning("%s", err)
    record: dict[str, Any] = {"profile": profile, "figures": [], "missing": missing, "clips": []}
    if models:
        modalities = sorted({m for model in models.values() for m in model.modalities})
        for split, n in (("known_test", n_known), ("new_test", n_new)):
            ds = clip_dataset(profile, split, modalities, data)
            for k, clip_id in enumerate(pick_clips(ds, n)):
                cams = [clip_cam(m, ds, clip_id, e, None, block) for e, m in models.items()]
                fig = plot_clip_cams(cams)
                name = f"gradcam_{split}_{k}.png"
                fig.savefig(out / name, dpi=110, bbox_inches="tight")
                plt.close(fig)
                record["figures"].append(name)
                record["clips"].extend(cams_summary(cams))
    (out / "gradcam.json").write_text(json.dumps(record, indent=1))
    return record
