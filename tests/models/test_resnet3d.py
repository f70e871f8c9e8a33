"""The ResNet-50 video family (C2D, I3D, Slow, SlowFast) against shared/reference/baselines.md."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

from musclemap_lib.models import build_model
from musclemap_lib.models.audit import count_parameters
from musclemap_lib.models.resnet3d import VARIANTS, Bottleneck, ResNet3d, config
from musclemap_lib.models.scales import SCALES, SMOKE, scaled_depth, scaled_width

NAMES = ("c2d_r50", "i3d_r50", "slow_r50", "slowfast_r50")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Smoke models: intra-op threads only add contention on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _meta(name: str, scale: str = "paper", num_classes: int = 20, **kw: object) -> ResNet3d:
    with torch.device("meta"):
        return build_model(name, scale=scale, num_classes=num_classes, **kw)  # type: ignore[return-value]


def _count(module: nn.Module) -> int:
    return count_parameters(module)


# baselines.md section 0: ours at 20 classes; at 400 classes they equal the published model-zoo
# figures (pytorchvideo / mmaction2: 24.33M, 28.04M, 32.45M, 34.57M).
@pytest.mark.parametrize(
    ("name", "at20", "at400"),
    [
        ("c2d_r50", 23_549_012, 24_327_632),
        ("i3d_r50", 27_264_852, 28_043_472),
        ("slow_r50", 31_675_476, 32_454_096),
        ("slowfast_r50", 33_690_588, 34_566_488),
    ],
)
def test_paper_scale_counts(name: str, at20: int, at400: int) -> None:
    assert _count(_meta(name)) == at20
    assert _count(_meta(name, num_classes=400)) == at400


# baselines.md section 3.3: stem, res2..res5.
@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("c2d_r50", (9_536, 215_808, 1_219_584, 7_098_368, 14_964_736)),
        ("i3d_r50", (47_168, 289_536, 1_416_192, 8_409_088, 17_061_888)),
        ("slow_r50", (9_536, 215_808, 1_219_584, 9_981_952, 20_207_616)),
    ],
)
def test_per_stage_counts(name: str, parts: tuple[int, ...]) -> None:
    (path,) = _meta(name).pathways
    assert (_count(path.stem), *(_count(s) for s in path.stages)) == parts


def test_slowfast_parts() -> None:
    # baselines.md section 3.4 (8x8): stems, fusions, slow and fast stages.
    m = _meta("slowfast_r50")
    slow, fast = m.pathways
    assert (_count(slow.stem), _count(fast.stem)) == (9_536, 5_896)
    assert [_count(f) for f in m.fusions] == [928, 14_464, 57_600, 229_888]
    assert [_count(s) for s in slow.stages] == [220_928, 1_260_544, 10_211_328, 21_125_120]
    assert [_count(s) for s in fast.stages] == [4_832, 27_008, 158_208, 318_208]
    assert m.fc.in_features == 2048 + 256


def test_c2d_backbone_is_torchvision_resnet50() -> None:
    with torch.device("meta"):
        tv = torchvision.models.resnet50()
    m = _meta("c2d_r50")
    assert _count(m) - _count(m.fc) == _count(tv) - _count(tv.fc) == 23_508_032


def _kernels(path: nn.Module) -> list[list[int]]:
    return [[blk.t_kernel for blk in stage] for stage in path.stages]


def test_temporal_kernels_follow_the_basis_cyclically() -> None:
    # baselines.md section 3.2.
    (i3d,) = _meta("i3d_r50").pathways
    assert i3d.stem.conv.kernel_size == (5, 7, 7)
    assert _kernels(i3d) == [[3, 3, 3], [3, 1, 3, 1], [3, 1, 3, 1, 3, 1], [1, 3, 1]]
    (slow,) = _meta("slow_r50").pathways
    assert _kernels(slow) == [[1] * 3, [1] * 4, [3] * 6, [3] * 3]
    (c2d,) = _meta("c2d_r50").pathways
    assert _kernels(c2d) == [[1] * 3, [1] * 4, [1] * 6, [1] * 3]
    sf_slow, sf_fast = _meta("slowfast_r50").pathways
    assert _kernels(sf_slow) == _kernels(slow)
    assert _kernels(sf_fast) == [[3] * 3, [3] * 4, [3] * 6, [3] * 3]
    assert sf_fast.stem.conv.kernel_size == (5, 7, 7)
    # the temporal kernel sits on the first (1x1) conv, the 3x3 is purely spatial
    for blk in i3d.modules():
        if isinstance(blk, Bottleneck):
            assert blk.conv_a.kernel_size == (blk.t_kernel, 1, 1)
            assert blk.conv_b.kernel_size == (1, 3, 3)


def test_final_bn_starts_at_zero_and_head_init() -> None:
    torch.manual_seed(0)
    m = build_model("c2d_r50", scale="smoke")
    blocks = [b for b in m.modules() if isinstance(b, Bottleneck)]
    assert blocks and all(torch.all(b.bn_c.weight == 0) for b in blocks)
    assert all(torch.all(b.bn_a.weight == 1) for b in blocks)
    assert torch.all(m.fc.bias == 0) and 0 < m.fc.weight.std() < 0.05


@pytest.mark.parametrize("scale", ["cpu", "smoke"])
@pytest.mark.parametrize("name", NAMES)
def test_reductions_come_from_the_scale_rules(name: str, scale: str) -> None:
    spec = SCALES[scale]
    paper, reduced = VARIANTS[name], config(name, spec)
    assert reduced.depths == tuple(scaled_depth(d, spec) for d in paper.depths)
    for p, r in [(paper.slow, reduced.slow), (paper.fast, reduced.fast)]:
        if p is None:
            assert r is None
            continue
        assert r.stem_width == scaled_width(p.stem_width, spec)
        assert r.out_widths == tuple(scaled_width(w, spec) for w in p.out_widths)
        assert r.inner_widths == tuple(scaled_width(w, spec) for w in p.inner_widths)
        assert r.temporal_basis == p.temporal_basis
    m = _meta(name, scale)
    assert [len(s) for s in m.pathways[0].stages] == list(reduced.depths)
    assert _count(m) < _count(_meta(name)) / 20


@pytest.mark.parametrize("frames", [4, 5, 8, 16])
def test_slowfast_reads_one_clip_and_subsamples_the_slow_pathway(frames: int) -> None:
    torch.manual_seed(0)
    m = build_model("slowfast_r50", scale="smoke").eval()
    s = SMOKE.size
    x = torch.randn(1, 3, frames, s, s)
    slow, fast = m.forward_features(x)
    assert slow.shape[2] == math.ceil(frames / 4)  # every 4th frame
    assert fast.shape[2] == frames
    assert m({"rgb": x}).shape == (1, 20)


@pytest.mark.parametrize("scale", ["paper", "cpu", "smoke"])
@pytest.mark.parametrize("name", NAMES)
def test_feature_shapes_at_each_scale(name: str, scale: str) -> None:
    sp = SCALES[scale]
    m = _meta(name, scale).eval()
    feats = m.forward_features(torch.empty(1, 3, sp.frames, sp.size, sp.size, device="meta"))
    t_slow = {"c2d_r50": sp.frames // 2, "i3d_r50": sp.frames // 2, "slow_r50": sp.frames}
    expected_t = t_slow.get(name, math.ceil(sp.frames / 4))
    assert feats[0].shape[1:] == (
        m.cfg.slow.out_widths[-1],
        expected_t,
        sp.size // 32,
        sp.size // 32,
    )
    if name == "slowfast_r50":
        assert feats[1].shape[2] == sp.frames


@pytest.mark.parametrize("name", NAMES)
def test_modality_override_changes_input_channels(name: str) -> None:
    torch.manual_seed(0)
    m = build_model(name, scale="smoke", modality="flow").eval()
    assert m.modalities == ("flow",)
    assert all(p.stem.conv.in_channels == 2 for p in m.pathways)
    s = SMOKE
    assert m({"flow": torch.randn(2, 2, s.frames, s.size, s.size)}).shape == (2, 20)
    with pytest.raises(KeyError, match="flow"):
        m({"rgb": torch.randn(2, 3, s.frames, s.size, s.size)})
    assert build_model(name, scale="smoke", modality="rgb_diff").modalities == ("rgb_diff",)
    # the modality changes the stem only: 3 -> 2 input channels removes one input plane per stem
    flow = _meta(name, modality="flow")
    stems = sum(p.stem.conv.weight[:, :1].numel() for p in flow.pathways)
    assert _count(_meta(name)) - _count(flow) == stems


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="skeleton"):
        build_model("c2d_r50", scale="smoke", modality="skeleton")
    with pytest.raises(TypeError, match="dropout"):
        build_model("c2d_r50", scale="smoke", widht=3)
    m = build_model("i3d_r50", scale="smoke", dropout=0.0)
    assert m.dropout.p == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        m({"rgb": torch.randn(2, 3, 1, 32, 32)})  # one frame cannot be pooled in time
