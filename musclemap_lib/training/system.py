"""LightningModules of the study: a *system* wraps an injected *model* (STYLE.md section 6).

* :class:`AMGESystem` trains any single model of the registry (Table 2 baselines, MViTv2-S with
  MCT, the late-fusion heads): classification loss only, or plus whatever distillation terms the
  model reports.
* :class:`DistillSystem` is the paper's stage 2 (MCT -> MCTKD/MCTF): the two-branch TransM3E
  model, already initialised from the stage-1 weights, trained with L = L_cls + L_KD (the KD
  total of the model's record); frozen parameters stay out of the optimiser.

The device, precision and distribution come from the Trainer (``musclemap_lib.study.pipeline``),
never from here. Train, validation and test all go through one :meth:`AMGESystem._shared_step`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from musclemap_lib.config import TrainConfig
from musclemap_lib.training.losses import (
    classification_loss,
    distillation_loss,
    logits_of,
    scores_from_logits,
)

log = logging.getLogger(__name__)


ValMetric = Callable[[np.ndarray, np.ndarray], float]  # (scores, labels) -> mAP in [0, 1]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the run stops at that step."""


def warmup_cosine_factor(
    step: int, total_steps: int, warmup_steps: int, lr: float, start_lr: float, end_lr: float
) -> float:
    """Learning-rate multiplier of ``lr`` at an optimiser step: linear warm-up, then cosine.

    Warm-up goes linearly from ``start_lr`` to ``lr`` over ``warmup_steps`` steps; the cosine then
    decays from ``lr`` to ``end_lr`` at ``total_steps``. The released code's schedule is the same
    shape, updated per iteration (reference/official-code.md section 1.8).
    """
    if warmup_steps > 0 and step < warmup_steps:
        value = start_lr + (lr - start_lr) * step / warmup_steps
    else:
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        value = end_lr + (lr - end_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return value / lr


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: weight decay on parameters with >= 2 dims, none on 1-D ones (biases, norms).

    The released code does the same (``ZERO_WD_1D_PARAM``); frozen parameters are left out.
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


class AMGESystem(L.LightningModule):
    """Trains one AMGE model on multi-hot muscle labels.

    Args:
        model: any model of the registry; it reads the batch dict and returns logits ``(B, 20)``
            or a record with ``.logits`` (and optionally distillation terms).
        cfg: the optimisation settings.
        val_metric: ``(scores, labels) -> float`` in [0, 1], logged per validation split as
            ``val/map_<split>`` when validation runs (``cfg.val_every_n_epochs``); injected by
            the caller so that training does not import evaluation.
    """

    def __init__(
        self, model: nn.Module, cfg: TrainConfig, val_metric: ValMetric | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.val_metric = val_metric
        # Stored as a plain dict, so checkpoints load with torch.load(weights_only=True).
        self.save_hyperparameters({"train": dataclasses.asdict(cfg)})
        self.skipped_clips: set[str] = set()  # bad clips the data pipeline skipped in training
        # validation scores and labels per dataloader index, for the epoch's mAP
        self._val: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    # ---- forward -------------------------------------------------------------------------------
    def forward(self, batch: Mapping[str, Any]) -> Any:
        """The model's raw output for a batch dict."""
        return self.model(batch)

    # ---- train / validation / test / predict ---------------------------------------------------
    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor | None:
        out = self._shared_step(batch, "train")
        return None if out is None else out["loss"]  # None: Lightning skips the step

    def validation_step(
        self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        out = self._shared_step(batch, "val")
        if out is None:
            return
        scores, labels = self._val.setdefault(dataloader_idx, ([], []))
        scores.append(out["scores"].detach().float().cpu().numpy())
        labels.append(batch["labels"].detach().cpu().numpy())

    def on_validation_epoch_end(self) -> None:
        # The data module's val loaders are [known_val, new_val] (dataloader index 0 and 1).
        names = {0: "known_val", 1: "new_val"}
        for idx, (scores, labels) in sorted(self._val.items()):
            y = np.concatenate(labels)
            if y.sum() > 0 and self.val_metric is not None:
                value = 100.0 * self.val_metric(np.concatenate(scores), y)
                self.log(f"val/map_{names.get(idx, idx)}", value, prog_bar=True)
        self._val.clear()

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor:
        """Scores ``(B, 20)`` in [0, 1] (sigmoid or softmax, as the loss)."""
        return scores_from_logits(logits_of(self.model(batch)), self.cfg.loss)

    def _shared_step(self, batch: Mapping[str, Any], stage: str) -> dict[str, torch.Tensor] | None:
        """One step of any stage: forward, classification + distillation loss, logging.

        Returns ``None`` for a batch whose clips were all skipped as bad (nothing to learn).
        """
        if stage == "train":
            self.skipped_clips.update(str(c) for c in batch.get("skipped", ()))
        if batch["labels"].shape[0] == 0:
            return None
        output = self.model(batch)
        logits = logits_of(output)  # (B, 20)
        labels = batch["labels"]  # (B, 20) multi-hot
        cls = self._classification(output, logits, labels)
        kd, kd_terms = distillation_loss(output)
        kd = self._check_kd(kd, logits)
        # PAPER: L = L_BCE + L_MCTKD; the KD weight is part of the model's config and already in kd.
        loss = cls + kd
        if stage == "train" and not torch.isfinite(loss).item():
            raise NonFiniteLossError(
                f"the training loss is {loss.item()} (classification {cls.item()}, "
                f"distillation {kd.item()}) at global step {self.global_step} "
                f"(epoch {self.current_epoch}); training stopped, the last good checkpoint is "
                "the previous epoch's (resume with --resume after fixing the cause, e.g. a lower lr)"
            )
        bs = labels.shape[0]
        on_step = stage == "train"
        self.log(
            f"{stage}/loss", loss, prog_bar=True, batch_size=bs, on_step=on_step, on_epoch=True
        )
        if kd_terms:
            self.log(f"{stage}/loss_cls", cls, batch_size=bs, on_step=on_step, on_epoch=True)
            self.log(f"{stage}/loss_kd", kd, batch_size=bs, on_step=on_step, on_epoch=True)
        if stage == "train":
            self.log("lr", self.optimizers().param_groups[0]["lr"], on_step=True, on_epoch=False)
        return {"loss": loss, "scores": scores_from_logits(logits.detach(), self.cfg.loss)}

    def _classification(
        self, output: Any, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """The classification loss on the model's prediction (late fusion: the fused logits)."""
        return classification_loss(logits, labels, self.cfg.loss)

    def _check_kd(self, kd: torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
        """The distillation loss to add (a zero scalar when the model reports none)."""
        return logits.new_zeros((), dtype=torch.float32) if kd is None else kd

    # ---- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any]:
        cfg = self.cfg
        groups = parameter_groups(self.model, cfg.weight_decay)
        if not groups:
            raise ValueError(
                f"{type(self.model).__name__} has no trainable parameter; evaluate it without "
                "training (the random and all_ones baselines are never trained)"
            )
        # PAPER: AdamW, lr 1e-4. eps 1e-8 and default betas as the released code.
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr, eps=1e-8)
        total = int(self.trainer.estimated_stepping_batches)
        steps_per_epoch = max(1, total // max(1, cfg.epochs))
        warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: warmup_cosine_factor(
                step, total, warmup, cfg.lr, cfg.warmup_start_lr, cfg.end_lr
            ),
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }


class DistillSystem(AMGESystem):
    """Stage 2 of TransM3E: the two-branch model with MCT knowledge distillation and fusion.

    Args:
        model: the fusion model (e.g. ``build_model("transm3e", ...)``), with both branches
            already loaded from their stage-1 runs; it returns a record with ``.logits`` and its
            distillation terms.
        cfg: the optimisation settings (the KD weight is the model's, inside its record).

    DEVIATION: STYLE.md sketches ``DistillSystem(rgb, skeleton, cfg)``; the TransM3E model of this
    study holds both branches itself (its variants are configurations of one module), so the
    system receives that one module.
    """

    def __init__(
        self, model: nn.Module, cfg: TrainConfig, val_metric: ValMetric | None = None
    ) -> None:
        super().__init__(model, cfg, val_metric)
        self._checked = False

    def _classification(
        self, output: Any, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """BCE on each branch that predicts: main, plus auxiliary unless it is a headless teacher.

        PAPER: "MCTKD and MCTF are added ... for both of the leveraged modalities and models", so
        both branches are trained on the labels; their test-time prediction is combined by the
        model (``.logits``). ASSUMPTION: the two branch losses are summed with weight 1 each.
        The released code trains only the RGB branch (its teacher is frozen and has no head).
        """
        main = getattr(output, "main_logits", None)
        if main is None:
            raise TypeError(
                f"DistillSystem needs a two-branch record with .main_logits; "
                f"{type(self.model).__name__} returned {type(output).__name__}"
            )
        loss = classification_loss(main, labels, self.cfg.loss)
        aux = getattr(output, "aux_logits", None)
        if aux is not None:
            loss = loss + classification_loss(aux, labels, self.cfg.loss)
        return loss

    def _check_kd(self, kd: torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
        if not self._checked:
            self._checked = True
            if kd is None:
                log.info(
                    "%s reports no distillation term (a w/o-KD variant); stage 2 trains the "
                    "classification loss only",
                    type(self.model).__name__,
                )
        return super()._check_kd(kd, logits)
