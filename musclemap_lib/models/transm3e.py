"""TransM3E: multi-classification tokens (MCT), MCT knowledge distillation (MCTKD) and MCT fusion.

PAPER: section 4.2 to 4.5, Figs. 3, 4 and 6, Eqs. 1 to 11, appendices C and E. The released code
(../shared/reference/official-code.md) is an older, RGB-difference version; where it fills a gap
of the paper we follow it and say so, and where it contradicts the paper both are options.

Every row of Tables 3 to 7 is a configuration of the classes below, registered by name from the
variant tables at the end of the file (one line per builder, never a copied class).

Pieces (the file reads top to bottom):

* :class:`KDConfig`, :func:`kd_term`, :func:`kd_pairs`: the distillation loss and where it applies.
* :class:`MCTVideo`: MViTv2 with ``C`` classification tokens (and optionally ``C`` distillation
  tokens) as prefix tokens; prediction ``P_alpha(mean of the classification tokens)`` (Eq. 1).
  Registered alone as ``mvitv2_s_mct`` (Table 7 rows and stage 1 of TransM3E).
* :class:`MCTSkeleton`: HD-GCN with classification (and distillation) tokens joined to the
  graph nodes after the first GCN unit (Fig. 4, Eqs. 2-3). Registered alone as ``hdgcn_mct``.
* :class:`TransM3E`: the two branches, MCTKD between them, MCTF (or a Table 5 alternative) on
  each branch, and the test-time combination of the two branches.
* :func:`load_stage1`: stage 2 starts from the two stage-1 single-branch models.

Token layout of every branch: ``[distillation tokens (C or 0) | classification tokens (C) | ...]``
(the released order: receiver tokens first, official-code.md section 1.3).

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

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from musclemap_lib.modalities import VIDEO_MODALITIES
from musclemap_lib.models import mvit
from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.fusion import (
    DEFAULT_MCTF,
    TOKEN_FUSIONS,
    DistillLosses,
    FusionOutput,
    LateFusion,
    LateFusionKind,
    MCTFConfig,
    TokenFusionKind,
    build_token_fusion,
    combine_scores,
    no_distillation,
)
from musclemap_lib.models.hdgcn import HDGCN
from musclemap_lib.models.hdgcn import hdgcn as build_hdgcn
from musclemap_lib.models.mvit import MViT
from musclemap_lib.models.registry import register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec

log = logging.getLogger(__name__)

KDPositions = Literal["sparse", "dense", "final", "none"]
TokenSet = Literal["distill", "cls"]
AuxModality = Literal["skeleton", "rgb_diff"]


# ------------------------------------------------------------------------------------------------
# Knowledge distillation
# ------------------------------------------------------------------------------------------------


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
        _check_choice("KDConfig.positions", self.positions, ("sparse", "dense", "final", "none"))
        _check_choice("KDConfig.receiver", self.receiver, ("distill", "cls"))
        _check_choice("KDConfig.sender", self.sender, ("distill", "cls"))
        _check_choice("KDConfig.softmax_axis", self.softmax_axis, ("token", "channel"))
        _check_choice(
            "KDConfig.direction", self.direction, ("sender_to_receiver", "receiver_to_sender")
        )
        if self.tau <= 0:
            raise ValueError(f"KDConfig.tau must be > 0, got {self.tau}")


def _check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


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


# ------------------------------------------------------------------------------------------------
# Branches
# ------------------------------------------------------------------------------------------------


class TokenTrace(NamedTuple):
    """The token sets of one branch for one clip batch.

    Attributes:
        steps: per block, the raw prefix tokens after that block, ``(B, P, D_block)``, with
            ``P = num_distill + num_cls`` in the order [distill | cls].
        final: ``(B, P, D)`` the tokens the prediction reads (after the final norm of MViTv2;
            after the last unit and the token lift of the skeleton branch).
    """

    steps: tuple[torch.Tensor, ...]
    final: torch.Tensor


def _split_tokens(
    tokens: torch.Tensor, num_distill: int
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(B, P, D) -> distill (B, C, D) or None, cls (B, C, D)."""
    return (tokens[:, :num_distill] if num_distill else None), tokens[:, num_distill:]


@dataclass(frozen=True)
class MCTVideoConfig:
    """MViTv2 with multi-classification tokens."""

    modality: str = "rgb"  # the video modality read (Table 7: rgb, flow, rgb_diff)
    num_tokens: int = 20  # C classification tokens (PAPER: one per muscle group); 1 = w/o MCT
    distill_tokens: bool = False  # also C knowledge-distillation tokens (stage 2 only)
    backbone: str = "mvitv2_s"  # a variant of musclemap_lib.models.mvit.MVIT_CONFIGS

    def __post_init__(self) -> None:
        _check_choice("MCTVideoConfig.modality", self.modality, VIDEO_MODALITIES)
        if self.num_tokens < 1:
            raise ValueError(f"MCTVideoConfig.num_tokens must be >= 1, got {self.num_tokens}")

    @property
    def num_distill(self) -> int:
        """Distillation tokens in front of the classification tokens (0 or C)."""
        return self.num_tokens if self.distill_tokens else 0


class MCTVideo(AMGEModel):
    """MViTv2 with ``C`` classification tokens (MCT, section 4.2) and optional distillation tokens.

    The tokens are the backbone's prefix tokens: never pooled, no relative position, no residual
    pooling (handled by :class:`~musclemap_lib.models.mvit.MViT`). The prediction is
    ``Linear(Dropout(mean of the classification tokens after the final norm))`` (Eq. 1; the
    softmax/sigmoid belongs to the loss).

    Args:
        cfg: :class:`MCTVideoConfig`.
        backbone: an :class:`~musclemap_lib.models.mvit.MViT` built with
            ``num_prefix_tokens = num_distill + num_tokens`` and ``learn_prefix_tokens=False``.
        num_classes: number of muscle groups.
    """

    def __init__(self, cfg: MCTVideoConfig, backbone: MViT, num_classes: int = 20) -> None:
        super().__init__((cfg.modality,), num_classes)
        p = cfg.num_distill + cfg.num_tokens
        if backbone.num_prefix_tokens != p or backbone.prefix_tokens is not None:
            raise ValueError(
                f"MCTVideo owns its {p} tokens: build the MViT with num_prefix_tokens={p} and "
                f"learn_prefix_tokens=False (got {backbone.num_prefix_tokens} prefix tokens, "
                f"learned={backbone.prefix_tokens is not None})"
            )
        if backbone.modality != cfg.modality:
            raise ValueError(f"backbone reads {backbone.modality!r}, config says {cfg.modality!r}")
        self.cfg = cfg
        self.backbone = backbone
        self.num_cls, self.num_distill = cfg.num_tokens, cfg.num_distill
        width = backbone.cfg.embed_dim
        self.cls_tokens = nn.Parameter(torch.zeros(1, cfg.num_tokens, width))
        nn.init.trunc_normal_(self.cls_tokens, std=0.02)
        self.distill_tokens: nn.Parameter | None = None
        if cfg.distill_tokens:
            # DEVIATION: the released receiver tokens start at zeros; 20 identical tokens are then
            # told apart only by the KD targets and MCTF's per-token LN, so we use the same
            # trunc-normal init as the classification tokens.
            self.distill_tokens = nn.Parameter(torch.zeros(1, cfg.num_tokens, width))
            nn.init.trunc_normal_(self.distill_tokens, std=0.02)
        self.depth = len(backbone.blocks)
        self.reduction_blocks = backbone.reduction_blocks
        self.block_widths = tuple(s.dim_out for s in backbone.cfg.blocks)
        self.feature_dim = backbone.cfg.out_dim

    def trace(self, video: torch.Tensor) -> TokenTrace:
        """Run the backbone and keep the prefix tokens after every block.

        Shape:
            video ``(B, C_in, T, H, W)`` -> steps ``(B, P, D_b)``, final ``(B, P, D)``.
        """
        parts = (
            [self.cls_tokens]
            if self.distill_tokens is None
            else [
                self.distill_tokens,
                self.cls_tokens,
            ]
        )
        prefix = torch.cat(parts, dim=1)  # (1, P, D0), [distill | cls]
        p = prefix.shape[1]
        x, thw = self.backbone.embed(video, prefix)  # (B, P + T'H'W', D0)
        steps = []
        for block in self.backbone.blocks:
            x, thw = block(x, thw)
            steps.append(x[:, :p])  # raw residual stream, as the released KD reads it
        return TokenTrace(tuple(steps), self.backbone.norm(x[:, :p]))  # LN is per token

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Classification tokens after the final norm, ``(B, C, D)``."""
        (video,) = self.inputs(batch)
        return self.trace(video).final[:, self.num_distill :]

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Eq. 1: ``(B, C, D)`` tokens -> mean -> Dropout -> Linear -> ``(B, num_classes)``."""
        return self.backbone.forward_head(tokens)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(batch))


@dataclass(frozen=True)
class MCTSkeletonConfig:
    """HD-GCN with multi-classification tokens (Fig. 4)."""

    num_tokens: int = 20  # C classification tokens; 1 = w/o MCT
    distill_tokens: bool = False  # also C knowledge-distillation (sender) tokens (stage 2 only)
    # ASSUMPTION: Eq. 3 merges the nodes only into the classification tokens. Read literally, the
    # distillation tokens would then never see the input (a learned constant to distil from), so
    # they get the same merge with their own P_s. False: Eq. 3 literally.
    merge_into_distill: bool = True
    # ASSUMPTION: the tokens leave the GCN through Linear(last width -> token_dim), the final width
    # of the RGB branch (768), so that the auxiliary MCTF works at the RGB width. This matches the
    # paper's 55.4M budget (reference/baselines.md section 7). None: no lift (the GCN width).
    token_dim: int | None = None
    head_dropout: float = 0.0  # dropout before the classifier (0 in the HD-GCN release)

    def __post_init__(self) -> None:
        if self.num_tokens < 1:
            raise ValueError(f"MCTSkeletonConfig.num_tokens must be >= 1, got {self.num_tokens}")

    @property
    def num_distill(self) -> int:
        """Distillation tokens in front of the classification tokens (0 or C)."""
        return self.num_tokens if self.distill_tokens else 0


class GCNTokenStep(nn.Module):
    """The token step after one GCN unit (Fig. 4, Eqs. 2 and 3).

    1. Tokens coming from a narrower unit are widened by a Linear (Identity when equal widths).
    2. Eq. 2: nodes and tokens are concatenated along the node axis and projected together by
       ``P_m`` (a Linear over channels, shared by nodes and tokens), then split again.
    3. Eq. 3: ``cls_m += P_s(nodes)`` (and the same for the distillation tokens with their own
       ``P_s``, see :attr:`MCTSkeletonConfig.merge_into_distill`).

    # ASSUMPTION: the graph convolutions act on the joints only: tokens are not graph nodes (the
    # adjacency has no row for them) and meet the nodes only in this step.
    # ASSUMPTION: P_m starts as the identity, so the node path starts as the plain HD-GCN; the
    # projected nodes replace the unit's output (Eq. 2 has no residual).
    # ASSUMPTION: P_s is "a FC layer" from nodes to tokens. The node count T*V changes with the
    # clip length, so P_s averages the nodes over time and maps the V joints to the C tokens with
    # Linear(V -> C) per channel: each token is a learned mix of joints.

    Shape:
        nodes ``(N, D, T, V)``, tokens ``(N, P, D_prev)`` -> nodes ``(N, D, T, V)``, tokens
        ``(N, P, D)``, with ``N = B * M`` and ``P = num_distill + num_cls``.
    """

    def __init__(
        self, d_in: int, d_out: int, num_joints: int, num_cls: int, num_distill: int, merge: bool
    ) -> None:
        super().__init__()
        self.num_distill = num_distill
        self.expand = nn.Linear(d_in, d_out) if d_in != d_out else nn.Identity()
        self.p_m = nn.Linear(d_out, d_out)
        with torch.no_grad():
            self.p_m.weight.copy_(torch.eye(d_out))
            self.p_m.bias.zero_()
        self.p_s = nn.Linear(num_joints, num_cls)
        self.p_s_distill = nn.Linear(num_joints, num_distill) if (num_distill and merge) else None

    def forward(
        self, nodes: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, d, t, v = nodes.shape
        tokens = self.expand(tokens)  # (N, P, D)
        p = tokens.shape[1]
        z = nodes.flatten(2).transpose(1, 2)  # (N, T*V, D), (t, v) order
        y = self.p_m(torch.cat([z, tokens], dim=1))  # Eq. 2, (N, T*V + P, D)
        z, tokens = y[:, : t * v], y[:, t * v :]
        nodes = z.transpose(1, 2).reshape(n, d, t, v)
        joints = nodes.mean(dim=2)  # (N, D, V)
        distill, cls = tokens[:, : self.num_distill], tokens[:, self.num_distill :]
        cls = cls + self.p_s(joints).transpose(1, 2)  # Eq. 3, (N, C, D)
        if self.p_s_distill is not None:
            distill = distill + self.p_s_distill(joints).transpose(1, 2)
        assert cls.shape[1] + distill.shape[1] == p
        return nodes, torch.cat([distill, cls], dim=1)


class MCTSkeleton(AMGEModel):
    """HD-GCN with multi-classification tokens joined after the first unit (Fig. 4, Eqs. 2-3).

    The prediction is ``Linear(Dropout(mean of the classification tokens))`` (Eq. 1), after the
    tokens of the M persons are averaged (as the GCN head averages persons) and lifted to
    :attr:`MCTSkeletonConfig.token_dim`.

    # ASSUMPTION: each person slot carries its own token set through the units (the GCN treats
    # persons as separate samples); the token sets are averaged over persons at every step read.
    # DEVIATION: HD-GCN's pooled-node classifier (``gcn.fc``) is replaced by an Identity: the
    # prediction reads the tokens, so that layer would be a dead parameter.

    Args:
        cfg: :class:`MCTSkeletonConfig`.
        gcn: an :class:`~musclemap_lib.models.hdgcn.HDGCN` (its block API is used).
        num_classes: number of muscle groups.
    """

    def __init__(self, cfg: MCTSkeletonConfig, gcn: HDGCN, num_classes: int = 20) -> None:
        super().__init__(("skeleton",), num_classes)
        self.cfg = cfg
        self.gcn = gcn
        gcn.fc = nn.Identity()  # type: ignore[assignment]
        self.num_cls, self.num_distill = cfg.num_tokens, cfg.num_distill
        widths = gcn.layer_channels
        # Born at the width of the first unit, after which they join the nodes (Fig. 4).
        self.cls_tokens = nn.Parameter(torch.zeros(1, self.num_cls, widths[0]))
        nn.init.trunc_normal_(self.cls_tokens, std=0.02)
        self.distill_tokens: nn.Parameter | None = None
        if self.num_distill:
            self.distill_tokens = nn.Parameter(torch.zeros(1, self.num_distill, widths[0]))
            nn.init.trunc_normal_(self.distill_tokens, std=0.02)
        self.steps = nn.ModuleList(
            GCNTokenStep(
                widths[max(i - 1, 0)],
                w,
                gcn.num_joints,
                self.num_cls,
                self.num_distill,
                cfg.merge_into_distill,
            )
            for i, w in enumerate(widths)
        )
        self.feature_dim = cfg.token_dim or widths[-1]
        self.lift = (
            nn.Linear(widths[-1], self.feature_dim)
            if self.feature_dim != widths[-1]
            else nn.Identity()
        )
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(self.feature_dim, num_classes)
        self.depth = len(gcn.layers)
        self.block_widths = tuple(widths)
        self.reduction_blocks = tuple(i for i, s in enumerate(gcn.layer_strides) if s > 1)

    def trace(self, skeleton: torch.Tensor) -> TokenTrace:
        """Run the GCN units with the token steps; tokens averaged over persons.

        Shape:
            skeleton ``(B, M, T, V, 3)`` -> steps ``(B, P, D_unit)``, final ``(B, P, token_dim)``.
        """
        b, m = skeleton.shape[:2]
        x = self.gcn.stem(skeleton)  # (B*M, 3, T, V)
        parts = (
            [self.cls_tokens]
            if self.distill_tokens is None
            else [
                self.distill_tokens,
                self.cls_tokens,
            ]
        )
        tokens = torch.cat(parts, dim=1).expand(x.shape[0], -1, -1)  # (B*M, P, D0)
        steps = []
        for layer, step in zip(self.gcn.layers, self.steps, strict=True):
            x = layer(x)  # (B*M, D_i, T_i, V)
            x, tokens = step(x, tokens)
            steps.append(tokens.reshape(b, m, *tokens.shape[1:]).mean(dim=1))  # (B, P, D_i)
        return TokenTrace(tuple(steps), self.lift(steps[-1]))

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Classification tokens after the lift, ``(B, C, token_dim)``."""
        (skeleton,) = self.inputs(batch)
        return self.trace(skeleton).final[:, self.num_distill :]

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Eq. 1: ``(B, C, D)`` tokens -> mean -> Dropout -> Linear -> ``(B, num_classes)``."""
        return self.head(self.head_drop(tokens.mean(dim=1)))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(batch))


Branch = MCTVideo | MCTSkeleton


# ------------------------------------------------------------------------------------------------
# TransM3E
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransM3EConfig:
    """TransM3E: which auxiliary branch, tokens, KD, fusion and test-time rule."""

    # PAPER: skeleton through HD-GCN. "rgb_diff": a second MViTv2 on RGB differences (released).
    aux_modality: AuxModality = "skeleton"
    num_tokens: int = 20  # C tokens per set (PAPER: 20, one per muscle group); 1 = w/o MCT
    kd: KDConfig = KDConfig()  # MCTKD / KD settings (positions "none" = w/o MCTKD)
    # Token fusion of each branch's (cls, distill) tokens: PAPER "mctf"; Table 5 "sum", "mul",
    # "selfattn", "crossattn"; "mean" = appendix E "simply average the MCTs" (w/o MCTF).
    fusion: TokenFusionKind = "mctf"
    mctf: MCTFConfig = DEFAULT_MCTF  # settings of the attention fusions
    # PAPER: "MCTKD and MCTF are added ... for both of the leveraged modalities and models", so the
    # auxiliary branch is trained and predicts too. Released: a frozen teacher without a head.
    freeze_aux: bool = False  # requires_grad False, eval mode, no gradient through it
    aux_head: bool = True  # the auxiliary branch predicts (needed by predict="mean")
    # PAPER: "the average of the prediction results from the two branches" (mean of the two
    # sigmoid scores); released: the main branch alone.
    predict: Literal["mean", "main"] = "mean"

    def __post_init__(self) -> None:
        _check_choice("TransM3EConfig.aux_modality", self.aux_modality, ("skeleton", "rgb_diff"))
        _check_choice("TransM3EConfig.fusion", self.fusion, TOKEN_FUSIONS)
        _check_choice("TransM3EConfig.predict", self.predict, ("mean", "main"))
        if self.num_tokens < 1:
            raise ValueError(f"TransM3EConfig.num_tokens must be >= 1, got {self.num_tokens}")
        if self.kd.receiver == "cls" and self.fusion not in ("mean", "cls"):
            raise ValueError(
                f"fusion {self.fusion!r} fuses classification and distillation tokens, but "
                f"kd.receiver='cls' (conventional KD) gives the main branch no distillation "
                f"tokens; use fusion='mean' (appendix E) or kd.receiver='distill'"
            )
        if self.predict == "mean" and not self.aux_head:
            raise ValueError(
                "predict='mean' averages both branches; set aux_head=True or predict='main'"
            )
        if self.freeze_aux and self.aux_head and self.kd.sender == "distill":
            raise ValueError(
                "a frozen auxiliary branch cannot learn new distillation tokens and fusion for its "
                "head; use kd.sender='cls' or aux_head=False with freeze_aux=True"
            )


class TransM3E(AMGEModel):
    """The two-branch model of the paper (Fig. 3).

    forward(batch) returns a :class:`~musclemap_lib.models.fusion.FusionOutput`:

    * ``logits``: the prediction that evaluation scores (``predict``: the mean of the two branches'
      scores, or the main branch alone);
    * ``main_logits`` / ``aux_logits``: each branch alone; the training engine applies the BCE to
      both (``aux_logits`` is ``None`` for a headless teacher);
    * ``kd``: the KD terms and their total (mean over positions, Eq. 4), to add to the BCE.

    Args:
        cfg: :class:`TransM3EConfig`.
        main: the RGB :class:`MCTVideo` (with distillation tokens iff ``kd.receiver='distill'``).
        aux: the auxiliary branch (:class:`MCTSkeleton` or :class:`MCTVideo`), with distillation
            tokens iff ``kd.sender='distill'``.
        num_classes: number of muscle groups.
    """

    def __init__(
        self, cfg: TransM3EConfig, main: MCTVideo, aux: Branch, num_classes: int = 20
    ) -> None:
        modalities = tuple(dict.fromkeys((*main.modalities, *aux.modalities)))
        super().__init__(modalities, num_classes)
        want_main, want_aux = cfg.kd.receiver == "distill", cfg.kd.sender == "distill"
        if (main.num_distill > 0) != want_main or (aux.num_distill > 0) != want_aux:
            raise ValueError(
                f"kd.receiver={cfg.kd.receiver!r} / kd.sender={cfg.kd.sender!r} need distillation "
                f"tokens on main={want_main} / aux={want_aux}; got main={main.num_distill > 0}, "
                f"aux={aux.num_distill > 0}"
            )
        if main.num_cls != cfg.num_tokens or aux.num_cls != cfg.num_tokens:
            raise ValueError(f"both branches must carry num_tokens={cfg.num_tokens} tokens")
        self.cfg = cfg
        self.main, self.aux = main, aux
        c = cfg.num_tokens
        self.main_fusion = build_token_fusion(
            cfg.fusion if main.num_distill else "cls", main.feature_dim, c, cfg.mctf
        )
        self.aux_fusion = (
            build_token_fusion(
                cfg.fusion if aux.num_distill else "cls", aux.feature_dim, c, cfg.mctf
            )
            if cfg.aux_head
            else None
        )
        self.pairs = kd_pairs(cfg.kd.positions, main.depth, main.reduction_blocks, aux.depth)
        # Receiver-side projections where the widths differ (a GCN unit is narrower than the
        # paired MViT block).
        # ASSUMPTION: the projection sits on the receiver, FitNets-style: the sender's tokens are a
        # fixed target, and a trainable projection on the sender side could shrink the target to
        # a uniform distribution that is trivially matched.
        self.kd_proj = nn.ModuleDict(
            {
                self._key(b, g): (
                    nn.Linear(main.block_widths[b], aux.block_widths[g])
                    if main.block_widths[b] != aux.block_widths[g]
                    else nn.Identity()
                )
                for b, g in self.pairs
            }
        )
        if c == 1 and cfg.kd.softmax_axis == "token" and self.pairs:
            log.warning(
                "TransM3E with a single token and softmax over the token axis: every KD term is "
                "identically zero (a softmax over one token is 1); use kd.softmax_axis='channel' "
                "to distil a single token"
            )
        if cfg.freeze_aux:
            self.aux.requires_grad_(False)
            self.aux.eval()

    @staticmethod
    def _key(b: int, g: int) -> str:
        return f"main{b}_aux{g}"

    def train(self, mode: bool = True) -> TransM3E:
        """Set train/eval mode; a frozen auxiliary branch always stays in eval mode.

        # DEVIATION: the released code leaves its frozen teacher in train mode, so the teacher's
        # stochastic depth perturbs the KD targets (official-code.md discrepancy 29).
        """
        super().train(mode)
        if self.cfg.freeze_aux:
            self.aux.eval()
        return self

    def _tokens(self, tokens: torch.Tensor, which: TokenSet, num_distill: int) -> torch.Tensor:
        c = self.cfg.num_tokens
        return (
            tokens[:, :num_distill]
            if which == "distill"
            else tokens[:, num_distill : num_distill + c]
        )

    def distill(self, main: TokenTrace, aux: TokenTrace) -> DistillLosses:
        """The KD terms between two traces at :attr:`pairs` (Eq. 4)."""
        kd = self.cfg.kd
        terms, names = [], []
        for b, g in self.pairs:
            receiver = self._tokens(main.steps[b], kd.receiver, self.main.num_distill)
            sender = self._tokens(aux.steps[g], kd.sender, self.aux.num_distill)
            if kd.detach_sender:
                sender = sender.detach()
            terms.append(kd_term(self.kd_proj[self._key(b, g)](receiver), sender, kd))
            names.append(f"main{b}<-aux{g}")
        if not terms:
            return no_distillation(main.final)
        # PAPER: Eq. 4, the sum over positions divided by their number (released: / 16 = DE count).
        return DistillLosses(tuple(terms), tuple(names), torch.stack(terms).mean())

    def _predict(self, branch: Branch, fusion: nn.Module, final: torch.Tensor) -> torch.Tensor:
        distill, cls = _split_tokens(final, branch.num_distill)
        return branch.forward_head(fusion(cls, distill))  # Eq. 1 on the fused tokens

    def forward(self, batch: Mapping[str, torch.Tensor]) -> FusionOutput:
        """Run both branches; see the class docstring for the output."""
        inputs = dict(zip(self.modalities, self.inputs(batch), strict=True))
        main = self.main.trace(inputs[self.main.modalities[0]])
        if self.cfg.freeze_aux:
            with torch.no_grad():
                aux = self.aux.trace(inputs[self.aux.modalities[0]])
        else:
            aux = self.aux.trace(inputs[self.aux.modalities[0]])
        kd = self.distill(main, aux)
        main_logits = self._predict(self.main, self.main_fusion, main.final)
        aux_logits = (
            self._predict(self.aux, self.aux_fusion, aux.final)
            if self.aux_fusion is not None
            else None
        )
        if self.cfg.predict == "mean":
            assert aux_logits is not None
            logits = combine_scores(main_logits, aux_logits, "mean_prob")
        else:
            logits = main_logits
        return FusionOutput(logits, main_logits, aux_logits, kd)


# ------------------------------------------------------------------------------------------------
# Stage-1 weights
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage1Report:
    """What :func:`load_stage1` did, per branch (``main``, ``aux``)."""

    loaded: dict[str, tuple[str, ...]]  # parameter/buffer names copied from the stage-1 model
    missing: dict[str, tuple[str, ...]]  # stage-2 names the stage-1 model lacks (kept fresh)
    unused: dict[str, tuple[str, ...]]  # stage-1 names stage 2 has no place for

    def __str__(self) -> str:
        lines = []
        for branch in self.loaded:
            lines.append(
                f"{branch}: loaded {len(self.loaded[branch])}, fresh {list(self.missing[branch])}, "
                f"unused {list(self.unused[branch])}"
            )
        return "\n".join(lines)


def load_stage1(
    model: TransM3E | LateFusion,
    rgb_state_dict: Mapping[str, torch.Tensor],
    aux_state_dict: Mapping[str, torch.Tensor],
) -> Stage1Report:
    """Load the two stage-1 single-branch models into a stage-2 model.

    Stage 1 trains each branch with MCT only (``mvitv2_s_mct`` and ``hdgcn_mct``, or their
    variants: see :func:`stage1_models`); their state dicts go into ``model.main`` and
    ``model.aux`` by name. Everything stage 2 adds (distillation tokens, their P_s merges, the
    fusions, the KD projections) keeps its fresh initialisation and is listed in the report.

    Args:
        model: a :class:`TransM3E` or :class:`~musclemap_lib.models.fusion.LateFusion`.
        rgb_state_dict: ``state_dict()`` of the stage-1 main-branch model.
        aux_state_dict: ``state_dict()`` of the stage-1 auxiliary model.

    Returns:
        A :class:`Stage1Report` (also logged).

    Raises:
        ValueError: when a name matches with another shape, or when no name matches at all (a
            checkpoint of another model, or one with a prefix such as ``model.``).
    """
    loaded, missing, unused = {}, {}, {}
    for name, branch, source in (
        ("main", model.main, rgb_state_dict),
        ("aux", model.aux, aux_state_dict),
    ):
        target = branch.state_dict()
        bad = [
            f"{k}: stage-1 {tuple(v.shape)} vs stage-2 {tuple(target[k].shape)}"
            for k, v in source.items()
            if k in target and v.shape != target[k].shape
        ]
        if bad:
            raise ValueError(
                f"stage-1 {name} weights do not fit the {name} branch (was stage 1 trained with "
                f"the same num_tokens, scale and modality?): " + "; ".join(bad)
            )
        hits = [k for k in source if k in target]
        if not hits:
            raise ValueError(
                f"no stage-1 {name} key matches the {name} branch (e.g. stage 1 has "
                f"{list(source)[:3]}, the branch has {list(target)[:3]}); pass the single-branch "
                f"model's own state_dict() (strip any 'model.' prefix of a training checkpoint)"
            )
        merged = dict(target)
        merged.update({k: source[k] for k in hits})
        branch.load_state_dict(merged, strict=True)
        loaded[name] = tuple(hits)
        missing[name] = tuple(k for k in target if k not in source)
        unused[name] = tuple(k for k in source if k not in target)
    report = Stage1Report(loaded, missing, unused)
    log.info("stage-1 weights loaded:\n%s", report)
    return report


# ------------------------------------------------------------------------------------------------
# Variants (data) and builders
# ------------------------------------------------------------------------------------------------

# Single-branch models: Table 7 rows and the stage-1 models of TransM3E.
MCT_VIDEO_VARIANTS: dict[str, MCTVideoConfig] = {
    "mvitv2_s_mct": MCTVideoConfig(modality="rgb"),  # Table 7 "RGB"; stage 1 of the RGB branch
    "mvitv2_s_mct_flow": MCTVideoConfig(modality="flow"),  # Table 7 "Optical Flow"
    "mvitv2_s_mct_rgb_diff": MCTVideoConfig(modality="rgb_diff"),  # Table 7; released teacher
    "mvitv2_s_sct": MCTVideoConfig(modality="rgb", num_tokens=1),  # stage 1 of w/o MCT
}
MCT_SKELETON_VARIANTS: dict[str, MCTSkeletonConfig] = {
    "hdgcn_mct": MCTSkeletonConfig(),  # stage 1 of the skeleton branch
    "hdgcn_sct": MCTSkeletonConfig(num_tokens=1),  # stage 1 of w/o MCT
}

_T = TransM3EConfig()
_APPENDIX_E = replace(_T, fusion="mean")  # Table 4 rows: "without MCTF ... simply average the MCTs"
_CONVENTIONAL_KD = KDConfig(receiver="cls", sender="cls")


def _kd(base: KDConfig, positions: KDPositions) -> KDConfig:
    return replace(base, positions=positions)


TRANSM3E_VARIANTS: dict[str, TransM3EConfig] = {
    # Table 3 (w/ all = SP-MCTKD + MCTF; both branches predict; test = mean of the branches).
    "transm3e": _T,
    "transm3e_no_mct": replace(_T, num_tokens=1),
    "transm3e_no_mctkd": replace(_T, kd=_kd(_T.kd, "none")),
    "transm3e_no_mctf": replace(_T, fusion="mean"),
    # Table 4: appendix E says every row is "with MCTs while without MCTF", so SP-MCTKD here is
    # transm3e_no_mctf (the same config), not transm3e, although the paper prints transm3e's numbers.
    "transm3e_fl_kd": replace(_APPENDIX_E, kd=_kd(_CONVENTIONAL_KD, "final")),
    "transm3e_de_kd": replace(_APPENDIX_E, kd=_kd(_CONVENTIONAL_KD, "dense")),
    "transm3e_sp_kd": replace(_APPENDIX_E, kd=_kd(_CONVENTIONAL_KD, "sparse")),
    "transm3e_fl_mctkd": replace(_APPENDIX_E, kd=_kd(_T.kd, "final")),
    "transm3e_de_mctkd": replace(_APPENDIX_E, kd=_kd(_T.kd, "dense")),
    "transm3e_sp_mctkd": replace(_APPENDIX_E, kd=_kd(_T.kd, "sparse")),
    # Table 5 (the MCTF row is transm3e).
    "transm3e_fusion_sum": replace(_T, fusion="sum"),
    "transm3e_fusion_mul": replace(_T, fusion="mul"),
    "transm3e_fusion_selfattn": replace(_T, fusion="selfattn"),
    "transm3e_fusion_crossattn": replace(_T, fusion="crossattn"),
    # The released code: RGB-difference MViTv2-S teacher, frozen and headless, dense KD from its
    # classification tokens into the receiver tokens, prediction by the RGB branch alone, and the
    # released MCTF head merge (official-code.md sections 1 and 3).
    "transm3e_rgbdiff_teacher": TransM3EConfig(
        aux_modality="rgb_diff",
        kd=KDConfig(positions="dense", receiver="distill", sender="cls"),
        mctf=replace(DEFAULT_MCTF, head_merge="released"),
        freeze_aux=True,
        aux_head=False,
        predict="main",
    ),
}

# Table 6: late fusion of the two stage-1 single-branch models.
LATE_FUSION_VARIANTS: dict[str, LateFusionKind] = {
    "late_fusion_sum": "sum",
    "late_fusion_concat": "concat",
    "late_fusion_mul": "mul",
}


def _mvit(
    cfg: MCTVideoConfig, scale: ScaleSpec, num_classes: int, overrides: Mapping[str, Any]
) -> MViT:
    p = cfg.num_distill + cfg.num_tokens
    mcfg = mvit.config(
        cfg.backbone, scale, num_prefix_tokens=p, learn_prefix_tokens=False, **overrides
    )
    return MViT(mcfg, num_classes=num_classes, modality=cfg.modality)


def build_mct_video(
    cfg: MCTVideoConfig, scale: ScaleSpec = PAPER, num_classes: int = 20, **mvit_overrides: Any
) -> MCTVideo:
    """Build an :class:`MCTVideo`; ``mvit_overrides`` are fields of ``MViTConfig``."""
    return MCTVideo(cfg, _mvit(cfg, scale, num_classes, mvit_overrides), num_classes)


def build_mct_skeleton(
    cfg: MCTSkeletonConfig, scale: ScaleSpec = PAPER, num_classes: int = 20, **hdgcn_overrides: Any
) -> MCTSkeleton:
    """Build an :class:`MCTSkeleton`; the token lift defaults to MViTv2-S's final width at ``scale``.

    ``hdgcn_overrides`` go to the ``hdgcn`` builder (e.g. ``variant="l1"``).
    """
    if cfg.token_dim is None:
        cfg = replace(cfg, token_dim=mvit.config("mvitv2_s", scale).out_dim)
    gcn = build_hdgcn(scale=scale, num_classes=num_classes, **hdgcn_overrides)
    return MCTSkeleton(cfg, gcn, num_classes)


def _branch_configs(
    cfg: TransM3EConfig,
) -> tuple[MCTVideoConfig, MCTVideoConfig | MCTSkeletonConfig]:
    """The two branch configs of a TransM3E config (stage-1 configs have distill_tokens=False)."""
    main = MCTVideoConfig("rgb", cfg.num_tokens, cfg.kd.receiver == "distill")
    aux_distill = cfg.kd.sender == "distill"
    if cfg.aux_modality == "skeleton":
        return main, MCTSkeletonConfig(num_tokens=cfg.num_tokens, distill_tokens=aux_distill)
    return main, MCTVideoConfig("rgb_diff", cfg.num_tokens, aux_distill)


def build_transm3e(
    cfg: TransM3EConfig,
    scale: ScaleSpec = PAPER,
    num_classes: int = 20,
    mvit_overrides: Mapping[str, Any] | None = None,
    aux_overrides: Mapping[str, Any] | None = None,
) -> TransM3E:
    """Build a :class:`TransM3E` from its config at a scale.

    Args:
        cfg: :class:`TransM3EConfig`.
        scale: the scale of both branches (:mod:`musclemap_lib.models.scales`).
        num_classes: number of muscle groups.
        mvit_overrides: ``MViTConfig`` fields for the RGB branch (and an RGB-difference teacher).
        aux_overrides: options of the auxiliary builder (``hdgcn`` or ``MViTConfig`` fields).
    """
    main_cfg, aux_cfg = _branch_configs(cfg)
    main = build_mct_video(main_cfg, scale, num_classes, **(mvit_overrides or {}))
    if isinstance(aux_cfg, MCTSkeletonConfig):
        aux: Branch = build_mct_skeleton(aux_cfg, scale, num_classes, **(aux_overrides or {}))
    else:
        aux = build_mct_video(
            aux_cfg, scale, num_classes, **(aux_overrides or mvit_overrides or {})
        )
    return TransM3E(cfg, main, aux, num_classes)


def variant_config(name: str) -> Any:
    """The config (data) behind a registered TransM3E-family name."""
    for table in (
        TRANSM3E_VARIANTS,
        MCT_VIDEO_VARIANTS,
        MCT_SKELETON_VARIANTS,
        LATE_FUSION_VARIANTS,
    ):
        if name in table:
            return table[name]
    raise ValueError(f"{name!r} is not a TransM3E-family model")


def stage1_models(name: str) -> tuple[str, str]:
    """The registered stage-1 models (main, aux) whose weights a two-branch variant starts from.

    Found by matching the variant's branch configs (without distillation tokens) against the
    single-branch variant tables, so the answer follows the data.

    Raises:
        ValueError: for a name that has no stage 1 (a single-branch model) or no match.
    """
    if name in LATE_FUSION_VARIANTS:
        cfg = _T
    elif name in TRANSM3E_VARIANTS:
        cfg = TRANSM3E_VARIANTS[name]
    else:
        raise ValueError(f"{name!r} is not a two-branch TransM3E variant; it is trained directly")
    out = []
    for branch in _branch_configs(cfg):
        stage1 = replace(branch, distill_tokens=False)
        table = MCT_VIDEO_VARIANTS if isinstance(stage1, MCTVideoConfig) else MCT_SKELETON_VARIANTS
        names = [n for n, c in table.items() if c == stage1]
        if not names:
            raise ValueError(f"no registered stage-1 model has the config {stage1}")
        out.append(names[0])
    return out[0], out[1]


def _late_fusion(
    kind: LateFusionKind, scale: ScaleSpec, num_classes: int, **overrides: Any
) -> LateFusion:
    main_name, aux_name = stage1_models(f"late_fusion_{kind}")
    main = build_mct_video(MCT_VIDEO_VARIANTS[main_name], scale, num_classes)
    aux = build_mct_skeleton(MCT_SKELETON_VARIANTS[aux_name], scale, num_classes)
    return LateFusion(main, aux, kind, num_classes, **overrides)


def _transm3e(name: str, scale: ScaleSpec, num_classes: int, **overrides: Any) -> TransM3E:
    """Variant ``name`` with optional ``TransM3EConfig`` field overrides (e.g. ``predict="main"``)."""
    valid = {f.name for f in fields(TransM3EConfig)} | {"mvit_overrides", "aux_overrides"}
    unknown = set(overrides) - valid
    if unknown:
        raise ValueError(f"unknown TransM3E option(s) {sorted(unknown)}; valid: {sorted(valid)}")
    mvit_ov, aux_ov = overrides.pop("mvit_overrides", None), overrides.pop("aux_overrides", None)
    cfg = replace(TRANSM3E_VARIANTS[name], **overrides)
    return build_transm3e(cfg, scale, num_classes, mvit_ov, aux_ov)


@register_model
def mvitv2_s_mct(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> MCTVideo:
    """MViTv2-S with 20 classification tokens on RGB (Table 7 "RGB"; stage 1)."""
    return build_mct_video(MCT_VIDEO_VARIANTS["mvitv2_s_mct"], scale, num_classes, **kw)


@register_model
def mvitv2_s_mct_flow(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> MCTVideo:
    """MViTv2-S with MCT on optical flow (Table 7)."""
    return build_mct_video(MCT_VIDEO_VARIANTS["mvitv2_s_mct_flow"], scale, num_classes, **kw)


@register_model
def mvitv2_s_mct_rgb_diff(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> MCTVideo:
    """MViTv2-S with MCT on RGB differences (Table 7; the released teacher's stage 1)."""
    return build_mct_video(MCT_VIDEO_VARIANTS["mvitv2_s_mct_rgb_diff"], scale, num_classes, **kw)


@register_model
def mvitv2_s_sct(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> MCTVideo:
    """MViTv2-S with a single classification token in our token wrapper (stage 1 of w/o MCT)."""
    return build_mct_video(MCT_VIDEO_VARIANTS["mvitv2_s_sct"], scale, num_classes, **kw)


@register_model
def hdgcn_mct(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> MCTSkeleton:
    """HD-GCN with 20 classification tokens (Fig. 4; stage 1 of the skeleton branch)."""
    return build_mct_skeleton(MCT_SKELETON_VARIANTS["hdgcn_mct"], scale, num_classes, **kw)


@register_model
def hdgcn_sct(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> MCTSkeleton:
    """HD-GCN with a single classification token (stage 1 of w/o MCT)."""
    return build_mct_skeleton(MCT_SKELETON_VARIANTS["hdgcn_sct"], scale, num_classes, **kw)


@register_model
def transm3e(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """TransM3E: SP-MCTKD + MCTF, skeleton (HD-GCN) auxiliary branch (Tables 2-6 "ours")."""
    return _transm3e("transm3e", scale, num_classes, **kw)


@register_model
def transm3e_no_mct(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 3 w/o MCT: one token per set."""
    return _transm3e("transm3e_no_mct", scale, num_classes, **kw)


@register_model
def transm3e_no_mctkd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 3 w/o MCTKD: no distillation loss (the tokens and MCTF stay)."""
    return _transm3e("transm3e_no_mctkd", scale, num_classes, **kw)


@register_model
def transm3e_no_mctf(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 3 w/o MCTF: the tokens are averaged instead of fused."""
    return _transm3e("transm3e_no_mctf", scale, num_classes, **kw)


@register_model
def transm3e_fl_kd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 4 FL-KD."""
    return _transm3e("transm3e_fl_kd", scale, num_classes, **kw)


@register_model
def transm3e_de_kd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 4 DE-KD."""
    return _transm3e("transm3e_de_kd", scale, num_classes, **kw)


@register_model
def transm3e_sp_kd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 4 SP-KD."""
    return _transm3e("transm3e_sp_kd", scale, num_classes, **kw)


@register_model
def transm3e_fl_mctkd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 4 FL-MCTKD."""
    return _transm3e("transm3e_fl_mctkd", scale, num_classes, **kw)


@register_model
def transm3e_de_mctkd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 4 DE-MCTKD."""
    return _transm3e("transm3e_de_mctkd", scale, num_classes, **kw)


@register_model
def transm3e_sp_mctkd(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 4 SP-MCTKD (appendix E: without MCTF; the same config as transm3e_no_mctf)."""
    return _transm3e("transm3e_sp_mctkd", scale, num_classes, **kw)


@register_model
def transm3e_fusion_sum(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 5 Sum."""
    return _transm3e("transm3e_fusion_sum", scale, num_classes, **kw)


@register_model
def transm3e_fusion_mul(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> TransM3E:
    """Table 5 Multiplication."""
    return _transm3e("transm3e_fusion_mul", scale, num_classes, **kw)


@register_model
def transm3e_fusion_selfattn(
    scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any
) -> TransM3E:
    """Table 5 SelfAttention."""
    return _transm3e("transm3e_fusion_selfattn", scale, num_classes, **kw)


@register_model
def transm3e_fusion_crossattn(
    scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any
) -> TransM3E:
    """Table 5 CrossAttention."""
    return _transm3e("transm3e_fusion_crossattn", scale, num_classes, **kw)


@register_model
def transm3e_rgbdiff_teacher(
    scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any
) -> TransM3E:
    """The released code's TransM3E: frozen RGB-difference MViTv2-S teacher, dense KD."""
    return _transm3e("transm3e_rgbdiff_teacher", scale, num_classes, **kw)


@register_model
def late_fusion_sum(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> LateFusion:
    """Table 6 LateFusionSum: the mean of the two single-branch models' scores."""
    return _late_fusion("sum", scale, num_classes, **kw)


@register_model
def late_fusion_concat(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> LateFusion:
    """Table 6 LateFusionConcat: a trained head on the joined features."""
    return _late_fusion("concat", scale, num_classes, **kw)


@register_model
def late_fusion_mul(scale: ScaleSpec = PAPER, num_classes: int = 20, **kw: Any) -> LateFusion:
    """Table 6 LateFusionMul: the product of the two scores."""
    return _late_fusion("mul", scale, num_classes, **kw)
