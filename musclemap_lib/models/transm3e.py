"""TransM3E: MCT knowledge distillation (MCTKD) and MCT fusion (MCTF) between two MCT branches.

PAPER: section 4.2 to 4.5, Figs. 3, 4 and 6, Eqs. 1 to 11, appendices C and E. The released code
(../shared/reference/official-code.md) is an older, RGB-difference version; where it fills a gap
of the paper we follow it and say so, and where it contradicts the paper both are options.

Every row of Tables 3 to 5 is a configuration of :class:`TransM3E`, registered by name from the
variant table :data:`TRANSM3E_VARIANTS` at the end of the file (data, never a copied class).
The pieces live by part:

* :mod:`musclemap_lib.models.tokens`: the two branches with multi-classification tokens
  (``MCTVideo``, ``MCTSkeleton``), also registered alone as the stage-1 models
  (``mvitv2_s_mct``, ``hdgcn_mct``, ...).
* :mod:`musclemap_lib.models.distillation`: the KD loss and where it applies.
* :mod:`musclemap_lib.models.fusion`: MCTF, the Table 5 alternatives and late fusion (Table 6).
* :mod:`musclemap_lib.models.two_branch`: the base class of the two-branch models and the
  stage-1 weight loading (stage 2 starts from the two stage-1 single-branch models).

This file: :class:`TransM3EConfig`; :class:`TransM3E` (the two branches, MCTKD between them,
MCTF or a Table 5 alternative on each branch, and the test-time combination of the two
branches); the variant table; :func:`stage1_models`; the builders.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import torch
from torch import nn

from musclemap_lib.models.base import check_choice
from musclemap_lib.models.distillation import KDConfig, KDPositions, TokenSet, kd_pairs, kd_term
from musclemap_lib.models.fusion import (
    DEFAULT_MCTF,
    LATE_FUSION_VARIANTS,
    TOKEN_FUSIONS,
    DistillLosses,
    FusionOutput,
    MCTFConfig,
    TokenFusionKind,
    build_token_fusion,
    combine_scores,
    no_distillation,
)
from musclemap_lib.models.registry import check_options, register_variants
from musclemap_lib.models.scales import PAPER, ScaleSpec
from musclemap_lib.models.tokens import (
    MCT_SKELETON_VARIANTS,
    MCT_VIDEO_VARIANTS,
    MCTBranch,
    MCTSkeletonConfig,
    MCTVideo,
    MCTVideoConfig,
    TokenTrace,
    build_mct_skeleton,
    build_mct_video,
    split_tokens,
)
from musclemap_lib.models.two_branch import TwoBranchModel
from musclemap_lib.muscles import NUM_MUSCLES

log = logging.getLogger(__name__)

AuxModality = Literal["skeleton", "rgb_diff"]


# ------------------------------------------------------------------------------------------------
# TransM3E
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransM3EConfig:
    """TransM3E: which auxiliary branch, tokens, KD, fusion and test-time rule."""

    # PAPER: skeleton through HD-GCN. "rgb_diff": a second MViTv2 on RGB differences (released).
    aux_modality: AuxModality = "skeleton"
    # C tokens per set (RELEASED: 20, one per muscle group; the paper names only C); 1 = w/o MCT
    num_tokens: int = 20
    kd: KDConfig = KDConfig()  # MCTKD / KD settings (positions "none" = w/o MCTKD)
    # Distillation tokens per branch: None = C (MCTKD, Fig. 6 d); 1 = section 4.7's reading of
    # Table 4's KD, "knowledge distillation on a single distillation token" (fusion "mean" or "cls")
    num_distill_tokens: int | None = None
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
        check_choice("TransM3EConfig.aux_modality", self.aux_modality, ("skeleton", "rgb_diff"))
        check_choice("TransM3EConfig.fusion", self.fusion, TOKEN_FUSIONS)
        check_choice("TransM3EConfig.predict", self.predict, ("mean", "main"))
        if self.num_tokens < 1:
            raise ValueError(f"TransM3EConfig.num_tokens must be >= 1, got {self.num_tokens}")
        if self.kd.receiver == "cls" and self.fusion not in ("mean", "cls"):
            raise ValueError(
                f"fusion {self.fusion!r} fuses classification and distillation tokens, but "
                f"kd.receiver='cls' (conventional KD) gives the main branch no distillation "
                f"tokens; use fusion='mean' (appendix E) or kd.receiver='distill'"
            )
        if self.num_distill_tokens not in (None, self.num_tokens) and self.fusion not in (
            "mean",
            "cls",
        ):
            raise ValueError(
                f"fusion {self.fusion!r} pairs each classification token with its own "
                f"distillation token; with num_distill_tokens={self.num_distill_tokens} use "
                "fusion='mean' (the single token is averaged into every MCT) or 'cls'"
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


class TransM3E(TwoBranchModel):
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

    main: MCTVideo
    aux: MCTBranch

    def __init__(
        self, cfg: TransM3EConfig, main: MCTVideo, aux: MCTBranch, num_classes: int = 20
    ) -> None:
        super().__init__(main, aux, num_classes)
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
        distilled = main.num_distill if cfg.kd.receiver == "distill" else c
        if distilled == 1 and cfg.kd.softmax_axis == "token" and self.pairs:
            # A softmax over one token is 1: every KD term would be identically 0 and the run
            # would silently be "w/o MCTKD" as well.
            raise ValueError(
                "TransM3E with a single token distils nothing with kd.softmax_axis='token' (every "
                "KD term is 0); use kd.softmax_axis='channel' or kd.positions='none'"
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
        c = self.main.num_cls
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

    def _predict(self, branch: MCTBranch, fusion: nn.Module, final: torch.Tensor) -> torch.Tensor:
        distill, cls = split_tokens(final, branch.num_distill)
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
# Variants (data) and builders
# ------------------------------------------------------------------------------------------------

_T = TransM3EConfig()
_APPENDIX_E = replace(_T, fusion="mean")  # Table 4 rows: "without MCTF ... simply average the MCTs"
# ASSUMPTION: Table 4's conventional KD is appendix E's reading (Fig. 6 c, "w/o knowledge
# distillation MCT", every run with MCTs): the classification MCTs are distilled.
_CONVENTIONAL_KD = KDConfig(receiver="cls", sender="cls")
# Section 4.7's reading of the same rows, KD "on a single distillation token": each branch gets one
# distillation token beside its 20 MCTs, the KD runs between those two tokens (softmax over the
# channels: over one token it is 1 and the KD term 0), and the token is averaged into every MCT
# (appendix E's "simply average"). Opt-in experiments transm3e_*_kd_single (study/catalogue.py).
_SINGLE_TOKEN_KD = replace(
    _APPENDIX_E, num_distill_tokens=1, kd=replace(_T.kd, softmax_axis="channel")
)


def _kd(base: KDConfig, positions: KDPositions) -> KDConfig:
    return replace(base, positions=positions)


TRANSM3E_VARIANTS: dict[str, TransM3EConfig] = {
    # Table 3 (w/ all = SP-MCTKD + MCTF; both branches predict; test = mean of the branches).
    "transm3e": _T,
    # DEVIATION: with one token the released token-axis softmax makes every KD term 0, which
    # would remove MCTKD too; w/o MCT distils its single token with the softmax over channels,
    # so the row differs from w/ all by MCT alone (issue 12).
    "transm3e_no_mct": replace(_T, num_tokens=1, kd=replace(_T.kd, softmax_axis="channel")),
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
    "transm3e_fl_kd_single": replace(_SINGLE_TOKEN_KD, kd=_kd(_SINGLE_TOKEN_KD.kd, "final")),
    "transm3e_de_kd_single": replace(_SINGLE_TOKEN_KD, kd=_kd(_SINGLE_TOKEN_KD.kd, "dense")),
    "transm3e_sp_kd_single": replace(_SINGLE_TOKEN_KD, kd=_kd(_SINGLE_TOKEN_KD.kd, "sparse")),
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


def _branch_configs(
    cfg: TransM3EConfig,
) -> tuple[MCTVideoConfig, MCTVideoConfig | MCTSkeletonConfig]:
    """The two branch configs of a TransM3E config (stage-1 configs have distill_tokens=False)."""
    n = cfg.num_distill_tokens
    main = MCTVideoConfig("rgb", cfg.num_tokens, cfg.kd.receiver == "distill", num_distill_tokens=n)
    aux_distill = cfg.kd.sender == "distill"
    if cfg.aux_modality == "skeleton":
        return main, MCTSkeletonConfig(
            num_tokens=cfg.num_tokens, distill_tokens=aux_distill, num_distill_tokens=n
        )
    return main, MCTVideoConfig("rgb_diff", cfg.num_tokens, aux_distill, num_distill_tokens=n)


def build_transm3e(
    cfg: TransM3EConfig,
    scale: ScaleSpec = PAPER,
    num_classes: int = NUM_MUSCLES,
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
        aux: MCTBranch = build_mct_skeleton(aux_cfg, scale, num_classes, **(aux_overrides or {}))
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
    single-branch variant tables (a late fusion names its two models), so the answer follows the
    data.

    Raises:
        ValueError: for a name that has no stage 1 (a single-branch model) or no match.
    """
    if name in LATE_FUSION_VARIANTS:
        late = LATE_FUSION_VARIANTS[name]
        return late.main, late.aux
    if name not in TRANSM3E_VARIANTS:
        raise ValueError(f"{name!r} is not a two-branch TransM3E variant; it is trained directly")
    out = []
    for branch in _branch_configs(TRANSM3E_VARIANTS[name]):
        stage1 = replace(branch, distill_tokens=False, num_distill_tokens=None)
        table = MCT_VIDEO_VARIANTS if isinstance(stage1, MCTVideoConfig) else MCT_SKELETON_VARIANTS
        names = [n for n, c in table.items() if c == stage1]
        if not names:
            raise ValueError(f"no registered stage-1 model has the config {stage1}")
        out.append(names[0])
    return out[0], out[1]


def _build(cfg: TransM3EConfig, scale: ScaleSpec, num_classes: int, **overrides: Any) -> TransM3E:
    """A variant with optional ``TransM3EConfig`` field overrides (e.g. ``predict="main"``)."""
    valid = {f.name for f in fields(TransM3EConfig)} | {"mvit_overrides", "aux_overrides"}
    check_options(overrides, valid, "TransM3E")
    mvit_ov, aux_ov = overrides.pop("mvit_overrides", None), overrides.pop("aux_overrides", None)
    return build_transm3e(replace(cfg, **overrides), scale, num_classes, mvit_ov, aux_ov)


register_variants(
    TRANSM3E_VARIANTS,
    _build,
    "TransM3E (Tables 2 to 5; options: TransM3EConfig fields, mvit_overrides, aux_overrides).",
)
