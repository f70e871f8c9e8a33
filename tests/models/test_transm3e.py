"""TransM3E: tokens, MCTKD positions, gradients, variants as data, stage-1 loading."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from torch import nn

from musclemap_lib.models import build_model, list_models
from musclemap_lib.models import transm3e as tm
from musclemap_lib.models.distillation import KDConfig, kd_pairs, kd_term
from musclemap_lib.models.fusion import LATE_FUSION_VARIANTS, FusionOutput, combine_scores
from musclemap_lib.models.scales import SMOKE
from musclemap_lib.models.tokens import (
    MCT_SKELETON_VARIANTS,
    MCT_VIDEO_VARIANTS,
    MCTSkeletonConfig,
    build_mct_skeleton,
)
from musclemap_lib.models.two_branch import load_stage1_weights

B = 2


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: intra-op threads only add contention on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


S = SMOKE
ALL_NAMES = (
    list(tm.TRANSM3E_VARIANTS)
    + list(LATE_FUSION_VARIANTS)
    + list(MCT_VIDEO_VARIANTS)
    + list(MCT_SKELETON_VARIANTS)
)


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    video = (B, S.frames, S.size, S.size)
    return {
        "rgb": torch.randn(B, 3, *video[1:], generator=g),
        "rgb_diff": torch.rand(B, 3, *video[1:], generator=g),
        "flow": torch.randn(B, 2, *video[1:], generator=g),
        "skeleton": torch.randn(B, 1, S.frames, 17, 3, generator=g),
        "labels": (torch.rand(B, 20, generator=g) > 0.5).float(),
    }


def _build(name: str, **kw: Any) -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, SMOKE, **kw)


def _diff(a: Any, b: Any, prefix: str = "") -> set[str]:
    """Names of the (nested) dataclass fields that differ between two configs."""
    out: set[str] = set()
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x) and dataclasses.is_dataclass(y):
            out |= _diff(x, y, f"{prefix}{f.name}.")
        elif x != y:
            out.add(prefix + f.name)
    return out


# ------------------------------------------------------------------------------------------------
# Every variant: registered, forward and backward at smoke scale
# ------------------------------------------------------------------------------------------------


def test_every_variant_is_registered() -> None:
    assert set(ALL_NAMES) <= set(list_models())
    for name in (
        "transm3e",
        "transm3e_no_mct",
        "transm3e_no_mctkd",
        "transm3e_no_mctf",
        "transm3e_fl_kd",
        "transm3e_de_mctkd",
        "transm3e_fusion_crossattn",
        "transm3e_rgbdiff_teacher",
        "late_fusion_concat",
        "mvitv2_s_mct_flow",
        "mvitv2_s_mct_rgb_diff",
        "hdgcn_mct",
    ):
        assert name in ALL_NAMES


@pytest.mark.parametrize("name", ALL_NAMES)
def test_variant_forward_backward_smoke(name: str) -> None:
    model = _build(name)
    out = model(_batch())
    logits = out.logits if isinstance(out, FusionOutput) else out
    assert logits.shape == (B, 20) and torch.isfinite(logits).all()
    loss = nn.functional.binary_cross_entropy_with_logits(logits, _batch()["labels"])
    if isinstance(out, FusionOutput):
        assert out.main_logits.shape == (B, 20)
        assert len(out.kd.terms) == len(out.kd.positions)
        assert torch.isfinite(out.kd.total)
        loss = loss + out.kd.total
    loss.backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable)


# ------------------------------------------------------------------------------------------------
# Tokens
# ------------------------------------------------------------------------------------------------


def test_video_token_count_and_order() -> None:
    model = _build("transm3e")
    main = model.main
    c = model.cfg.num_tokens
    assert main.backbone.num_prefix_tokens == 2 * c == main.num_distill + main.num_cls
    seen: dict[str, torch.Tensor] = {}
    embed = main.backbone.embed

    def spy(video: torch.Tensor, prefix: torch.Tensor | None = None) -> Any:
        seen["prefix"] = prefix
        return embed(video, prefix)

    main.backbone.embed = spy  # type: ignore[method-assign]
    trace = main.trace(_batch()["rgb"])
    prefix = seen["prefix"]
    assert prefix.shape[1] == 2 * c
    # the released order: [receiver (distillation) tokens | classification tokens | patches]
    assert torch.equal(prefix[:, :c], main.distill_tokens)
    assert torch.equal(prefix[:, c:], main.cls_tokens)
    assert len(trace.steps) == main.depth
    for step, width in zip(trace.steps, main.block_widths, strict=True):
        assert step.shape == (B, 2 * c, width)
    assert trace.final.shape == (B, 2 * c, main.feature_dim)


def test_skeleton_tokens_join_after_the_first_unit_and_travel_through_all() -> None:
    model = _build("transm3e")
    aux = model.aux
    c = model.cfg.num_tokens
    trace = aux.trace(_batch()["skeleton"])
    assert len(trace.steps) == len(aux.gcn.layers) == len(aux.steps)
    for step, width in zip(trace.steps, aux.gcn.layer_channels, strict=True):
        assert step.shape == (B, 2 * c, width)  # [distill | cls] at every unit's width
    assert trace.final.shape == (B, 2 * c, aux.feature_dim)
    # Eq. 3: the classification tokens see the input; so do the distillation tokens (ASSUMPTION).
    other = aux.trace(_batch(seed=1)["skeleton"])
    moved = (trace.final - other.final).abs().sum(dim=-1)  # (B, 2C)
    assert (moved > 0).all()


def test_skeleton_distill_tokens_are_input_independent_without_the_merge() -> None:
    cfg = MCTSkeletonConfig(distill_tokens=True, merge_into_distill=False)
    aux = build_mct_skeleton(cfg, SMOKE).eval()
    a = aux.trace(_batch(0)["skeleton"]).final
    b = aux.trace(_batch(1)["skeleton"]).final
    c = cfg.num_tokens
    torch.testing.assert_close(a[:, :c], b[:, :c])  # Eq. 3 literally: a learned constant
    assert not torch.allclose(a[:, c:], b[:, c:])


def test_skeleton_node_path_starts_as_plain_hdgcn() -> None:
    # P_m starts as the identity, so the nodes after every unit equal HD-GCN's own forward.
    model = _build("hdgcn_mct").eval()
    skeleton = _batch()["skeleton"]
    nodes: list[torch.Tensor] = []
    hooks = [s.register_forward_hook(lambda m, i, o: nodes.append(o[0])) for s in model.steps]
    model.trace(skeleton)
    for h in hooks:
        h.remove()
    plain = model.gcn.forward_features({"skeleton": skeleton})  # (B, M, C, T, V)
    torch.testing.assert_close(nodes[-1].reshape(plain.shape), plain)


# ------------------------------------------------------------------------------------------------
# MCTKD
# ------------------------------------------------------------------------------------------------


def test_number_of_kd_terms_at_paper_depth() -> None:
    # MViTv2-S: 16 blocks, reductions after blocks 1, 3, 14; HD-GCN: 10 units.
    red = (1, 3, 14)
    assert len(kd_pairs("final", 16, red, 10)) == 1
    assert len(kd_pairs("sparse", 16, red, 10)) == 4
    assert len(kd_pairs("dense", 16, red, 10)) == 16
    assert kd_pairs("none", 16, red, 10) == ()
    # the documented alignment table of the module docstring
    assert kd_pairs("sparse", 16, red, 10) == ((1, 1), (3, 2), (14, 9), (15, 9))
    dense = kd_pairs("dense", 16, red, 10)
    assert [g for _, g in dense] == sorted(g for _, g in dense)  # monotone
    assert kd_pairs("dense", 16, red, 16) == tuple((b, b) for b in range(16))


@pytest.mark.parametrize(
    ("name", "which"),
    [
        ("transm3e_fl_mctkd", "final"),
        ("transm3e_sp_mctkd", "sparse"),
        ("transm3e_de_mctkd", "dense"),
    ],
)
def test_number_of_kd_terms_in_the_model(name: str, which: str) -> None:
    model = _build(name)
    depth, red = model.main.depth, model.main.reduction_blocks
    expected = {"final": 1, "sparse": len(set(red) | {depth - 1}), "dense": depth}[which]
    out = model(_batch())
    assert len(out.kd.terms) == expected == len(model.pairs)
    torch.testing.assert_close(out.kd.total, torch.stack(out.kd.terms).mean())


def test_kd_term_matches_torch_kldiv() -> None:
    g = torch.Generator().manual_seed(0)
    r, s = torch.randn(3, 20, 8, generator=g), torch.randn(3, 20, 8, generator=g)
    cfg = KDConfig()
    # released: KLDivLoss(mean)(log_softmax(S/T, token axis), softmax(T/T)) * alpha * T^2
    ref = nn.KLDivLoss()(
        torch.log_softmax(r / cfg.tau, dim=1), torch.softmax(s / cfg.tau, dim=1)
    ) * (cfg.alpha * cfg.tau**2)
    torch.testing.assert_close(kd_term(r, s, cfg), ref)
    rev = dataclasses.replace(cfg, direction="receiver_to_sender")
    torch.testing.assert_close(kd_term(s, r, rev), ref)
    chan = dataclasses.replace(cfg, softmax_axis="channel")
    ref_c = nn.KLDivLoss()(torch.log_softmax(r / 10, dim=2), torch.softmax(s / 10, dim=2)) * 90
    torch.testing.assert_close(kd_term(r, s, chan), ref_c)
    # one token + token-axis softmax: identically zero, so w/o MCT distils over channels
    assert kd_term(r[:, :1], s[:, :1], cfg).item() == 0.0
    assert kd_term(r[:, :1], s[:, :1], chan).item() > 0.0


def test_without_mct_still_distils() -> None:
    model = _build("transm3e_no_mct")
    assert model.cfg.num_tokens == 1 and model.cfg.kd.softmax_axis == "channel"
    out = model(_batch())
    assert out.kd.total.item() > 0.0  # the row differs from w/ all by MCT alone, not MCTKD too
    with pytest.raises(ValueError, match="single token distils nothing"):
        build_model(
            "transm3e",
            scale="smoke",
            num_tokens=1,
        )


def test_kd_gradients_reach_the_receiver_tokens_but_not_the_sender() -> None:
    model = _build("transm3e")
    out = model(_batch())
    out.kd.total.backward()
    assert model.main.distill_tokens.grad is not None
    assert model.main.distill_tokens.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.aux.parameters())  # detach_sender
    assert model.main_fusion.qkv_m.weight.grad is None  # KD does not touch the fusion


def test_conventional_kd_distils_the_classification_tokens() -> None:
    model = _build("transm3e_sp_kd")
    assert model.main.distill_tokens is None and model.aux.distill_tokens is None
    model(_batch()).kd.total.backward()
    assert model.main.cls_tokens.grad is not None and model.main.cls_tokens.grad.abs().sum() > 0


def test_single_token_kd_distils_one_token_per_branch() -> None:
    """Section 4.7's reading of Table 4's KD: one distillation token beside the 20 MCTs."""
    model = _build("transm3e_sp_kd_single")
    assert model.main.num_distill == 1 and model.aux.num_distill == 1
    assert model.main.num_cls == model.aux.num_cls == 20
    out = model(_batch())
    assert out.logits.shape == (B, 20)
    assert out.kd.total.item() > 0.0  # channel softmax: one token still distils
    out.kd.total.backward()
    assert model.main.distill_tokens.grad.abs().sum() > 0
    v = tm.TRANSM3E_VARIANTS
    for pos in ("fl", "sp", "de"):
        diff = _diff(v[f"transm3e_{pos}_mctkd"], v[f"transm3e_{pos}_kd_single"])
        assert diff == {"num_distill_tokens", "kd.softmax_axis"}
    with pytest.raises(ValueError, match="num_distill_tokens=1"):
        build_model("transm3e", scale="smoke", num_distill_tokens=1)  # MCTF pairs C tokens
    with pytest.raises(ValueError, match="single token distils nothing"):
        build_model(
            "transm3e_sp_kd_single", scale="smoke", kd=dataclasses.replace(v["transm3e"].kd)
        )


def test_frozen_teacher_gets_no_gradient_and_stays_in_eval_mode() -> None:
    model = _build("transm3e_rgbdiff_teacher")
    model.train()
    assert not model.aux.training and model.main.training
    assert not any(p.requires_grad for p in model.aux.parameters())
    out = model(_batch())
    assert out.aux_logits is None
    torch.testing.assert_close(out.logits, out.main_logits)  # released: main branch alone
    assert len(out.kd.terms) == model.main.depth  # dense
    (out.logits.sum() + out.kd.total).backward()
    assert all(p.grad is None for p in model.aux.parameters())
    assert model.main.distill_tokens.grad.abs().sum() > 0


def test_prediction_is_the_mean_of_the_two_branches_scores() -> None:
    model = _build("transm3e").eval()
    out = model(_batch())
    expected = (torch.sigmoid(out.main_logits) + torch.sigmoid(out.aux_logits)) / 2
    torch.testing.assert_close(torch.sigmoid(out.logits), expected)
    main_only = _build("transm3e", predict="main").eval()
    o = main_only(_batch())
    torch.testing.assert_close(o.logits, o.main_logits)


# ------------------------------------------------------------------------------------------------
# Variants are data: a flag changes only what it names
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        # one token needs the softmax over channels to distil anything (the DEVIATION tag)
        ("transm3e_no_mct", {"num_tokens", "kd.softmax_axis"}),
        ("transm3e_no_mctkd", {"kd.positions"}),
        ("transm3e_no_mctf", {"fusion"}),
        ("transm3e_fusion_sum", {"fusion"}),
        ("transm3e_fusion_mul", {"fusion"}),
        ("transm3e_fusion_selfattn", {"fusion"}),
        ("transm3e_fusion_crossattn", {"fusion"}),
    ],
)
def test_table3_and_table5_flags_change_only_what_they_name(name: str, fields: set[str]) -> None:
    assert _diff(tm.TRANSM3E_VARIANTS["transm3e"], tm.TRANSM3E_VARIANTS[name]) == fields


def test_table4_rows_differ_only_in_position_and_token_kind() -> None:
    v = tm.TRANSM3E_VARIANTS
    for kind in ("kd", "mctkd"):
        assert _diff(v[f"transm3e_sp_{kind}"], v[f"transm3e_fl_{kind}"]) == {"kd.positions"}
        assert _diff(v[f"transm3e_sp_{kind}"], v[f"transm3e_de_{kind}"]) == {"kd.positions"}
    for pos in ("fl", "sp", "de"):
        diff = _diff(v[f"transm3e_{pos}_mctkd"], v[f"transm3e_{pos}_kd"])
        assert diff == {"kd.receiver", "kd.sender"}
    # appendix E: Table 4 is without MCTF, so SP-MCTKD is the w/o-MCTF model
    assert v["transm3e_sp_mctkd"] == v["transm3e_no_mctf"]


def _param_names(name: str) -> set[str]:
    with torch.device("meta"):
        return {n for n, _ in build_model(name, "smoke").named_parameters()}


def test_switching_a_flag_changes_only_the_named_modules() -> None:
    base = _param_names("transm3e")
    no_kd = _param_names("transm3e_no_mctkd")
    assert {n.split(".")[0] for n in base ^ no_kd} == {"kd_proj"}
    fusion_sum = _param_names("transm3e_fusion_sum")
    assert {n.split(".")[0] for n in base ^ fusion_sum} == {"main_fusion", "aux_fusion"}
    fl = _param_names("transm3e_fl_mctkd")
    sp = _param_names("transm3e_sp_mctkd")
    assert {n.split(".")[0] for n in fl ^ sp} == {"kd_proj"}


def test_invalid_combinations_raise() -> None:
    with pytest.raises(ValueError, match="conventional KD"):
        tm.TransM3EConfig(kd=KDConfig(receiver="cls", sender="cls"), fusion="mctf")
    with pytest.raises(ValueError, match="predict='mean'"):
        tm.TransM3EConfig(aux_head=False)
    with pytest.raises(ValueError, match="unknown TransM3E option"):
        build_model("transm3e", "smoke", fusoin="sum")


# ------------------------------------------------------------------------------------------------
# Two-stage training
# ------------------------------------------------------------------------------------------------


def test_stage1_models_follow_the_variant_data() -> None:
    assert tm.stage1_models("transm3e") == ("mvitv2_s_mct", "hdgcn_mct")
    assert tm.stage1_models("transm3e_fl_kd") == ("mvitv2_s_mct", "hdgcn_mct")
    assert tm.stage1_models("transm3e_no_mct") == ("mvitv2_s_sct", "hdgcn_sct")
    assert tm.stage1_models("transm3e_rgbdiff_teacher") == ("mvitv2_s_mct", "mvitv2_s_mct_rgb_diff")
    assert tm.stage1_models("late_fusion_concat") == ("mvitv2_s_mct", "hdgcn_mct")
    with pytest.raises(ValueError, match="trained directly"):
        tm.stage1_models("mvitv2_s_mct")


def test_load_stage1_copies_weights_and_reports_the_rest() -> None:
    torch.manual_seed(1)
    rgb, aux = build_model("mvitv2_s_mct", SMOKE), build_model("hdgcn_mct", SMOKE)
    model = _build("transm3e")
    report = load_stage1_weights(model, [rgb.state_dict(), aux.state_dict()])
    torch.testing.assert_close(model.main.cls_tokens, rgb.cls_tokens)
    torch.testing.assert_close(model.aux.steps[0].p_m.weight, aux.steps[0].p_m.weight)
    assert "distill_tokens" in report.missing["main"]
    assert "distill_tokens" in report.missing["aux"]
    assert any(k.startswith("steps.0.p_s_distill") for k in report.missing["aux"])
    assert report.unused == {"main": (), "aux": ()}
    assert set(report.loaded["main"]) == set(rgb.state_dict())


@pytest.mark.parametrize("name", ["transm3e", "late_fusion_concat", "transm3e_rgbdiff_teacher"])
def test_load_stage1_is_a_method_of_every_two_branch_model(name: str) -> None:
    """The engine path: ``model.load_stage1([main, aux])`` for any model with stage-1 runs."""
    torch.manual_seed(1)
    states = [build_model(n, SMOKE).state_dict() for n in tm.stage1_models(name)]
    model = _build(name)
    text = model.load_stage1(states)
    assert isinstance(text, str) and text.startswith("main: loaded ") and "\naux: loaded " in text
    for branch, state in zip((model.main, model.aux), states, strict=True):
        for key, value in state.items():
            torch.testing.assert_close(branch.state_dict()[key], value)
    with pytest.raises(ValueError, match="2 stage-1 state dicts"):
        model.load_stage1(states[:1])


def test_load_stage1_refuses_other_shapes_and_foreign_keys() -> None:
    rgb1, aux1 = build_model("mvitv2_s_sct", SMOKE), build_model("hdgcn_sct", SMOKE)
    model = _build("transm3e")
    with pytest.raises(ValueError, match="cls_tokens"):
        model.load_stage1([rgb1.state_dict(), aux1.state_dict()])
    rgb = build_model("mvitv2_s_mct", SMOKE).state_dict()
    prefixed = {f"model.{k}": v for k, v in rgb.items()}
    with pytest.raises(ValueError, match="no stage-1 main key"):
        model.load_stage1([prefixed, build_model("hdgcn_mct", SMOKE).state_dict()])


def test_late_fusion_sum_of_the_real_branches() -> None:
    model = _build("late_fusion_sum").eval()
    batch = _batch()
    out = model(batch)
    expected = (torch.sigmoid(model.main(batch)) + torch.sigmoid(model.aux(batch))) / 2
    torch.testing.assert_close(torch.sigmoid(out.logits), expected)
    torch.testing.assert_close(
        out.logits, combine_scores(out.main_logits, out.aux_logits, "mean_prob")
    )
