"""Multi-classification tokens (MCT) on the two backbones: the single-branch models of TransM3E.

PAPER: sections 4.2 and 4.3, Figs. 3 and 4, Eqs. 1 to 3. The released code
(../shared/reference/official-code.md) is an older, RGB-difference version; where it fills a gap
of the paper we follow it and say so.

* :class:`MCTVideo`: MViTv2 with ``C`` classification tokens (and optionally ``C`` distillation
  tokens) as prefix tokens; prediction ``P_alpha(mean of the classification tokens)`` (Eq. 1).
  Registered alone as ``mvitv2_s_mct`` (Table 7 rows and stage 1 of TransM3E).
* :class:`MCTSkeleton`: HD-GCN with classification (and distillation) tokens joined to the
  graph nodes after the first GCN unit (Fig. 4, Eqs. 2-3) by :class:`GCNTokenStep`. Registered
  alone as ``hdgcn_mct``.
* :class:`TokenTrace`: the tokens of a branch after every block, what MCTKD reads.

Token layout of every branch: ``[distillation tokens (C or 0) | classification tokens (C) | ...]``
(the released order: receiver tokens first, official-code.md section 1.3). The file reads top to
bottom: the trace, the video branch, the skeleton branch, the variant tables, the builders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import torch
from torch import nn

from musclemap_lib.modalities import VIDEO_MODALITIES
from musclemap_lib.models import mvit
from musclemap_lib.models.base import AMGEModel, check_choice
from musclemap_lib.models.hdgcn import HDGCN
from musclemap_lib.models.hdgcn import hdgcn as build_hdgcn
from musclemap_lib.models.mvit import MViT
from musclemap_lib.models.registry import register_variants
from musclemap_lib.models.scales import PAPER, ScaleSpec
from musclemap_lib.muscles import NUM_MUSCLES


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


def split_tokens(
    tokens: torch.Tensor, num_distill: int
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(B, P, D) -> distill (B, C, D) or None, cls (B, C, D)."""
    return (tokens[:, :num_distill] if num_distill else None), tokens[:, num_distill:]


class MCTBranch(AMGEModel):
    """What the two MCT branches share: their token sets, the trace, and the prediction path.

    A branch owns ``C`` classification tokens (and ``C`` or 0 distillation tokens), runs its
    backbone with them in :meth:`trace` and predicts from the classification tokens the trace
    ends with (Eq. 1). A subclass implements :meth:`trace` and :meth:`forward_head` and sets
    ``depth``, ``block_widths``, ``reduction_blocks`` (what MCTKD pairs) and ``feature_dim``.
    """

    def _init_tokens(self, num_cls: int, num_distill: int, width: int) -> None:
        """Create the token sets, ``(1, C, width)`` each, trunc-normal (std 0.02)."""
        self.num_cls, self.num_distill = num_cls, num_distill
        self.cls_tokens = nn.Parameter(torch.zeros(1, num_cls, width))
        nn.init.trunc_normal_(self.cls_tokens, std=0.02)
        self.distill_tokens: nn.Parameter | None = None
        if num_distill:
            # DEVIATION: the released receiver tokens start at zeros; 20 identical tokens are then
            # told apart only by the KD targets and MCTF's per-token LN, so we use the same
            # trunc-normal init as the classification tokens.
            self.distill_tokens = nn.Parameter(torch.zeros(1, num_distill, width))
            nn.init.trunc_normal_(self.distill_tokens, std=0.02)

    def tokens(self) -> torch.Tensor:
        """The token sets in the released order [distill | cls], ``(1, P, D0)``."""
        parts = (
            [self.cls_tokens]
            if self.distill_tokens is None
            else [self.distill_tokens, self.cls_tokens]
        )
        return torch.cat(parts, dim=1)

    def trace(self, x: torch.Tensor) -> TokenTrace:
        """Run the backbone with the tokens; the tokens after every block and at the end."""
        raise NotImplementedError

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The classification tokens the trace ends with, ``(B, C, feature_dim)``."""
        (x,) = self.inputs(batch)
        return self.trace(x).final[:, self.num_distill :]

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(batch))


def _distill_count(num_tokens: int, distill_tokens: bool, count: int | None) -> int:
    """The number of distillation tokens of a branch config (0 without distillation tokens)."""
    if not distill_tokens:
        return 0
    if count is None:
        return num_tokens
    if count < 1:
        raise ValueError(f"num_distill_tokens must be >= 1 (or None for C), got {count}")
    return count


@dataclass(frozen=True)
class MCTVideoConfig:
    """MViTv2 with multi-classification tokens."""

    modality: str = "rgb"  # the video modality read (Table 7: rgb, flow, rgb_diff)
    # C classification tokens (RELEASED: 20, one per muscle group; the paper names only C)
    num_tokens: int = 20  # 1 = w/o MCT
    distill_tokens: bool = False  # also C knowledge-distillation tokens (stage 2 only)
    # how many distillation tokens: None = C (MCTKD); 1 = section 4.7's "single distillation token"
    num_distill_tokens: int | None = None
    backbone: str = "mvitv2_s"  # a variant of musclemap_lib.models.mvit.MVIT_CONFIGS

    def __post_init__(self) -> None:
        check_choice("MCTVideoConfig.modality", self.modality, VIDEO_MODALITIES)
        if self.num_tokens < 1:
            raise ValueError(f"MCTVideoConfig.num_tokens must be >= 1, got {self.num_tokens}")

    @property
    def num_distill(self) -> int:
        """Distillation tokens in front of the classification tokens (0, C, or the count set)."""
        return _distill_count(self.num_tokens, self.distill_tokens, self.num_distill_tokens)


class MCTVideo(MCTBranch):
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
        self._init_tokens(cfg.num_tokens, cfg.num_distill, backbone.cfg.embed_dim)
        self.depth = len(backbone.blocks)
        self.reduction_blocks = backbone.reduction_blocks
        self.block_widths = tuple(s.dim_out for s in backbone.cfg.blocks)
        self.feature_dim = backbone.cfg.out_dim

    def trace(self, video: torch.Tensor) -> TokenTrace:
        """Run the backbone and keep the prefix tokens after every block.

        Shape:
            video ``(B, C_in, T, H, W)`` -> steps ``(B, P, D_b)``, final ``(B, P, D)``.
        """
        prefix = self.tokens()  # (1, P, D0), [distill | cls]
        p = prefix.shape[1]
        x, thw = self.backbone.embed(video, prefix)  # (B, P + T'H'W', D0)
        steps = []
        for block in self.backbone.blocks:
            x, thw = block(x, thw)
            steps.append(x[:, :p])  # raw residual stream, as the released KD reads it
        return TokenTrace(tuple(steps), self.backbone.norm(x[:, :p]))  # LN is per token

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Eq. 1: ``(B, C, D)`` tokens -> mean -> Dropout -> Linear -> ``(B, num_classes)``."""
        return self.backbone.forward_head(tokens)


@dataclass(frozen=True)
class MCTSkeletonConfig:
    """HD-GCN with multi-classification tokens (Fig. 4)."""

    num_tokens: int = 20  # C classification tokens; 1 = w/o MCT
    distill_tokens: bool = False  # also C knowledge-distillation (sender) tokens (stage 2 only)
    # how many distillation tokens: None = C (MCTKD); 1 = section 4.7's "single distillation token"
    num_distill_tokens: int | None = None
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
        """Distillation tokens in front of the classification tokens (0, C, or the count set)."""
        return _distill_count(self.num_tokens, self.distill_tokens, self.num_distill_tokens)


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


class MCTSkeleton(MCTBranch):
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
        widths = gcn.layer_channels
        # Born at the width of the first unit, after which they join the nodes (Fig. 4).
        self._init_tokens(cfg.num_tokens, cfg.num_distill, widths[0])
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
        tokens = self.tokens().expand(x.shape[0], -1, -1)  # (B*M, P, D0)
        steps = []
        for layer, step in zip(self.gcn.layers, self.steps, strict=True):
            x = layer(x)  # (B*M, D_i, T_i, V)
            x, tokens = step(x, tokens)
            steps.append(tokens.reshape(b, m, *tokens.shape[1:]).mean(dim=1))  # (B, P, D_i)
        return TokenTrace(tuple(steps), self.lift(steps[-1]))

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Eq. 1: ``(B, C, D)`` tokens -> mean -> Dropout -> Linear -> ``(B, num_classes)``."""
        return self.head(self.head_drop(tokens.mean(dim=1)))


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


def build_mct_video(
    cfg: MCTVideoConfig,
    scale: ScaleSpec = PAPER,
    num_classes: int = NUM_MUSCLES,
    **mvit_overrides: Any,
) -> MCTVideo:
    """Build an :class:`MCTVideo`; ``mvit_overrides`` are fields of ``MViTConfig``."""
    p = cfg.num_distill + cfg.num_tokens  # the MCT tokens are the backbone's prefix tokens
    mcfg = mvit.config(
        cfg.backbone, scale, num_prefix_tokens=p, learn_prefix_tokens=False, **mvit_overrides
    )
    backbone = MViT(mcfg, num_classes=num_classes, modality=cfg.modality)
    return MCTVideo(cfg, backbone, num_classes)


def build_mct_skeleton(
    cfg: MCTSkeletonConfig,
    scale: ScaleSpec = PAPER,
    num_classes: int = NUM_MUSCLES,
    **hdgcn_overrides: Any,
) -> MCTSkeleton:
    """Build an :class:`MCTSkeleton`; the token lift defaults to MViTv2-S's final width at ``scale``.

    ``hdgcn_overrides`` go to the ``hdgcn`` builder (e.g. ``variant="l1"``).
    """
    if cfg.token_dim is None:
        cfg = replace(cfg, token_dim=mvit.config("mvitv2_s", scale).out_dim)
    gcn = build_hdgcn(scale=scale, num_classes=num_classes, **hdgcn_overrides)
    return MCTSkeleton(cfg, gcn, num_classes)


register_variants(
    MCT_VIDEO_VARIANTS,
    build_mct_video,
    "MViTv2-S with multi-classification tokens on one video modality (Table 7; stage 1).",
)
register_variants(
    MCT_SKELETON_VARIANTS,
    build_mct_skeleton,
    "HD-GCN with multi-classification tokens (Fig. 4; stage 1 of the skeleton branch).",
)
