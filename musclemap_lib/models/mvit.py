"""MViTv2-S and MViTv2-B with any number of prefix tokens (baselines of Table 2, backbone of TransM3E).

Written for this study because TransM3E's multi-token design (several class tokens in front of
the patch tokens) cannot be held by torchvision's MViT, which hard-codes one class token.

Follows the structure of facebookresearch/SlowFast ``slowfast/models/attention.py`` and
``slowfast/models/video_model_builder.py`` @ 287ec00 (MultiScaleAttention, MultiScaleBlock, MViT)
and of pytorch/vision ``torchvision/models/video/mvit.py`` @ 772211c; the configuration is the one
of SlowFast ``configs/Kinetics/MVITv2_S_16x4.yaml`` and ``MVITv2_B_32x3.yaml``
(../shared/reference/baselines.md section 4). The prefix-token handling follows the MuscleMap
fork's ``attention.py`` (``tkl`` prefix tokens; ../shared/reference/official-code.md section 2).

The file reads top to bottom: config dataclasses, blocks, model, variant table, builders. The
block-level API that TransM3E uses (``embed``, ``blocks``, ``reduction_blocks``, ``norm``, ...)
is listed on :class:`MViT`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from musclemap_lib.modalities import VIDEO_CHANNELS, VIDEO_MODALITIES
from musclemap_lib.models.base import AMGEModel
from musclemap_lib.models.layers import DropPath, Mlp, init_transformer_weights
from musclemap_lib.models.registry import check_options, lookup, register_model
from musclemap_lib.models.scales import PAPER, ScaleSpec, scaled_depth, scaled_heads
from musclemap_lib.muscles import NUM_MUSCLES

Triple = tuple[int, int, int]


def _conv_out(size: Triple, kernel: Triple, stride: Triple, padding: Triple) -> Triple:
    """Output grid (t, h, w) of a convolution / pooling window over a (t, h, w) grid."""
    axes = zip(size, kernel, stride, padding, strict=True)
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in axes)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MViTBlockSpec:
    """Everything one :class:`MultiScaleBlock` needs; derived by :class:`MViTConfig`."""

    index: int  # position in the network, 0-based
    dim_in: int  # width of the incoming tokens
    dim_out: int  # width after the block (DIM_MUL_IN_ATT: qkv already maps to it)
    num_heads: int  # attention heads; head_dim = dim_out // num_heads
    q_stride: Triple  # stride of the Q pooling conv (and of the max-pool skip)
    kv_stride: Triple  # stride of the K and V pooling convs (adaptive, see MViTConfig)
    pool_kernel: Triple  # kernel of the Q, K, V pooling convs
    input_thw: Triple  # token grid entering the block
    q_thw: Triple  # token grid after Q pooling (= grid leaving the block)
    kv_thw: Triple  # token grid of K and V after pooling
    drop_path: float  # stochastic-depth probability of this block
    num_prefix_tokens: int  # tokens in front of the grid that are never pooled
    mlp_ratio: float  # hidden width of the MLP / dim_out
    qkv_bias: bool  # bias of the fused qkv Linear
    rel_pos: bool  # decomposed relative position (spatial h, w and temporal)
    residual_pooling: bool  # add the pooled Q to the attention output (MViTv2)
    norm_eps: float  # LayerNorm epsilon


@dataclass(frozen=True)
class MViTConfig:
    """Configuration of an MViTv2 network; the per-block table is expanded in ``__post_init__``.

    The network has ``len(stage_depths)`` stages. The first block of every stage after the first
    is a *stage transition*: it pools Q with ``q_stride``, doubles width and heads inside its
    attention (DIM_MUL_IN_ATT) and divides the running KV stride by ``q_stride``.
    """

    stage_depths: tuple[int, ...] = (1, 2, 11, 2)  # blocks per stage (MViTv2-S: 16 blocks)
    embed_dim: int = 96  # width of the first stage (doubles at each transition)
    num_heads: int = 1  # heads of the first stage (doubles too, so head_dim is constant)
    num_frames: int = 16  # clip length T of the input
    crop_size: int = 224  # input side H = W
    patch_kernel: Triple = (3, 7, 7)  # patch-embedding Conv3d kernel (t, h, w)
    patch_stride: Triple = (2, 4, 4)  # patch-embedding stride
    patch_padding: Triple = (1, 3, 3)  # patch-embedding padding
    pool_kernel: Triple = (3, 3, 3)  # depthwise pooling conv kernel of Q, K and V in every block
    q_stride: Triple = (1, 2, 2)  # Q stride at each stage transition
    kv_stride_adaptive: Triple = (1, 8, 8)  # KV stride of block 0, divided at each transition
    mlp_ratio: float = 4.0  # MLP hidden width / block width
    qkv_bias: bool = True  # bias of the fused qkv Linear (QKV_BIAS)
    rel_pos: bool = True  # decomposed relative position, spatial and temporal
    residual_pooling: bool = True  # MViTv2 residual pooling connection
    drop_path_rate: float = 0.2  # stochastic depth of the last block; linear ramp from 0
    head_dropout: float = 0.5  # dropout before the classifier (MODEL.DROPOUT_RATE)
    norm_eps: float = 1e-6  # LayerNorm epsilon everywhere in the backbone
    num_prefix_tokens: int = 1  # tokens before the patch grid (1 = the cls token)
    learn_prefix_tokens: bool = True  # own a (1, P, D) parameter; False: embed() needs `prefix`
    blocks: tuple[MViTBlockSpec, ...] = field(init=False, repr=False)  # derived per-block table

    def __post_init__(self) -> None:
        if not self.stage_depths or min(self.stage_depths) < 1:
            raise ValueError(f"stage_depths must be >= 1 block per stage, got {self.stage_depths}")
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}"
            )
        if self.num_prefix_tokens < 1:
            raise ValueError(
                f"num_prefix_tokens must be >= 1 (the head reads the prefix tokens), "
                f"got {self.num_prefix_tokens}"
            )
        if not 0.0 <= self.drop_path_rate < 1.0:
            raise ValueError(f"drop_path_rate must be in [0, 1), got {self.drop_path_rate}")
        grid = self.patch_grid
        if min(grid) < 1:
            raise ValueError(
                f"input {self.num_frames}x{self.crop_size}x{self.crop_size} is too small for the "
                f"patch embedding (grid {grid})"
            )
        depth = sum(self.stage_depths)
        transitions = set(self.transition_blocks)
        specs = []
        dim, heads, kv_stride, thw = self.embed_dim, self.num_heads, self.kv_stride_adaptive, grid
        for i in range(depth):
            q_stride: Triple = (1, 1, 1)
            dim_out = dim
            if i in transitions:
                q_stride = self.q_stride
                heads, dim_out = heads * 2, dim * 2
                # PAPER (MViTv2 / SlowFast POOL_KV_STRIDE_ADAPTIVE): kv stride // q stride, >= 1.
                kv_stride = tuple(max(s // q, 1) for s, q in zip(kv_stride, q_stride, strict=True))  # type: ignore[assignment]
            pad: Triple = tuple(k // 2 for k in self.pool_kernel)  # type: ignore[assignment]
            q_thw = _conv_out(thw, self.pool_kernel, q_stride, pad)
            kv_thw = _conv_out(thw, self.pool_kernel, kv_stride, pad)
            specs.append(
                MViTBlockSpec(
                    index=i,
                    dim_in=dim,
                    dim_out=dim_out,
                    num_heads=heads,
                    q_stride=q_stride,
                    kv_stride=kv_stride,
                    pool_kernel=self.pool_kernel,
                    input_thw=thw,
                    q_thw=q_thw,
                    kv_thw=kv_thw,
                    # PAPER / SlowFast: drop path i * rate / (depth - 1).
                    drop_path=self.drop_path_rate * i / max(depth - 1, 1),
                    num_prefix_tokens=self.num_prefix_tokens,
                    mlp_ratio=self.mlp_ratio,
                    qkv_bias=self.qkv_bias,
                    rel_pos=self.rel_pos,
                    residual_pooling=self.residual_pooling,
                    norm_eps=self.norm_eps,
                )
            )
            dim, thw = dim_out, q_thw
        object.__setattr__(self, "blocks", tuple(specs))

    @property
    def patch_grid(self) -> Triple:
        """Token grid (T', H', W') after the patch embedding."""
        size = (self.num_frames, self.crop_size, self.crop_size)
        return _conv_out(size, self.patch_kernel, self.patch_stride, self.patch_padding)

    @property
    def transition_blocks(self) -> tuple[int, ...]:
        """Indices of the stage-transition blocks (Q pooling, width doubling)."""
        starts, total = [], 0
        for d in self.stage_depths[:-1]:
            total += d
            starts.append(total)
        return tuple(starts)

    @property
    def head_dim(self) -> int:
        """Width of one attention head (the same in every block)."""
        return self.embed_dim // self.num_heads

    @property
    def out_dim(self) -> int:
        """Width of the last stage (input width of the classifier)."""
        return self.blocks[-1].dim_out


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------


class AttentionPool(nn.Module):
    """Pool the grid tokens of Q, K or V with a depthwise Conv3d, then LayerNorm every token.

    The first ``num_prefix_tokens`` tokens are split off, left unpooled, put back in front and
    layer-normed together with the pooled grid, as in the released code (official-code.md §2).

    Shape:
        ``(B, heads, P + T*H*W, head_dim) -> (B, heads, P + T'*H'*W', head_dim)``.
    """

    def __init__(
        self, head_dim: int, kernel: Triple, stride: Triple, num_prefix_tokens: int, eps: float
    ) -> None:
        super().__init__()
        self.num_prefix_tokens = num_prefix_tokens
        pad = tuple(k // 2 for k in kernel)  # depthwise: one filter per head channel
        self.conv = nn.Conv3d(head_dim, head_dim, kernel, stride, pad, groups=head_dim, bias=False)
        self.norm = nn.LayerNorm(head_dim, eps=eps)

    def forward(self, x: torch.Tensor, thw: Triple) -> tuple[torch.Tensor, Triple]:
        p = self.num_prefix_tokens
        b, h, _, c = x.shape
        prefix, grid = x[:, :, :p], x[:, :, p:]
        # (B, heads, THW, hd) -> (B*heads, hd, T, H, W): head_dim is the conv's channel axis.
        grid = grid.reshape(b * h, *thw, c).permute(0, 4, 1, 2, 3)
        grid = self.conv(grid)
        new_thw: Triple = tuple(grid.shape[2:])  # type: ignore[assignment]
        # (B*heads, hd, T', H', W') -> (B, heads, T'H'W', hd)
        grid = grid.reshape(b, h, c, -1).transpose(2, 3)
        return self.norm(torch.cat((prefix, grid), dim=2)), new_thw


def _rel_index(q: int, k: int) -> torch.Tensor:
    """Table row of each (query, key) pair along one axis; distances are rescaled when the
    query and key grids differ, as in SlowFast ``cal_rel_pos_spatial``. Shape ``(q, k)``."""
    q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
    dist = (
        torch.arange(q)[:, None] * q_ratio - torch.arange(k)[None, :] * k_ratio + (k - 1) * k_ratio
    )
    return dist.long()


def rel_pos_bias(
    q: torch.Tensor,
    q_thw: Triple,
    k_thw: Triple,
    rel_pos_t: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
) -> torch.Tensor:
    """Decomposed relative-position logits of MViTv2 between grid queries and grid keys.

    ``bias[q, k] = <q, R_t[q_t, k_t]> + <q, R_h[q_h, k_h]> + <q, R_w[q_w, k_w]>``, computed on
    the *unscaled* pooled query as in SlowFast and torchvision.

    Args:
        q: pooled queries of the grid tokens only (no prefix), ``(B, heads, T*H*W, hd)``.
        q_thw: query grid; k_thw: key grid.
        rel_pos_t, rel_pos_h, rel_pos_w: tables ``(2 * max(q, k) - 1, hd)`` per axis.

    Returns:
        ``(B, heads, Tq*Hq*Wq, Tk*Hk*Wk)``.
    """
    (qt, qh, qw), (kt, kh, kw) = q_thw, k_thw
    tables = []
    for name, table, nq, nk in zip(
        "thw", (rel_pos_t, rel_pos_h, rel_pos_w), q_thw, k_thw, strict=True
    ):
        if table.shape[0] != 2 * max(nq, nk) - 1:
            # DEVIATION: the released code interpolates the table for an unexpected grid; the
            # model checks its input size instead, so a mismatch here is a bug.
            raise RuntimeError(
                f"rel_pos_{name} has {table.shape[0]} rows, grid needs {2 * max(nq, nk) - 1}"
            )
        tables.append(table[_rel_index(nq, nk).to(table.device)])  # (nq, nk, hd)
    r_t, r_h, r_w = tables
    b, h, _, c = q.shape
    r = q.reshape(b, h, qt, qh, qw, c)
    bt = torch.einsum("bntyxc,tkc->bntyxk", r, r_t)  # (B, heads, qt, qh, qw, kt)
    bh = torch.einsum("bntyxc,ykc->bntyxk", r, r_h)  # (B, heads, qt, qh, qw, kh)
    bw = torch.einsum("bntyxc,xkc->bntyxk", r, r_w)  # (B, heads, qt, qh, qw, kw)
    # (B, heads, qt, qh, qw, kt, kh, kw)
    bias = bt[..., :, None, None] + bh[..., None, :, None] + bw[..., None, None, :]
    return bias.reshape(b, h, qt * qh * qw, kt * kh * kw)


class MultiScaleAttention(nn.Module):
    """Pooling attention of MViTv2 with ``P`` prefix tokens.

    fused qkv -> pool Q, K, V (conv + LN; prefix tokens unpooled) -> ``(q * hd^-1/2) k^T`` ->
    + decomposed rel-pos on the grid x grid block only -> softmax -> ``@ v`` -> + pooled q on
    the grid rows (residual pooling) -> merge heads -> proj.

    Shape:
        ``(B, P + N_in, dim_in) -> (B, P + N_q, dim_out)``.
    """

    def __init__(self, s: MViTBlockSpec) -> None:
        super().__init__()
        self.num_prefix_tokens = s.num_prefix_tokens
        self.num_heads = s.num_heads
        self.head_dim = s.dim_out // s.num_heads
        self.scale = self.head_dim**-0.5
        self.residual_pooling = s.residual_pooling
        # DIM_MUL_IN_ATT: the qkv Linear already maps dim_in -> dim_out.
        self.qkv = nn.Linear(s.dim_in, 3 * s.dim_out, bias=s.qkv_bias)
        self.proj = nn.Linear(s.dim_out, s.dim_out)
        p, eps = s.num_prefix_tokens, s.norm_eps
        # PAPER (MViTv2): Q, K and V are pooled in every block, even with stride 1.
        self.pool_q = AttentionPool(self.head_dim, s.pool_kernel, s.q_stride, p, eps)
        self.pool_k = AttentionPool(self.head_dim, s.pool_kernel, s.kv_stride, p, eps)
        self.pool_v = AttentionPool(self.head_dim, s.pool_kernel, s.kv_stride, p, eps)
        self.rel_pos = s.rel_pos
        if s.rel_pos:
            # DEVIATION: table sizes come from the pooled grids as the conv computes them
            # (ceil(size / stride)); SlowFast and torchvision use size // stride and interpolate
            # the table at run time when the two differ. They agree whenever the grid is a
            # multiple of the stride, as at all our scales (56/28/14/7, 16/8/4/2, 8/4/2/1).
            (qt, qh, qw), (kt, kh, kw) = s.q_thw, s.kv_thw
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * max(qh, kh) - 1, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * max(qw, kw) - 1, self.head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * max(qt, kt) - 1, self.head_dim))
            for t in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                # REL_POS_ZERO_INIT False in the configs: trunc-normal std 0.02.
                nn.init.trunc_normal_(t, std=0.02)

    def forward(self, x: torch.Tensor, thw: Triple) -> tuple[torch.Tensor, Triple]:
        b, n, _ = x.shape
        p = self.num_prefix_tokens
        # (B, N, 3*dim_out) -> (3, B, heads, N, hd); the (3, heads, hd) channel layout of SlowFast.
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, q_thw = self.pool_q(q, thw)  # (B, heads, P + Nq, hd)
        k, k_thw = self.pool_k(k, thw)  # (B, heads, P + Nk, hd)
        v, _ = self.pool_v(v, thw)  # (B, heads, P + Nk, hd)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B, heads, P + Nq, P + Nk)
        if self.rel_pos:
            bias = rel_pos_bias(
                q[:, :, p:], q_thw, k_thw, self.rel_pos_t, self.rel_pos_h, self.rel_pos_w
            )
            # Prefix rows and columns get no bias: pad the grid x grid block with zeros in front.
            attn = attn + F.pad(bias, (p, 0, p, 0))
        attn = attn.softmax(dim=-1)
        out = attn @ v  # (B, heads, P + Nq, hd)
        if self.residual_pooling:
            # Residual pooling on the grid tokens only; prefix tokens get no q residual.
            out = torch.cat((out[:, :, :p], out[:, :, p:] + q[:, :, p:]), dim=2)
        out = out.transpose(1, 2).reshape(b, -1, self.num_heads * self.head_dim)
        return self.proj(out), q_thw


class MultiScaleBlock(nn.Module):
    """One MViTv2 block: ``x = skip(x) + DropPath(attn(LN(x)))``; ``x = x + DropPath(MLP(LN(x)))``.

    The skip is ``Linear(dim_in, dim_out)`` on the *normed* input when the width changes, then a
    max-pool with kernel ``stride + 1`` over the grid tokens when Q is strided (prefix tokens
    skip the pooling).

    Shape:
        ``(B, P + T*H*W, dim_in), (T, H, W) -> (B, P + T'*H'*W', dim_out), (T', H', W')``.
    """

    def __init__(self, s: MViTBlockSpec) -> None:
        super().__init__()
        self.spec = s
        self.num_prefix_tokens = s.num_prefix_tokens
        self.norm1 = nn.LayerNorm(s.dim_in, eps=s.norm_eps)
        self.attn = MultiScaleAttention(s)
        self.drop_path = DropPath(s.drop_path)
        self.norm2 = nn.LayerNorm(s.dim_out, eps=s.norm_eps)
        self.mlp = Mlp(s.dim_out, int(s.dim_out * s.mlp_ratio), s.dim_out)
        self.skip_proj = nn.Linear(s.dim_in, s.dim_out) if s.dim_in != s.dim_out else None
        self.skip_pool: nn.MaxPool3d | None = None
        if math.prod(s.q_stride) > 1:
            kernel = tuple(st + 1 if st > 1 else st for st in s.q_stride)
            self.skip_pool = nn.MaxPool3d(
                kernel, stride=s.q_stride, padding=tuple(k // 2 for k in kernel)
            )

    def _pool_skip(self, x: torch.Tensor, thw: Triple) -> torch.Tensor:
        if self.skip_pool is None:
            return x
        p = self.num_prefix_tokens
        b, _, c = x.shape
        grid = x[:, p:].transpose(1, 2).reshape(b, c, *thw)  # (B, C, T, H, W)
        grid = self.skip_pool(grid).flatten(2).transpose(1, 2)  # (B, T'H'W', C)
        return torch.cat((x[:, :p], grid), dim=1)

    def forward(self, x: torch.Tensor, thw: Triple) -> tuple[torch.Tensor, Triple]:
        expected = self.num_prefix_tokens + math.prod(thw)
        if x.shape[1] != expected:
            raise ValueError(
                f"block {self.spec.index} expects {self.num_prefix_tokens} prefix tokens + a "
                f"{thw} grid = {expected} tokens, got {x.shape[1]}"
            )
        x_norm = self.norm1(x)
        x_attn, new_thw = self.attn(x_norm, thw)
        skip = x if self.skip_proj is None else self.skip_proj(x_norm)
        x = self._pool_skip(skip, thw) + self.drop_path(x_attn)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, new_thw


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


class MViT(AMGEModel):
    """MViTv2 video classifier with ``P`` prefix tokens, reading one video modality.

    API kept stable for TransM3E (:class:`~musclemap_lib.models.tokens.MCTVideo`):

    * ``embed(video, prefix=None) -> (x, thw)``: patch embedding flattened in (t, h, w) order,
      prefix tokens prepended: ``prefix_tokens`` (1, P, D) expanded, or ``prefix`` (B or 1, P, D)
      if given (its ``P`` must equal ``cfg.num_prefix_tokens``). ``x`` is ``(B, P + T*H*W, D)``.
    * ``blocks``: ``nn.ModuleList`` of :class:`MultiScaleBlock`, ``block(x, thw) -> (x, thw)``;
      after any block, ``x[:, :P]`` are the prefix tokens (raw residual stream).
    * ``reduction_blocks``: indices of the blocks that pool Q (stage transitions; MViTv2-S:
      1, 3, 14). ``stage_ends``: the last block of each stage (MViTv2-S: 0, 2, 13, 15).
    * ``norm``: the final LayerNorm; ``forward_features(batch) -> (B, P, D)``: normed prefix
      tokens; ``forward_head(feats) -> (B, num_classes)``: mean over the prefix tokens ->
      Dropout -> Linear (with P = 1 the standard cls-token head).
    * ``forward_tokens(video, prefix=None) -> (B, P + N, D_out)``: embed + blocks + norm.
    * ``forward(batch)`` reads ``batch[modality]`` through :meth:`AMGEModel.inputs`.
    * ``cfg`` (:class:`MViTConfig`, with ``cfg.blocks[i]`` the :class:`MViTBlockSpec` of block
      ``i``: widths, heads, strides, grids) and ``num_prefix_tokens``.

    With ``P > 1`` every prefix token attends to all tokens and is attended by all; none of them
    is pooled, gets a rel-pos term or a residual-pooling term (official-code.md §2). In the last
    block the grid queries only shape grid outputs, which the prefix-token head never reads, so
    that block's ``pool_q.conv`` and rel-pos tables get a zero gradient (as in torchvision).

    Args:
        cfg: the network configuration (already scaled).
        num_classes: number of outputs (20 muscle groups).
        modality: ``"rgb"``, ``"rgb_diff"`` or ``"flow"`` (2 input channels).
    """

    def __init__(self, cfg: MViTConfig, num_classes: int = 20, modality: str = "rgb") -> None:
        if modality not in VIDEO_MODALITIES:
            raise ValueError(
                f"MViT reads a video modality; got {modality!r}, expected one of {VIDEO_MODALITIES}"
            )
        super().__init__((modality,), num_classes)
        self.cfg = cfg
        self.modality = modality
        self.num_prefix_tokens = cfg.num_prefix_tokens
        self.patch_embed = nn.Conv3d(
            VIDEO_CHANNELS[modality],
            cfg.embed_dim,
            cfg.patch_kernel,
            stride=cfg.patch_stride,
            padding=cfg.patch_padding,
        )
        self.prefix_tokens: nn.Parameter | None = None
        if cfg.learn_prefix_tokens:
            self.prefix_tokens = nn.Parameter(torch.zeros(1, cfg.num_prefix_tokens, cfg.embed_dim))
        self.blocks = nn.ModuleList(MultiScaleBlock(s) for s in cfg.blocks)
        self.reduction_blocks: tuple[int, ...] = tuple(
            s.index for s in cfg.blocks if math.prod(s.q_stride) > 1
        )
        self.stage_ends = (*(i - 1 for i in cfg.transition_blocks), len(cfg.blocks) - 1)
        self.norm = nn.LayerNorm(cfg.out_dim, eps=cfg.norm_eps)
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(cfg.out_dim, num_classes)
        self.apply(init_transformer_weights)
        if self.prefix_tokens is not None:
            nn.init.trunc_normal_(self.prefix_tokens, std=0.02)

    def embed(
        self, video: torch.Tensor, prefix: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Triple]:
        """Patch-embed a clip and prepend the prefix tokens.

        Args:
            video: ``(B, C, T, H, W)`` with the configured ``C``, ``T`` and ``H = W``.
            prefix: optional ``(B or 1, P, D)`` tokens used instead of :attr:`prefix_tokens`.

        Returns:
            ``x`` ``(B, P + T'*H'*W', D)`` and the grid ``(T', H', W')``.

        Raises:
            ValueError: for a clip of another size or a prefix of another count/width.
        """
        b = video.shape[0]
        size = tuple(video.shape[2:])
        want = (self.cfg.num_frames, self.cfg.crop_size, self.cfg.crop_size)
        if size != want:
            # DEVIATION: the released code interpolates the rel-pos tables for another clip size;
            # the tables here are sized for one grid, and a silent interpolation would hide a bug.
            raise ValueError(
                f"{type(self).__name__} was built for clips of {want} (T, H, W), got {size}; "
                f"build it with num_frames={size[0]}, crop_size={size[1]} (square crops)"
            )
        x = self.patch_embed(video)  # (B, D, T', H', W')
        thw: Triple = tuple(x.shape[2:])  # type: ignore[assignment]
        x = x.flatten(2).transpose(1, 2)  # (B, T'H'W', D), (t, h, w) order
        if prefix is None:
            if self.prefix_tokens is None:
                raise ValueError(
                    "this MViT owns no prefix tokens (learn_prefix_tokens=False); pass `prefix`"
                )
            prefix = self.prefix_tokens
        p, d = self.num_prefix_tokens, self.cfg.embed_dim
        if prefix.ndim != 3 or prefix.shape[1:] != (p, d) or prefix.shape[0] not in (1, b):
            raise ValueError(
                f"prefix must have shape (B or 1, {p}, {d}) for this model "
                f"(num_prefix_tokens={p}), got {tuple(prefix.shape)}"
            )
        return torch.cat((prefix.expand(b, -1, -1), x), dim=1), thw

    def forward_tokens(
        self, video: torch.Tensor, prefix: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Embed and run every block; returns the normed tokens ``(B, P + N, D_out)``."""
        x, thw = self.embed(video, prefix)
        for block in self.blocks:
            x, thw = block(x, thw)
        return self.norm(x)

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Normed prefix tokens ``(B, P, D_out)`` of the batch's clip."""
        (video,) = self.inputs(batch)
        return self.forward_tokens(video)[:, : self.num_prefix_tokens]

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` from the prefix tokens ``(B, P, D_out)``."""
        return self.head(self.head_drop(feats.mean(dim=1)))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(batch))


# ---------------------------------------------------------------------------------------------
# Variants and builders
# ---------------------------------------------------------------------------------------------

MVIT_CONFIGS: dict[str, MViTConfig] = {
    # SlowFast configs/Kinetics/MVITv2_S_16x4.yaml: depth 16, DIM_MUL at 1, 3, 14, drop path 0.2.
    "mvitv2_s": MViTConfig(stage_depths=(1, 2, 11, 2), drop_path_rate=0.2),
    # SlowFast configs/Kinetics/MVITv2_B_32x3.yaml: depth 24, DIM_MUL at 2, 5, 21, drop path 0.3.
    # ASSUMPTION: 16 frames, as the MuscleMap fork's transmmme_b.yaml (baselines.md §1, §4.3).
    "mvitv2_b": MViTConfig(stage_depths=(2, 3, 16, 3), drop_path_rate=0.3),
}

_CONFIG_FIELDS = {f.name for f in fields(MViTConfig) if f.init}


def config(name: str, scale: ScaleSpec = PAPER, **overrides: Any) -> MViTConfig:
    """The configuration of a variant at a scale, with field overrides.

    Scaling (the rules of :mod:`musclemap_lib.models.scales`): the first-stage width and the head
    width go through ``scaled_width`` (so the number of heads, width / head_dim, is the paper's),
    each stage's depth through ``scaled_depth`` (at least one block, so every stage transition
    stays), and the clip is the scale's ``frames x size x size``.

    ASSUMPTION: strides and kernels are not scaled, so on the smaller grids the pooled K/V grid
    is smaller than the paper's 7 x 7 (cpu: 2 x 2 in the first stage, smoke: 1 x 1).

    Raises:
        ValueError: for an unknown variant or an unknown override.
    """
    base = lookup(MVIT_CONFIGS, name, "MViT variant")
    check_options(overrides, _CONFIG_FIELDS, "MViT")
    embed, heads = scaled_heads(base.embed_dim, base.head_dim, scale)
    scaled = {
        "embed_dim": embed,
        "num_heads": heads,
        "stage_depths": tuple(scaled_depth(d, scale) for d in base.stage_depths),
        "num_frames": scale.frames,
        "crop_size": scale.size,
    }
    return replace(base, **{**scaled, **overrides})


def _build(
    name: str, scale: ScaleSpec, num_classes: int, modality: str = "rgb", **overrides: Any
) -> MViT:
    return MViT(config(name, scale, **overrides), num_classes=num_classes, modality=modality)


@register_model
def mvitv2_s(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> MViT:
    """MViTv2-S (16 blocks, 34,245,524 parameters at paper scale with 20 classes)."""
    return _build("mvitv2_s", scale, num_classes, **variant)


@register_model
def mvitv2_b(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any) -> MViT:
    """MViTv2-B (24 blocks, 50,901,044 parameters at paper scale, 16 frames, 20 classes)."""
    return _build("mvitv2_b", scale, num_classes, **variant)
