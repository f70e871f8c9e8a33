"""The image model of each video backbone, and the loading of its weights into the video model.

The image model is the 2-D counterpart of the backbone, built from the same family code at the
same scale, reading ``(B, 3, 1, H, W)`` (one frame):

* ResNet family (C2D, I3D, Slow, SlowFast's slow pathway): every temporal kernel 1, no temporal
  pool, i.e. a 2-D ResNet-50. Loading inflates each ``(o, i, 1, kh, kw)`` kernel to the video
  model's ``(o, i, t, kh, kw)`` as I3D does (Carreira & Zisserman 2017; PySlowFast
  ``checkpoint.inflate_weight``): repeated along time and divided by ``t``. BN statistics and
  affine parameters are copied. SlowFast's fast pathway and fusions have no image counterpart and
  stay at init (PySlowFast also loads ImageNet weights into the slow pathway only).
* MViTv2: the same network on one frame (patch kernel ``(1, 7, 7)``). Loading centres the
  patch-embedding kernel in the video kernel's temporal extent (zeros elsewhere) and does the same
  for the Q/K/V pooling convs, so that a static clip gives the image model's tokens; the spatial
  relative position tables are copied (the token grid is the same) and the temporal tables
  ``rel_pos_t`` stay at the video model's init (the image has no temporal axis), as the MViTv2
  code base does when starting Kinetics models from ImageNet weights. For ``mvitv2_s_mct`` the
  backbone is loaded the same way; its 20 MCTs stay at init.
* Video Swin: the same network on one frame (patch ``(1, 4, 4)``, window ``(1, w, w)``). Loading
  follows Video-Swin-Transformer's ``inflate_weights``: the patch-embedding kernel is repeated
  along time and divided by its temporal size (I3D inflation), and each block's 2-D relative
  position bias table ``((2w-1)^2, heads)`` is repeated for each of the ``2 wt - 1`` temporal
  offsets of the video table (torchvision indexes it time-major). The video model's
  ``relative_position_index`` buffers are its own.

The heads (class counts differ) always stay at init. :func:`load_pretrained` returns a
:class:`TransferReport` naming what was loaded, inflated and left at init, and its source (the
pretraining run's config sha).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from musclemap_lib.config import ScaleSpec
from musclemap_lib.models import mvit, resnet3d, swin

log = logging.getLogger(__name__)

RESNET_MODELS = ("c2d_r50", "i3d_r50", "slow_r50", "slowfast_r50")
MVIT_MODELS = ("mvitv2_s", "mvitv2_b")
SWIN_MODELS = ("videoswin_s", "videoswin_b")
_MCT_BACKBONE = {  # TransM3E's stage-1 models (Tables 3-7) and the backbone they wrap
    "mvitv2_s_mct": "mvitv2_s",
    "mvitv2_s_sct": "mvitv2_s",
    "mvitv2_s_mct_flow": "mvitv2_s",
    "mvitv2_s_mct_rgb_diff": "mvitv2_s",
}
HEAD_KEYS = ("fc.", "head.")  # classifier tensors: never transferred


def image_backbone(model: str) -> str:
    """The registry name whose image model pretrains ``model`` (``c2d_r50`` for every ResNet)."""
    if model in RESNET_MODELS:
        return "c2d_r50"  # the 2-D ResNet-50 is the same for the four variants
    if model in MVIT_MODELS or model in SWIN_MODELS:
        return model
    if model in _MCT_BACKBONE:
        return _MCT_BACKBONE[model]
    raise ValueError(f"no image model for {model!r}; pretraining covers {', '.join(_supported())}")


def _supported() -> tuple[str, ...]:
    return (*RESNET_MODELS, *MVIT_MODELS, *SWIN_MODELS, *_MCT_BACKBONE)


def image_model(name: str, scale: ScaleSpec, num_classes: int) -> nn.Module:
    """The image (one-frame) version of backbone ``name`` with a ``num_classes`` head.

    Shape:
        input ``batch["rgb"]`` ``(B, 3, 1, H, W)``, output ``(B, num_classes)``.
    """
    name = image_backbone(name)
    if name == "c2d_r50":
        cfg = resnet3d.config("c2d_r50", scale)
        flat = dataclasses.replace(cfg.slow, stem_t=1, temporal_basis=((1,), (1,), (1,), (1,)))
        cfg = dataclasses.replace(cfg, slow=flat, pool1_t=1)
        return resnet3d.ResNet3d(cfg, modality="rgb", num_classes=num_classes)
    if name in SWIN_MODELS:
        video = swin.config(name, scale)
        one = swin.config(
            name,
            scale,
            num_frames=1,
            patch_size=(1, *video.patch_size[1:]),
            window_size=(1, *video.window_size[1:]),
        )
        return swin.VideoSwin(one, num_classes=num_classes, modality="rgb")
    cfg = mvit.config(name, scale, num_frames=1, patch_kernel=(1, 7, 7), patch_padding=(0, 3, 3))
    return mvit.MViT(cfg, num_classes=num_classes, modality="rgb")


@dataclass
class TransferReport:
    """What :func:`load_pretrained` did to a video model's tensors."""

    source: str  # the pretraining run: experiment and config sha
    loaded: list[str] = field(default_factory=list)  # copied as they are
    inflated: list[str] = field(default_factory=list)  # 2-D kernel spread / centred along time
    at_init: list[str] = field(default_factory=list)  # no image counterpart (heads, rel_pos_t)
    # (the image model's own rel_pos_t tables, one row each, are not listed as unused)
    unused: list[str] = field(default_factory=list)  # image tensors the video model has no use for

    def as_dict(self) -> dict[str, object]:
        """For ``metrics.json``: the source, counts, and the names left at init."""
        return {
            "source": self.source,
            "loaded": len(self.loaded),
            "inflated": self.inflated,
            "at_init": self.at_init,
            "unused": self.unused,
        }

    def __str__(self) -> str:
        def few(names: list[str]) -> str:
            return ", ".join(names[:6]) + (f", ... ({len(names)})" if len(names) > 6 else "")

        return (
            f"pretrained weights from {self.source}: {len(self.loaded)} tensors loaded, "
            f"{len(self.inflated)} inflated, {len(self.at_init)} left at init "
            f"[{few(self.at_init)}], {len(self.unused)} unused [{few(self.unused)}]"
        )


def inflate_i3d(w2d: torch.Tensor, t: int) -> torch.Tensor:
    """I3D inflation: ``(o, i, 1, kh, kw)`` -> ``(o, i, t, kh, kw)``, repeated and divided by t."""
    return w2d.repeat(1, 1, t, 1, 1) / t


def inflate_centre(w2d: torch.Tensor, t: int) -> torch.Tensor:
    """Centre inflation: the 2-D kernel in the middle temporal tap, zeros elsewhere."""
    out = torch.zeros(*w2d.shape[:2], t, *w2d.shape[3:], dtype=w2d.dtype)
    out[:, :, t // 2] = w2d[:, :, w2d.shape[2] // 2]
    return out


def _map_keys(video_model: nn.Module, model: str) -> tuple[str, dict[str, str]]:
    """``(family, {video key: image key})`` for the tensors that may take image weights."""
    keys = list(video_model.state_dict())
    if model in RESNET_MODELS:
        # Only the (slow) pathway 0 has an image counterpart.
        return "resnet", {k: k for k in keys if k.startswith("pathways.0.")}
    if model in MVIT_MODELS:
        return "mvit", {k: k for k in keys if not k.startswith(HEAD_KEYS)}
    if model in SWIN_MODELS:
        own = (*HEAD_KEYS, "relative_position_index")
        return "swin", {k: k for k in keys if not k.startswith(HEAD_KEYS) and not k.endswith(own)}
    if model in _MCT_BACKBONE:
        out = {k: k.removeprefix("backbone.") for k in keys if k.startswith("backbone.")}
        return "mvit", {k: v for k, v in out.items() if not v.startswith(HEAD_KEYS)}
    raise ValueError(f"no weight transfer for {model!r}; supported: {', '.join(_supported())}")


def load_pretrained(
    video_model: nn.Module, model: str, image_state: Mapping[str, torch.Tensor], source: str
) -> TransferReport:
    """Load an image model's weights into ``video_model`` (registry name ``model``), in place.

    Args:
        video_model: the freshly built video model.
        model: its registry name (decides the mapping).
        image_state: the state dict of :func:`image_model` after pretraining.
        source: what the report names as the source (experiment and config sha).

    Returns:
        The :class:`TransferReport`.

    Raises:
        ValueError: when a tensor's shape cannot be matched (a different scale, say).
    """
    family, mapping = _map_keys(video_model, model)
    report = TransferReport(source)
    own = video_model.state_dict()
    new: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key, value in own.items():
        src = mapping.get(key)
        if src is None or src not in image_state or key.endswith("rel_pos_t"):
            report.at_init.append(key)
            continue
        w = image_state[src]
        used.add(src)
        if w.ndim == 5 and w.shape[1] == 3 and value.ndim == 5 and value.shape[1] != 3:
            # ASSUMPTION: an RGB kernel on a flow input (2 channels): TSN's cross-modality
            # initialisation (Wang et al., ECCV 2016) averages the kernel over the RGB channels
            # and repeats the mean for every input channel; the paper does not say.
            w = w.mean(dim=1, keepdim=True).expand(-1, value.shape[1], -1, -1, -1).contiguous()
        if family == "swin" and key.endswith("relative_position_bias_table"):
            reps = value.shape[0] // w.shape[0]
            if w.shape[1:] != value.shape[1:] or reps * w.shape[0] != value.shape[0]:
                raise ValueError(
                    f"pretrained tensor {src} {tuple(w.shape)} does not fit {key} "
                    f"{tuple(value.shape)}; was the pretraining run at the same scale?"
                )
            new[key] = w.repeat(reps, 1)  # one copy of the 2-D table per temporal offset
            report.inflated.append(key)
        elif w.shape == value.shape and not (w.ndim == 5 and w.shape[2] > 1 and family == "mvit"):
            new[key] = w.clone()
            report.loaded.append(key)
        elif w.ndim == 5 and w.shape[:2] == value.shape[:2] and w.shape[3:] == value.shape[3:]:
            t = value.shape[2]
            if family in ("resnet", "swin"):
                new[key] = inflate_i3d(w, t) if w.shape[2] == 1 else w.clone()
            else:
                new[key] = inflate_centre(w, t)
            report.inflated.append(key)
        elif family == "resnet" and w.ndim == 5 and w.shape[1] < value.shape[1]:
            # SlowFast: the slow pathway's stage inputs also hold the lateral (fast) channels;
            # the image kernel takes the slow channels and the lateral ones start at zero.
            k = inflate_i3d(w, value.shape[2]) if w.shape[2] == 1 else w
            if k.shape[2:] != value.shape[2:] or k.shape[0] != value.shape[0]:
                raise ValueError(f"pretrained tensor {src} {tuple(w.shape)} does not fit {key}")
            grown = torch.zeros_like(value)
            grown[:, : w.shape[1]] = k
            new[key] = grown
            report.inflated.append(key)
        else:
            raise ValueError(
                f"pretrained tensor {src} {tuple(w.shape)} does not fit {key} "
                f"{tuple(value.shape)}; was the pretraining run at the same scale?"
            )
    own_buffers = ("rel_pos_t", "relative_position_index")
    report.unused = sorted(k for k in set(image_state) - used if not k.endswith(own_buffers))
    own.update(new)
    video_model.load_state_dict(own)
    log.info("%s", report)
    return report
