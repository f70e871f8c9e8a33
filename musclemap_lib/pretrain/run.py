"""One stage-0 pretraining run: the image model of a backbone on a generated image set.

A plain, seeded PyTorch loop (no Lightning: there is no benchmark data, validation or checkpoint
resume here, and the whole run takes minutes): AdamW with the released weight-decay rule (0 on
1-D tensors), linear warm-up then cosine decay per step, cross-entropy on the generated classes,
random crop and horizontal flip, the video pipeline's normalisation. 10 % of the generated images
(every tenth) are held out to report the pretraining's own accuracy.

ASSUMPTION: the pretraining recipe (optimiser, schedule, augmentation, budget) is ours; the paper
only says ImageNet-1K.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from musclemap_lib.config import KINETICS_MEAN, KINETICS_STD, ScaleSpec, TrainConfig
from musclemap_lib.pretrain.images import ImageSet, ImageSetSpec, generate
from musclemap_lib.pretrain.transfer import image_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PretrainResult:
    """The weights of the image model and what the run cost."""

    state: dict[str, torch.Tensor]  # image model state dict (head included)
    stats: dict[str, Any]  # seconds, images, epochs, steps, held-out accuracy, data digest


def image_spec(args: dict[str, Any], scale: ScaleSpec) -> ImageSetSpec:
    """The image set of a pretraining experiment (its ``model_args``) at a scale.

    Images are generated at 9/8 of the crop side so that a random crop can move.
    """
    size = max(scale.size * 9 // 8, scale.size + 2)
    return ImageSetSpec(args["images"], int(args["classes"]), int(args["per_class"]), size)


def _to_input(x: np.ndarray, crop: int, rng: np.random.Generator | None) -> torch.Tensor:
    """uint8 ``(B, S, S, 3)`` -> normalised ``(B, 3, 1, crop, crop)``; random crop and flip when
    ``rng`` is given, centre crop otherwise."""
    s = x.shape[1]
    if rng is None:
        o = (s - crop) // 2
        x = x[:, o : o + crop, o : o + crop]
    else:
        out = np.empty((len(x), crop, crop, 3), np.uint8)
        for i in range(len(x)):
            a, b = rng.integers(0, s - crop + 1, 2)
            img = x[i, a : a + crop, b : b + crop]
            out[i] = img[:, ::-1] if rng.random() < 0.5 else img
        x = out
    t = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255.0).permute(0, 3, 1, 2)
    mean = torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(KINETICS_STD).view(1, 3, 1, 1)
    return ((t - mean) / std).unsqueeze(2)


def _optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def _lr(step: int, total: int, warmup: int, cfg: TrainConfig) -> float:
    if step < warmup:
        return cfg.warmup_start_lr + (cfg.lr - cfg.warmup_start_lr) * step / max(warmup, 1)
    p = (step - warmup) / max(total - warmup, 1)
    return cfg.end_lr + (cfg.lr - cfg.end_lr) * 0.5 * (1 + math.cos(math.pi * p))


def pretrain(
    backbone: str,
    scale: ScaleSpec,
    spec: ImageSetSpec,
    cfg: TrainConfig,
    seed: int = 0,
    images: ImageSet | None = None,
) -> PretrainResult:
    """Train the image model of ``backbone`` on the generated images of ``spec``.

    Args:
        backbone: a video model's registry name (its image model is built).
        scale: the model scale (the crop is ``scale.size``).
        spec: the generated image set.
        cfg: epochs, batch size, lr, warm-up, weight decay, gradient clip.
        seed: seeds the images, the init and the sampling.
        images: the generated set, when already made (tests).

    Returns:
        A :class:`PretrainResult`.
    """
    t0 = time.perf_counter()
    data = images if images is not None else generate(spec, seed)
    gen_s = time.perf_counter() - t0
    held = np.arange(len(data.labels)) % 10 == 9
    train_idx, held_idx = np.flatnonzero(~held), np.flatnonzero(held)
    torch.manual_seed(seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    model = image_model(backbone, scale, data.num_classes)
    opt = _optimizer(model, cfg)
    steps_per_epoch = max(1, len(train_idx) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    step = 0
    model.train()
    t1 = time.perf_counter()
    for epoch in range(cfg.epochs):
        order = rng.permutation(train_idx)
        losses = []
        for i in range(steps_per_epoch):
            idx = np.sort(order[i * cfg.batch_size : (i + 1) * cfg.batch_size])
            x = _to_input(data.images[idx], scale.size, rng)
            y = torch.from_numpy(data.labels[idx])
            for g in opt.param_groups:
                g["lr"] = _lr(step, total, warmup, cfg)
            loss = F.cross_entropy(model({"rgb": x}), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            losses.append(loss.item())
            step += 1
        log.info("pretrain %s epoch %d: loss %.3f", backbone, epoch, float(np.mean(losses)))
    train_s = time.perf_counter() - t1
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(held_idx), 256):
            idx = held_idx[i : i + 256]
            pred = model({"rgb": _to_input(data.images[idx], scale.size, None)}).argmax(1)
            correct += int((pred.numpy() == data.labels[idx]).sum())
    stats = {
        "backbone": backbone,
        "images": spec.kind,
        "num_images": int(len(data.labels)),
        "num_classes": int(data.num_classes),
        "train_images": int(len(train_idx)),
        "epochs": cfg.epochs,
        "steps": step,
        "final_loss": float(np.mean(losses)) if losses else float("nan"),
        "heldout_accuracy": 100.0 * correct / max(len(held_idx), 1),
        "chance_accuracy": 100.0 / data.num_classes,
        "generate_seconds": round(gen_s, 2),
        "train_seconds": round(train_s, 2),
        "data_digest": data.digest(),
    }
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return PretrainResult(state, stats)
