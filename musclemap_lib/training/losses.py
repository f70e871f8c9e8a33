"""Losses of the study: the multi-label classification loss and the distillation term.

PAPER: section 4.5, "L = L_BCE + L_MCTKD, combined equally", and Eq. 1: the prediction is a
SoftMax over the 20 muscle groups (``dim=-1``), so the BCE is taken on softmax scores
(``softmax_bce``). RELEASED: the same (``focal_loss_multilabel``, reference/official-code.md
section 1.8: a softmax over the 20 classes, then ``nn.BCELoss``). ``bce`` (sigmoid + BCE with
logits, the usual multi-label loss) is an option (``TrainConfig.loss``); the scores used for
evaluation follow the same choice (:func:`scores_from_logits`).

The distillation terms themselves are computed inside the fusion model (they need its tokens);
the model returns them in its output record and :func:`distillation_loss` only sums them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from musclemap_lib.config import LOSS_KINDS, LossKind


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, kind: LossKind) -> torch.Tensor:
    """Multi-label classification loss, mean over all ``B x C`` entries.

    Args:
        logits: ``(B, C)`` raw model outputs.
        labels: ``(B, C)`` 0/1 multi-hot targets.
        kind: ``bce`` (the paper: sigmoid + BCE) or ``softmax_bce`` (the released code:
            softmax over classes, then BCE).

    Returns:
        A scalar tensor (float32, whatever the autocast dtype of ``logits``).

    Raises:
        ValueError: for an unknown kind or mismatched shapes.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ")
    # Losses are computed in float32 even under bf16 autocast (BCE is not autocast-safe).
    logits = logits.float()
    labels = labels.float()
    if kind == "bce":
        # DEVIATION (option): sigmoid + BCE, independent muscle groups (not Eq. 1's softmax).
        return F.binary_cross_entropy_with_logits(logits, labels)
    if kind == "softmax_bce":
        # PAPER: Eq. 1 (softmax over classes) + L_BCE. The released `focal_loss_multilabel` is BCE
        # on softmax(logits) too; F.binary_cross_entropy clamps each log at -100 as nn.BCELoss.
        with torch.autocast(device_type=logits.device.type, enabled=False):
            return F.binary_cross_entropy(torch.softmax(logits, dim=1), labels)
    raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSS_KINDS)}")


def scores_from_logits(logits: torch.Tensor, kind: LossKind) -> torch.Tensor:
    """Turn logits into the scores that are evaluated: sigmoid (``bce``) or softmax (``softmax_bce``).

    Shape:
        ``(B, C)`` -> ``(B, C)`` float32 in [0, 1].
    """
    logits = logits.float()
    if kind == "bce":
        return torch.sigmoid(logits)
    if kind == "softmax_bce":
        return torch.softmax(logits, dim=1)
    raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSS_KINDS)}")


def logits_of(output: Any) -> torch.Tensor:
    """The ``(B, C)`` logits of a model output: a tensor, or a record with a ``.logits`` field."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if not isinstance(logits, torch.Tensor):
        raise TypeError(
            f"a model must return logits (B, C) or a record with a .logits tensor; "
            f"got {type(output).__name__}"
        )
    return logits


def distillation_loss(output: Any) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
    """The distillation loss a model reports, and its named terms (for logging).

    A two-branch model returns a record (``musclemap_lib.models.fusion.FusionOutput``) whose
    ``kd`` field is a ``DistillLosses(terms, positions, total)``; ``total`` already carries the
    model's configured KD weight (PAPER: "combined equally", weight 1). A plain logits tensor, or
    a record without ``kd``, has no distillation loss.

    Returns:
        ``(total, {position: term})``, or ``(None, {})`` when the model reports none.
    """
    kd = getattr(output, "kd", None)
    if kd is None:
        return None, {}
    total = getattr(kd, "total", None)
    if not isinstance(total, torch.Tensor):
        raise TypeError(
            f"the model's .kd record must carry a .total tensor; got {type(kd).__name__}"
        )
    terms = tuple(getattr(kd, "terms", ()))
    if not terms:
        return None, {}  # an empty record (late fusion, the w/o-MCTKD variant)
    names = tuple(getattr(kd, "positions", ())) or tuple(str(i) for i in range(len(terms)))
    return total.float(), dict(zip(names, terms, strict=True))
