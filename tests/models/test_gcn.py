"""The skeleton GCNs (ST-GCN, CTR-GCN, HD-GCN): exact parameter counts, shapes, block API, errors.

Counts come from reference/baselines.md section 6 (measured on the official model classes).
Paper-scale models are only built and counted (a forward at paper scale is not needed here).
"""

from __future__ import annotations

import math

import pytest
import torch

from musclemap_lib.models import build_model
from musclemap_lib.models.gcn_layers import GCN_STAGES, MultiScaleTemporalConv, unit_plan
from musclemap_lib.models.hdgcn import HDGCNConfig
from musclemap_lib.models.scales import SCALES, scaled_depth, scaled_width
from musclemap_lib.skeleton import NUM_JOINTS

GCNS = ("stgcn", "ctrgcn", "hdgcn")
PAPER_CHANNELS = (64,) * 4 + (128,) * 3 + (256,) * 3
PAPER_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread avoids thread thrashing on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _skeleton(b: int = 2, m: int = 1, t: int = 4, v: int = NUM_JOINTS, seed: int = 0):
    return torch.randn(b, m, t, v, 3, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------------------------
# Parameter counts at paper scale, 20 classes
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "overrides", "expected"),
    [
        ("stgcn", {}, 2_635_268),  # uniform K=1 (our default): the paper's 2.6M
        ("stgcn", {"variant": "spatial"}, 3_078_424),  # the canonical Kinetics config
        ("stgcn", {"partition": "distance"}, 2_856_846),
        ("stgcn", {"edge_importance": False}, 2_632_378),
        ("ctrgcn", {}, 1_426_114),  # the paper's 1.4M
        ("hdgcn", {}, 1_289_346),  # 4-level COCO-17 hierarchy
        ("hdgcn", {"variant": "l1"}, 839_832),  # 1-level alternative (paper: 0.8M)
    ],
)
def test_paper_scale_parameter_counts_are_exact(name, overrides, expected):
    assert _count(build_model(name, "paper", 20, **overrides)) == expected


def test_stgcn_per_unit_counts():
    model = build_model("stgcn", "paper")
    # reference counts exclude the edge-importance masks (kept inside our units, K*V*V each)
    units = [_count(u) - u.importance.numel() for u in model.layers]
    assert units == [37_440] + [41_344] * 3 + [164_992] + [164_608] * 2 + [657_664] + [656_896] * 2
    assert sum(u.importance.numel() for u in model.layers) == 10 * NUM_JOINTS**2
    assert _count(model.data_bn) == 2 * 3 * NUM_JOINTS and _count(model.fc) == 5_140


def test_ctrgcn_per_unit_counts():
    model = build_model("ctrgcn", "paper")
    units = [_count(u) for u in model.layers]
    assert units == [11_044] + [25_300] * 3 + [77_076] + [96_836] * 2 + [300_740] + [381_220] * 2
    assert _count(model.fc) == 5_140 and _count(model.data_bn) == 2 * 3 * NUM_JOINTS


def test_hdgcn_each_level_adds_the_same_parameters():
    # reference: each extra hierarchy level adds 149,838 parameters (L=4 minus L=1 = 3 levels)
    l4, l1 = build_model("hdgcn"), build_model("hdgcn", variant="l1")
    assert _count(l4) - _count(l1) == 3 * 149_838
    assert l4.layers[0].gcn.aha is None  # the first unit sums the levels
    assert all(u.gcn.aha is not None for u in l4.layers[1:])
    assert tuple(l4.layers[1].gcn.PA.shape) == (4, 3, NUM_JOINTS, NUM_JOINTS)


def test_num_classes_only_changes_the_classifier():
    for name in GCNS:
        a, b = build_model(name, "paper", 20), build_model(name, "paper", 400)
        assert _count(b) - _count(a) == 380 * (256 + 1)


# ----------------------------------------------------------------------------------------------
# Scales and shapes
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GCNS)
def test_paper_plan(name):
    model = build_model(name, "paper")
    assert model.layer_channels == PAPER_CHANNELS
    assert model.layer_strides == PAPER_STRIDES
    assert len(model.layers) == 10


@pytest.mark.parametrize("scale", ["cpu", "smoke"])
@pytest.mark.parametrize("name", GCNS)
def test_reduced_scales_follow_scales_py(name, scale):
    model, spec = build_model(name, scale), SCALES[scale]
    expected = unit_plan(
        [
            type(s)(scaled_width(s.channels, spec), scaled_depth(s.units, spec), s.stride)
            for s in GCN_STAGES
        ],
        3,
    )
    assert model.layer_channels == tuple(s.out_channels for s in expected)
    assert model.layer_strides == tuple(s.stride for s in expected)
    assert _count(model) < _count(build_model(name, "paper")) / 10
    assert sorted(set(model.layer_strides)) == [1, 2] and model.layer_strides.count(2) == 2


@pytest.mark.parametrize("t", [4, 16, 7])
@pytest.mark.parametrize("name", GCNS)
def test_smoke_forward_shapes(name, t):
    torch.manual_seed(0)
    model = build_model(name, "smoke").train()
    batch = {"skeleton": _skeleton(t=t)}
    feats = model.forward_features(batch)
    assert feats.shape == (2, 1, model.layer_channels[-1], math.ceil(t / 4), NUM_JOINTS)
    assert model.forward_head(feats, pre_logits=True).shape == (2, model.num_features)
    logits = model(batch)
    assert logits.shape == (2, 20) and torch.isfinite(logits).all()


@pytest.mark.parametrize("name", GCNS)
def test_block_api_reproduces_forward(name):
    """stem -> layers -> forward_head is exactly forward (the path TransM3E splits)."""
    torch.manual_seed(0)
    model = build_model(name, "smoke").eval()
    skel = _skeleton(t=8)
    x = model.stem(skel)
    assert x.shape == (2, 3, 8, NUM_JOINTS)
    for layer, c, s in zip(model.layers, model.layer_channels, model.layer_strides, strict=True):
        t_in = x.shape[2]
        x = layer(x)
        assert x.shape == (2, c, math.ceil(t_in / s), NUM_JOINTS)
    logits = model.forward_head(x.reshape(2, 1, *x.shape[1:]))
    with torch.no_grad():
        torch.testing.assert_close(logits, model({"skeleton": skel}))


def test_stem_normalises_per_person_slot():
    model = build_model("ctrgcn", "smoke", num_persons=2).train()
    skel = _skeleton(b=4, m=2, t=6)
    skel[:, 1] = skel[:, 1] * 10 + 5  # the second person slot has its own statistics
    x = model.stem(skel).reshape(4, 2, 3, 6, NUM_JOINTS)
    for p in range(2):  # training-mode BN: each (person, joint, channel) feature has mean 0
        torch.testing.assert_close(
            x[:, p].mean(dim=(0, 2)), torch.zeros(3, NUM_JOINTS), atol=1e-5, rtol=0
        )
    assert model({"skeleton": skel}).shape == (4, 20)


def test_stgcn_accepts_any_number_of_persons():
    model = build_model("stgcn", "smoke").eval()
    assert model({"skeleton": _skeleton(m=2)}).shape == (2, 20)


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GCNS)
def test_wrong_joint_count_is_a_clear_error(name):
    model = build_model(name, "smoke")
    with pytest.raises(ValueError, match=r"COCO-17.*V=25"):
        model({"skeleton": _skeleton(v=25)})


@pytest.mark.parametrize("name", ["ctrgcn", "hdgcn"])
def test_wrong_person_count_is_a_clear_error(name):
    model = build_model(name, "smoke")
    with pytest.raises(ValueError, match="num_persons=2"):
        model({"skeleton": _skeleton(m=2)})


def test_aha_needs_as_many_levels_as_neighbours():
    with pytest.raises(ValueError, match=r"aha_k=3.*L=1"):
        HDGCNConfig(hierarchy="coco_l1")  # default aha_k=3 > L=1
    with pytest.raises(ValueError, match="aha_k"):
        build_model("hdgcn", "smoke", hierarchy="coco_l1")
    model = build_model("hdgcn", "smoke", variant="l1")  # k = min(3, L) = 1
    assert model.cfg.aha_k == 1 and model.cfg.num_levels == 1
    assert model({"skeleton": _skeleton()}).shape == (2, 20)


@pytest.mark.parametrize("name", GCNS)
def test_unknown_option_or_variant_is_a_clear_error(name):
    with pytest.raises(ValueError, match="unknown option"):
        build_model(name, "smoke", bogus=1)
    if name != "ctrgcn":
        with pytest.raises(ValueError, match="variant"):
            build_model(name, "smoke", variant="bogus")


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="partition"):
        build_model("stgcn", "smoke", partition="bogus")
    with pytest.raises(ValueError, match="hierarchy"):
        build_model("hdgcn", "smoke", hierarchy="bogus")
    with pytest.raises(ValueError, match="multiple of 4"):
        MultiScaleTemporalConv(6, 6)


@pytest.mark.parametrize("name", GCNS)
def test_flops_are_countable(name):
    """FlopCounterMode's module hooks must run through every GCN (no parameter as module input)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(name, "smoke").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model({"skeleton": _skeleton(b=1, t=4)})
    assert counter.get_total_flops() > 0


def test_stgcn_partitions_change_the_graph_conv_width():
    for variant, k in (("uniform", 1), ("spatial", 3)):
        model = build_model("stgcn", "smoke", variant=variant).eval()
        unit = model.layers[1]
        assert unit.A.shape == (k, NUM_JOINTS, NUM_JOINTS)
        assert unit.gcn.out_channels == k * model.layer_channels[1]
        assert model({"skeleton": _skeleton()}).shape == (2, 20)
