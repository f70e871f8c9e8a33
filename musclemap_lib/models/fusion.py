"""Fusion of classification tokens (MCTF and the Table 5 alternatives) and late fusion (Table 6).

Two kinds of fusion live here:

* **token fusion**: one module that takes the two token sets of one branch, the classification
  MCT ``cls_m`` and the knowledge-distillation MCT ``cls_r`` (both ``(B, C, D)``), and returns one
  fused token set ``(B, C, D)``. The prediction is then ``P_alpha(mean over tokens)`` (Eq. 1).
  :class:`MCTF` is the paper's Multi-Classification Tokens Fusion (section 4.4, Eqs. 5 to 11);
  ``sum``, ``mul``, ``selfattn`` and ``crossattn`` are the Table 5 rows; ``mean`` is "simply
  average the MCTs" (appendix E, the w/o-MCTF row of Table 3 and every row of Table 4); ``cls``
  ignores ``cls_r`` (a branch without distillation tokens).
* **late fusion** (:class:`LateFusion`): two complete single-branch models whose scores are
  combined by a sum (mean), a product, or a trained head on their concatenated features.

Both return the typed records defined at the top of this file (:class:`FusionOutput`,
:class:`DistillLosses`), which :mod:`musclemap_lib.models.transm3e` also returns, so the training
engine reads one type for every multi-branch model.

Scores: a model returns logits and the system applies the sigmoid (STYLE.md section 4). Fusing
*scores* (the mean or product of two branches' probabilities) is therefore done in probability
space and returned as the logit of the fused probability: ``sigmoid(out) == fused score``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import StochasticDepth

from musclemap_lib.models.registry import build_model, register_variants
from musclemap_lib.models.scales import PAPER, ScaleSpec
from musclemap_lib.models.two_branch import TwoBranchModel
from musclemap_lib.muscles import NUM_MUSCLES

log = logging.getLogger(__name__)

TokenFusionKind = Literal["mctf", "sum", "mul", "selfattn", "crossattn", "mean", "cls"]
TOKEN_FUSIONS: tuple[str, ...] = ("mctf", "sum", "mul", "selfattn", "crossattn", "mean", "cls")
ScoreCombine = Literal["mean_prob", "prod_prob", "mean_logit"]
LateFusionKind = Literal["sum", "concat", "mul"]


# ------------------------------------------------------------------------------------------------
# Output records shared by every multi-branch model
# ------------------------------------------------------------------------------------------------


class DistillLosses(NamedTuple):
    """The knowledge-distillation losses of one forward pass.

    Attributes:
        terms: one scalar per KD position, in the order of :attr:`positions` (empty if no KD).
        positions: a name per term, e.g. ``"main3<-aux2"`` (main block 3 receives from aux block 2).
        total: the combined KD loss (the mean of :attr:`terms`, Eq. 4, times the configured weight;
            a zero scalar when there is no term). Add it to the classification loss.
    """

    terms: tuple[torch.Tensor, ...]
    positions: tuple[str, ...]
    total: torch.Tensor


class FusionOutput(NamedTuple):
    """What a two-branch model returns.

    Attributes:
        logits: ``(B, num_classes)`` the model's prediction (what evaluation scores).
        main_logits: ``(B, num_classes)`` the main (RGB) branch alone.
        aux_logits: ``(B, num_classes)`` the auxiliary branch alone, or ``None`` when that branch
            has no head (a frozen teacher).
        kd: the distillation losses (:class:`DistillLosses`; empty for late fusion).
    """

    logits: torch.Tensor
    main_logits: torch.Tensor
    aux_logits: torch.Tensor | None
    kd: DistillLosses


def no_distillation(ref: torch.Tensor) -> DistillLosses:
    """An empty :class:`DistillLosses` whose total is a zero on ``ref``'s device and dtype."""
    return DistillLosses(terms=(), positions=(), total=ref.new_zeros(()))


def combine_scores(a: torch.Tensor, b: torch.Tensor, how: ScoreCombine) -> torch.Tensor:
    """Combine two branches' logits; return the logits of the combined score.

    Args:
        a: ``(B, K)`` logits of one branch.
        b: ``(B, K)`` logits of the other.
        how: ``mean_prob``: ``sigmoid(out) = (sigmoid(a) + sigmoid(b)) / 2``;
            ``prod_prob``: ``sigmoid(out) = sigmoid(a) * sigmoid(b)``;
            ``mean_logit``: ``out = (a + b) / 2``.

    Returns:
        ``(B, K)`` logits, computed in log space so that no probability is rounded to 0 or 1.
    """
    if a.shape != b.shape:
        raise ValueError(f"cannot combine logits of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if how == "mean_logit":
        return (a + b) / 2
    log_pa, log_pb = F.logsigmoid(a), F.logsigmoid(b)
    if how == "mean_prob":
        # logit(p) = log p - log(1 - p); the 1/2 of the mean cancels between the two logs.
        log_p = torch.logaddexp(log_pa, log_pb)
        log_q = torch.logaddexp(F.logsigmoid(-a), F.logsigmoid(-b))
        return log_p - log_q
    if how == "prod_prob":
        log_p = log_pa + log_pb  # <= 0
        return log_p - _log1mexp(log_p)
    raise ValueError(f"unknown score combination {how!r}; choose mean_prob, prod_prob, mean_logit")


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, accurate on both ends (Maechler 2012)."""
    x = x.clamp(max=-1e-12)
    return torch.where(x > -0.6931, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


# ------------------------------------------------------------------------------------------------
# MCTF
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MCTFConfig:
    """Configuration of the token fusions (MCTF and the attention alternatives)."""

    num_heads: int = 1  # PAPER: appendix C, "head number as 1" (released: 1)
    # DEVIATION: appendix C gives a QK scale of 0.8; the released code passes qk_scale=None, which
    # overrides that default with head_dim ** -0.5 (1/sqrt(768)). 0.8 on unnormalised 768-d dot
    # products saturates the softmax, so we take the value the released numbers were made with.
    # None = head_dim ** -0.5; set 0.8 for the paper's text.
    qk_scale: float | None = None
    qkv_bias: bool = False  # released: q/k/v projections without bias
    attn_drop: float = 0.0  # PAPER: appendix C, "dropout for attention as 0.0"
    proj_drop: float = 0.0  # DP of Eqs. 6-7 (released: 0)
    drop_path: float = 0.2  # PAPER: appendix C, "dropout rate of the path as 0.2" (DP of Eq. 11)
    mlp_ratio: float = 1.0  # released: M_theta is Linear(D, D)-GELU-Linear(D, D)
    # ASSUMPTION: the paper does not say over which axes LN normalises; the released code uses
    # LayerNorm([C, D]) (jointly over tokens and channels, with a per-token affine), which we keep.
    # "channel" = an ordinary LayerNorm(D) per token.
    norm: Literal["token_channel", "channel"] = "token_channel"
    # The released code merges heads with a transpose-then-view that scrambles tokens and channels
    # (official-code.md section 3.3). "standard" is the intended merge; "released" reproduces it.
    head_merge: Literal["standard", "released"] = "standard"

    def __post_init__(self) -> None:
        if self.num_heads < 1:
            raise ValueError(f"MCTFConfig.num_heads must be >= 1, got {self.num_heads}")
        if self.norm not in ("token_channel", "channel"):
            raise ValueError(f"MCTFConfig.norm must be token_channel or channel, got {self.norm!r}")
        if self.head_merge not in ("standard", "released"):
            raise ValueError(
                f"MCTFConfig.head_merge must be standard or released, got {self.head_merge!r}"
            )


DEFAULT_MCTF = MCTFConfig()  # frozen, so safe as a shared default


def _norm(cfg: MCTFConfig, num_tokens: int, dim: int) -> nn.LayerNorm:
    shape = (num_tokens, dim) if cfg.norm == "token_channel" else (dim,)
    # released: nn.LayerNorm default eps 1e-5 inside MCTF
    return nn.LayerNorm(shape)


class _Heads:
    """Split (B, N, D) into heads and merge back, as configured."""

    def __init__(self, num_heads: int, merge: str) -> None:
        self.h, self.merge = num_heads, merge

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        if d % self.h:
            raise ValueError(f"token width {d} is not divisible by num_heads={self.h}")
        return x.reshape(b, n, self.h, d // self.h).transpose(1, 2)  # (B, h, N, d/h)

    def join(self, y: torch.Tensor) -> torch.Tensor:
        b, h, n, hd = y.shape
        merged = y.transpose(1, 2).reshape(b, n, h * hd)  # (B, N, D)
        if self.merge == "released":
            # official-code.md section 3.3: the released code swaps the last two axes and views the
            # result as (B, N, D), reading Y channel-major and refilling it row-major:
            # Pi(Y)[b, n, c] = Y[b, (n D + c) mod N, (n D + c) div N].
            return merged.transpose(1, 2).contiguous().reshape(b, n, h * hd)
        return merged


def _attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, drop: nn.Dropout
) -> torch.Tensor:
    """Att(Q, K, V) = softmax(scale * Q K^T) V on (B, h, N, hd) tensors."""
    a = (q * scale) @ k.transpose(-2, -1)  # (B, h, Nq, Nk)
    return drop(a.softmax(dim=-1)) @ v  # (B, h, Nq, hd)


class _MLP(nn.Sequential):
    def __init__(self, dim: int, ratio: float) -> None:
        hidden = max(1, int(round(dim * ratio)))
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class MCTF(nn.Module):
    """Multi-Classification Tokens Fusion (section 4.4, Eqs. 5 to 11).

    With ``t_m = LN(cls_m)`` and ``t_r = LN(cls_r)``, ``Q/K/V_{m,r}`` are linear projections of them
    (Eq. 5). Six attention terms (Eqs. 6-7)::

        A^m_mm = P^m_mm(Att(Q_m, K_m, V_m))    A^r_rr = P^r_rr(Att(Q_r, K_r, V_r))
        A^m_mr = P^m_mr(Att(Q_m, K_r, V_m))    A^r_rm = P^r_rm(Att(Q_r, K_m, V_r))
        A^m_rm = P^m_rm(Att(Q_r, K_m, V_m))    A^r_mr = P^r_mr(Att(Q_m, K_r, V_r))

    ``A_m``/``A_r`` are the sums (Eq. 8), ``A_f = P_f([A_m, A_r])`` (Eq. 9), and (Eq. 11)::

        cls_a = (cls_m + cls_r) / 2
        cls_f = cls_a + A_f
        out   = cls_a + DropPath(M_theta(LN(cls_f)))

    # PAPER: Eq. 11 literally (and the released code): the last residual base is cls_a, not cls_f;
    # the fusion reaches the output only through the MLP.
    # DEVIATION: the paper writes P_mr / P_rm in both Eq. 6 and Eq. 7; we use six separate output
    # projections, as the released code does. P_f is Linear(2D, D)-ReLU-Linear(D, D) (released).
    # The "Att(Q_r, K_m, V_m)" maps have C_r x C_m entries, so the two token sets must have the same
    # length C (the paper's setting).

    Args:
        dim: token width D.
        num_tokens: tokens per set C.
        cfg: :class:`MCTFConfig`.

    Shape:
        cls_m, cls_r: ``(B, C, D)``; output ``(B, C, D)``.
    """

    TERMS: tuple[str, ...] = ("m_mm", "m_mr", "m_rm", "r_rr", "r_rm", "r_mr")

    def __init__(self, dim: int, num_tokens: int, cfg: MCTFConfig = DEFAULT_MCTF) -> None:
        super().__init__()
        self.cfg, self.dim, self.num_tokens = cfg, dim, num_tokens
        self.heads = _Heads(cfg.num_heads, cfg.head_merge)
        self.scale = cfg.qk_scale if cfg.qk_scale is not None else (dim // cfg.num_heads) ** -0.5
        self.norm_m = _norm(cfg, num_tokens, dim)
        self.norm_r = _norm(cfg, num_tokens, dim)
        # Eq. 5: P^m_{Q,K,V} and P^r_{Q,K,V} (one fused Linear per token set).
        self.qkv_m = nn.Linear(dim, 3 * dim, bias=cfg.qkv_bias)
        self.qkv_r = nn.Linear(dim, 3 * dim, bias=cfg.qkv_bias)
        self.attn_drop = nn.Dropout(cfg.attn_drop)
        self.proj_drop = nn.Dropout(cfg.proj_drop)
        # Eqs. 6-7: one output projection per attention term.
        self.proj = nn.ModuleDict({t: nn.Linear(dim, dim) for t in self.TERMS})
        # Eq. 9: P_f on [A_m, A_r].
        self.fuse = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.norm_f = _norm(cfg, num_tokens, dim)
        self.mlp = _MLP(dim, cfg.mlp_ratio)  # M_theta
        self.drop_path = StochasticDepth(cfg.drop_path, mode="row")

    def forward(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        _check_pair(cls_m, cls_r, self.num_tokens, self.dim)
        split = self.heads.split
        q_m, k_m, v_m = (split(t) for t in self.qkv_m(self.norm_m(cls_m)).chunk(3, dim=-1))
        q_r, k_r, v_r = (split(t) for t in self.qkv_r(self.norm_r(cls_r)).chunk(3, dim=-1))
        # (query, key, value) of each term; values follow the branch (m or r), Eqs. 6-7.
        qkv = {
            "m_mm": (q_m, k_m, v_m),
            "m_mr": (q_m, k_r, v_m),
            "m_rm": (q_r, k_m, v_m),
            "r_rr": (q_r, k_r, v_r),
            "r_rm": (q_r, k_m, v_r),
            "r_mr": (q_m, k_r, v_r),
        }
        terms = {
            name: self.proj_drop(
                self.proj[name](self.heads.join(_attention(q, k, v, self.scale, self.attn_drop)))
            )
            for name, (q, k, v) in qkv.items()
        }
        a_m = terms["m_mm"] + terms["m_mr"] + terms["m_rm"]  # Eq. 8, (B, C, D)
        a_r = terms["r_rr"] + terms["r_rm"] + terms["r_mr"]
        a_f = self.fuse(torch.cat([a_m, a_r], dim=-1))  # Eq. 9
        cls_a = (cls_m + cls_r) / 2
        cls_f = cls_a + a_f  # Eq. 11, first line
        return cls_a + self.drop_path(self.mlp(self.norm_f(cls_f)))  # Eq. 11, second line


# ------------------------------------------------------------------------------------------------
# Table 5 alternatives and the trivial fusions
# ------------------------------------------------------------------------------------------------


def _check_pair(cls_m: torch.Tensor, cls_r: torch.Tensor, num_tokens: int, dim: int) -> None:
    if cls_m.ndim != 3 or cls_m.shape != cls_r.shape or cls_m.shape[1:] != (num_tokens, dim):
        raise ValueError(
            f"token fusion expects cls_m and cls_r of shape (B, {num_tokens}, {dim}), got "
            f"{tuple(cls_m.shape)} and {tuple(cls_r.shape)}"
        )


class ElementwiseFusion(nn.Module):
    """Parameter-free fusions: ``sum`` (Table 5 "Sum"), ``mul`` ("Multiplication"), ``mean``
    (appendix E "simply average the MCTs") and ``cls`` (``cls_m`` only; ``cls_r`` may be ``None``).

    Shape:
        cls_m, cls_r: ``(B, C, D)``; output ``(B, C, D)``.
    """

    def __init__(self, kind: Literal["sum", "mul", "mean", "cls"]) -> None:
        super().__init__()
        if kind not in ("sum", "mul", "mean", "cls"):
            raise ValueError(f"unknown elementwise fusion {kind!r}; choose sum, mul, mean, cls")
        self.kind = kind

    def forward(self, cls_m: torch.Tensor, cls_r: torch.Tensor | None) -> torch.Tensor:
        if self.kind == "cls":
            return cls_m
        if self.kind == "mean" and cls_r is not None and cls_r.shape[1] == 1 != cls_m.shape[1]:
            # one distillation token (section 4.7's KD reading) is averaged into every MCT
            cls_r = cls_r.expand_as(cls_m)
        if cls_r is None or cls_r.shape != cls_m.shape:
            raise ValueError(f"fusion {self.kind!r} needs cls_r with the shape of cls_m")
        if self.kind == "sum":
            return cls_m + cls_r
        if self.kind == "mul":
            return cls_m * cls_r
        return (cls_m + cls_r) / 2


class _Attend(nn.Module):
    """Pre-norm multi-head attention: queries from one set, keys and values from another."""

    def __init__(self, dim: int, num_q: int, num_kv: int, cfg: MCTFConfig) -> None:
        super().__init__()
        self.heads = _Heads(cfg.num_heads, "standard")
        self.scale = cfg.qk_scale if cfg.qk_scale is not None else (dim // cfg.num_heads) ** -0.5
        self.norm_q = _norm(cfg, num_q, dim)
        self.norm_kv = _norm(cfg, num_kv, dim)
        self.q = nn.Linear(dim, dim, bias=cfg.qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=cfg.qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = nn.Dropout(cfg.attn_drop)
        self.proj_drop = nn.Dropout(cfg.proj_drop)

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor) -> torch.Tensor:
        q = self.heads.split(self.q(self.norm_q(x_q)))
        k, v = (self.heads.split(t) for t in self.kv(self.norm_kv(x_kv)).chunk(2, dim=-1))
        y = self.heads.join(_attention(q, k, v, self.scale, self.attn_drop))
        return self.proj_drop(self.proj(y))


class _Block(nn.Module):
    """x + Attend(x, context); then x + DropPath(MLP(LN(x)))."""

    def __init__(self, dim: int, num_q: int, num_kv: int, cfg: MCTFConfig) -> None:
        super().__init__()
        self.attn = _Attend(dim, num_q, num_kv, cfg)
        self.norm = _norm(cfg, num_q, dim)
        self.mlp = _MLP(dim, cfg.mlp_ratio)
        self.drop_path = StochasticDepth(cfg.drop_path, mode="row")

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(x, context))
        return x + self.drop_path(self.mlp(self.norm(x)))


class _PairFusion(nn.Module):
    """Base of the attention alternatives: checks the pair, then :meth:`fuse` (Shape as MCTF)."""

    def __init__(self, dim: int, num_tokens: int) -> None:
        super().__init__()
        self.dim, self.num_tokens = dim, num_tokens

    def fuse(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        """The fused token set ``(B, C, D)`` of two checked sets ``(B, C, D)``."""
        raise NotImplementedError

    def forward(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        _check_pair(cls_m, cls_r, self.num_tokens, self.dim)
        return self.fuse(cls_m, cls_r)


class SelfAttentionFusion(_PairFusion):
    """Table 5 "SelfAttention": one transformer block over the joined token sets.

    # ASSUMPTION: the paper cites [50] without details. We run one pre-norm transformer block
    # (same heads, QK scale, MLP ratio and drop path as MCTF) over the 2C tokens [cls_m, cls_r]
    # and return the mean of the two halves, so the output has C tokens like MCTF's.

    Shape:
        cls_m, cls_r: ``(B, C, D)``; output ``(B, C, D)``.
    """

    def __init__(self, dim: int, num_tokens: int, cfg: MCTFConfig = DEFAULT_MCTF) -> None:
        super().__init__(dim, num_tokens)
        self.block = _Block(dim, 2 * num_tokens, 2 * num_tokens, cfg)

    def fuse(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        x = torch.cat([cls_m, cls_r], dim=1)  # (B, 2C, D)
        y = self.block(x, x)
        return (y[:, : self.num_tokens] + y[:, self.num_tokens :]) / 2


class CrossAttentionFusion(_PairFusion):
    """Table 5 "CrossAttention": each token set attends to the other.

    # ASSUMPTION: the paper cites [50] without details. We use two pre-norm cross-attention blocks,
    # cls_m querying cls_r and cls_r querying cls_m (the two cross directions of MCTF, without its
    # self terms), and return the mean of the two outputs.

    Shape:
        cls_m, cls_r: ``(B, C, D)``; output ``(B, C, D)``.
    """

    def __init__(self, dim: int, num_tokens: int, cfg: MCTFConfig = DEFAULT_MCTF) -> None:
        super().__init__(dim, num_tokens)
        self.m_from_r = _Block(dim, num_tokens, num_tokens, cfg)
        self.r_from_m = _Block(dim, num_tokens, num_tokens, cfg)

    def fuse(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        return (self.m_from_r(cls_m, cls_r) + self.r_from_m(cls_r, cls_m)) / 2


def build_token_fusion(
    kind: TokenFusionKind, dim: int, num_tokens: int, cfg: MCTFConfig = DEFAULT_MCTF
) -> nn.Module:
    """Build a token fusion ``f(cls_m, cls_r) -> (B, C, D)`` by name.

    Args:
        kind: one of :data:`TOKEN_FUSIONS`.
        dim: token width D.
        num_tokens: tokens per set C.
        cfg: settings of the attention-based fusions.

    Raises:
        ValueError: for an unknown kind.
    """
    if kind == "mctf":
        return MCTF(dim, num_tokens, cfg)
    if kind == "selfattn":
        return SelfAttentionFusion(dim, num_tokens, cfg)
    if kind == "crossattn":
        return CrossAttentionFusion(dim, num_tokens, cfg)
    if kind in ("sum", "mul", "mean", "cls"):
        return ElementwiseFusion(kind)
    raise ValueError(f"unknown token fusion {kind!r}; choose from {', '.join(TOKEN_FUSIONS)}")


# ------------------------------------------------------------------------------------------------
# Late fusion (Table 6)
# ------------------------------------------------------------------------------------------------


class FeatureModel(Protocol):
    """What :class:`LateFusion` needs of each branch (the single-branch MCT models satisfy it)."""

    modalities: tuple[str, ...]
    feature_dim: int

    def forward_features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The token set its head reads, ``(B, C, feature_dim)``."""
        ...

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` from :meth:`forward_features`."""
        ...


class LateFusion(TwoBranchModel):
    """Late fusion of two complete single-branch models (Table 6).

    * ``sum`` (LateFusionSum): the mean of the two models' scores, ``sigmoid(logits) =
      (sigmoid(a) + sigmoid(b)) / 2``.
    * ``mul`` (LateFusionMul): the product of the two scores.
    * ``concat`` (LateFusionConcat): a trained ``Dropout + Linear`` head on the concatenated
      features of the two models (each branch's token set averaged over tokens).

    # ASSUMPTION: the paper gives no detail beyond the names. "Sum" is the mean rather than the
    # sum of the scores so that the fused score stays a probability (the ranking, hence mAP, is
    # the same). The whole model is trained end to end on the fused logits, starting from the two
    # stage-1 models (:meth:`~musclemap_lib.models.two_branch.TwoBranchModel.load_stage1`).

    Args:
        main: the RGB model (e.g. ``mvitv2_s_mct``).
        aux: the auxiliary model (e.g. ``hdgcn_mct``).
        kind: ``sum``, ``concat`` or ``mul``.
        num_classes: number of muscle groups.
        head_dropout: dropout before the concat head.
    """

    def __init__(
        self,
        main: FeatureModel,
        aux: FeatureModel,
        kind: LateFusionKind,
        num_classes: int = 20,
        head_dropout: float = 0.5,
    ) -> None:
        super().__init__(main, aux, num_classes)  # type: ignore[arg-type]
        if kind not in ("sum", "concat", "mul"):
            raise ValueError(f"unknown late fusion {kind!r}; choose sum, concat or mul")
        self.kind = kind
        self.head = (
            nn.Sequential(
                nn.Dropout(head_dropout), nn.Linear(main.feature_dim + aux.feature_dim, num_classes)
            )
            if kind == "concat"
            else None
        )

    def forward(self, batch: Mapping[str, torch.Tensor]) -> FusionOutput:
        f_main = self.main.forward_features(batch)  # (B, C, D_main)
        f_aux = self.aux.forward_features(batch)  # (B, C, D_aux)
        main_logits = self.main.forward_head(f_main)
        aux_logits = self.aux.forward_head(f_aux)
        if self.kind == "concat":
            assert self.head is not None
            logits = self.head(torch.cat([f_main.mean(dim=1), f_aux.mean(dim=1)], dim=-1))
        else:
            how: ScoreCombine = "mean_prob" if self.kind == "sum" else "prod_prob"
            logits = combine_scores(main_logits, aux_logits, how)
        return FusionOutput(logits, main_logits, aux_logits, no_distillation(logits))


# ------------------------------------------------------------------------------------------------
# Late-fusion variants (data) and builders
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LateFusionConfig:
    """One row of Table 6: how the scores are fused, and which stage-1 models are the branches."""

    kind: LateFusionKind  # sum | concat | mul (see LateFusion)
    main: str = "mvitv2_s_mct"  # registered stage-1 model of the RGB branch (the paper's)
    aux: str = "hdgcn_mct"  # registered stage-1 model of the auxiliary branch (the paper's)


# Table 6: late fusion of the two stage-1 single-branch models of TransM3E.
LATE_FUSION_VARIANTS: dict[str, LateFusionConfig] = {
    "late_fusion_sum": LateFusionConfig("sum"),  # LateFusionSum: the mean of the two scores
    "late_fusion_concat": LateFusionConfig("concat"),  # LateFusionConcat: a head on both features
    "late_fusion_mul": LateFusionConfig("mul"),  # LateFusionMul: the product of the two scores
}


def build_late_fusion(
    cfg: LateFusionConfig, scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **kw: Any
) -> LateFusion:
    """Build a :class:`LateFusion` of the two registered models of ``cfg`` at ``scale``.

    ``kw`` are options of :class:`LateFusion` (``head_dropout``).
    """
    main = build_model(cfg.main, scale, num_classes)
    aux = build_model(cfg.aux, scale, num_classes)
    return LateFusion(main, aux, cfg.kind, num_classes, **kw)  # type: ignore[arg-type]


register_variants(
    LATE_FUSION_VARIANTS,
    build_late_fusion,
    "Table 6 late fusion of the two stage-1 single-branch models (trained end to end).",
)
