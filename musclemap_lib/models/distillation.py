"""MCT knowledge distillation (MCTKD): the loss, and after which blocks it is computed.

PAPER: section 4.3, Fig. 6 and Eq. 4. The released code (../shared/reference/official-code.md)
fills the gaps of the paper (temperature, weight, softmax axis); where it contradicts the paper,
both are options of :class:`KDConfig`.

* :class:`KDConfig`: where and how tokens are distilled (Table 4's positions and token sets).
* :func:`kd_term`: one distillation term between two token sets.
* :func:`align_block` / :func:`kd_pairs`: which auxiliary block each main block learns from.

Token alignment between a GCN and a transformer (:func:`align_block`). MViTv2 block ``b`` (of
``L_m``) is paired with the auxiliary block at the same relative depth,
``g = ceil((b + 1) * L_a / L_m) - 1``. At paper scale (MViTv2-S: 16 blocks, reductions at 1, 3,
14; HD-GCN: 10 units, tokens exist after every unit from the first on):

=========  ===========================  ======================  ==========================
position   MViTv2-S block (width)        HD-GCN unit (width)     receiver projection
=========  ===========================  ======================  ==========================
SP / DE    1 (192, first reduction)      1 (64)                  Linear(192 -> 64)
SP / DE    3 (384, second reduction)     2 (64)                  Linear(384 -> 64)
SP / DE    14 (768, third reduction)     9 (256)                 Linear(768 -> 256)
SP/DE/FL   15 (768, final block)         9 (256)                 Linear(768 -> 256)
DE only    0, 2, 4..13                   0, 1, 3..8 (same rule)  Linear(C_b -> C_g)
=========  ===========================  ======================  ==========================

With the RGB-difference teacher (a second MViTv2) the pairing is the identity and needs no
projection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from musclemap_lib.models.base import check_choice

KDPositions = Literal["sparse", "dense", "final", "none"]
TokenSet = Literal["distill", "cls"]


@dataclass(frozen=True)
class KDConfig:
    """Where and how tokens are distilled from the auxiliary branch into the main branch."""

    # PAPER: SP (after each feature-map reduction of MViTv2 and after the final block, Table 4's
    # best); "dense" = after every block (DE, the released code); "final" = FL; "none" = w/o MCTKD.
    positions: KDPositions = "sparse"
    # Which main-branch tokens receive: "distill" = separate receiver MCT (MCTKD, Fig. 6 d);
    # "cls" = the classification MCT itself (conventional KD, Fig. 6 c).
    receiver: TokenSet = "distill"
    # Which auxiliary tokens send: "distill" = its own KD MCT cls_s (paper); "cls" = its
    # classification MCT (conventional KD, and the released frozen teacher, discrepancy 3).
    sender: TokenSet = "distill"
    # ASSUMPTION: the paper gives no temperature, weight or softmax axis; these are the released
    # values (official-code.md section 1.5): tau 10, loss x alpha * tau^2 with alpha 0.9.
    tau: float = 10.0  # softmax temperature
    alpha: float = 0.9  # each term is multiplied by alpha * tau^2
    # released: softmax over the token axis (per sample and channel); "channel" = over channels.
    softmax_axis: Literal["token", "channel"] = "token"
    # released: KL(p_sender || p_receiver) (KLDivLoss(log p_r, p_s)); the paper writes
    # "KL-Div(cls_r, cls_s)", which read literally is KL(p_receiver || p_sender).
    direction: Literal["sender_to_receiver", "receiver_to_sender"] = "sender_to_receiver"
    # ASSUMPTION: knowledge flows one way (auxiliary -> main), so the KD loss does not train the
    # sender; the auxiliary branch learns from its own classification loss. False: both ways.
    detach_sender: bool = True

    def __post_init__(self) -> None:
        check_choice("KDConfig.positions", self.positions, ("sparse", "dense", "final", "none"))
        check_choice("KDConfig.receiver", self.receiver, ("distill", "cls"))
        check_choice("KDConfig.sender", self.sender, ("distill", "cls"))
        check_choice("KDConfig.softmax_axis", self.softmax_axis, ("token", "channel"))
        check_choice(
            "KDConfig.direction", self.direction, ("sender_to_receiver", "receiver_to_sender")
        )
        if self.tau <= 0:
            raise ValueError(f"KDConfig.tau must be > 0, got {self.tau}")


def kd_term(receiver: torch.Tensor, sender: torch.Tensor, cfg: KDConfig) -> torch.Tensor:
    """One distillation term between two token sets of the same shape.

    ``alpha * tau^2 * mean_elements(KL)``: the KL of the temperature-softened distributions over
    the configured axis, averaged over every element as PyTorch's ``KLDivLoss(reduction='mean')``
    does in the released code (official-code.md section 1.5).

    Args:
        receiver: ``(B, C, D)`` tokens of the main branch (already projected to the sender width).
        sender: ``(B, C, D)`` tokens of the auxiliary branch.
        cfg: the KD settings.

    Returns:
        A scalar.
    """
    if receiver.shape != sender.shape:
        raise ValueError(
            f"KD needs receiver and sender tokens of one shape, got {tuple(receiver.shape)} and "
            f"{tuple(sender.shape)}"
        )
    dim = 1 if cfg.softmax_axis == "token" else 2
    log_r = F.log_softmax(receiver / cfg.tau, dim=dim)
    log_s = F.log_softmax(sender / cfg.tau, dim=dim)
    if cfg.direction == "sender_to_receiver":
        kl = log_s.exp() * (log_s - log_r)  # KL(p_s || p_r)
    else:
        kl = log_r.exp() * (log_r - log_s)  # KL(p_r || p_s)
    return cfg.alpha * cfg.tau**2 * kl.mean()


def align_block(main_block: int, main_depth: int, aux_depth: int) -> int:
    """The auxiliary block paired with a main block: the same relative depth, rounded up.

    # ASSUMPTION: the paper does not say how a 10-unit GCN aligns with a 16-block transformer. We
    # pair equal fractions of depth, ``g = ceil((b + 1) * L_a / L_m) - 1``, so the final blocks
    # pair, every pairing moves forward monotonically, and equal depths pair block for block.
    """
    if not 0 <= main_block < main_depth:
        raise ValueError(f"main block {main_block} is outside 0..{main_depth - 1}")
    return max(0, math.ceil((main_block + 1) * aux_depth / main_depth) - 1)


def kd_pairs(
    positions: KDPositions, main_depth: int, reduction_blocks: tuple[int, ...], aux_depth: int
) -> tuple[tuple[int, int], ...]:
    """The (main block, auxiliary block) pairs after which a KD term is computed.

    * ``sparse`` (SP): after every feature-map reduction block of MViTv2 and after the final block
      (PAPER: section 4.3, "after each feature map reduction block", Fig. 6 a);
    * ``dense`` (DE): after every block (Fig. 6 b);
    * ``final`` (FL): after the final block only;
    * ``none``: no term.
    """
    last = main_depth - 1
    if positions == "none":
        blocks: list[int] = []
    elif positions == "final":
        blocks = [last]
    elif positions == "sparse":
        blocks = sorted({*reduction_blocks, last})
    elif positions == "dense":
        blocks = list(range(main_depth))
    else:
        raise ValueError(f"unknown KD positions {positions!r}; choose sparse, dense, final, none")
    return tuple((b, align_block(b, main_depth, aux_depth)) for b in blocks)
