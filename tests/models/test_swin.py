"""Video Swin: exact counts, torchvision equivalence, the reduced-scale rules, options."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torchvision.models.video import swin3d_b, swin3d_s
from torchvision.models.video.swin_transformer import SwinTransformer3d

from musclemap_lib.models import build_model
from musclemap_lib.models.scales import SCALES
from musclemap_lib.models.swin import VideoSwinConfig, config


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small models: intra-op threads only add contention on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    ("name", "expected", "tv_builder"),
    [("videoswin_s", 49_524_458, swin3d_s), ("videoswin_b", 87_659_484, swin3d_b)],
)
def test_paper_count_and_torchvision_names(name: str, expected: int, tv_builder) -> None:
    # baselines.md §5: 20 classes, 16 x 224 x 224. Built on the meta device (shapes only).
    with torch.device("meta"):
        ours = build_model(name, "paper", num_classes=20)
        tv = tv_builder(weights=None, num_classes=20)
    assert n_params(ours) == expected
    # Same tensors under the same names as torchvision's builder: its weights load as they are.
    want = {k: v.shape for k, v in tv.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == want


def test_same_logits_as_torchvision_forward() -> None:
    # Our forward_features + forward_head (mean pool, dropout, linear) equals torchvision's
    # forward (norm, AdaptiveAvgPool3d, linear) in eval mode, on the smoke configuration.
    torch.manual_seed(0)
    ours = build_model("videoswin_s", "smoke", num_classes=20).eval()
    c = ours.cfg
    tv = SwinTransformer3d(
        patch_size=list(c.patch_size),
        embed_dim=c.embed_dim,
        depths=list(c.depths),
        num_heads=list(c.num_heads),
        window_size=list(c.window_size),
        num_classes=20,
    ).eval()
    result = tv.load_state_dict(ours.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    video = torch.randn(2, 3, c.num_frames, c.crop_size, c.crop_size)
    with torch.no_grad():
        want = tv(video)
        got = ours({"rgb": video})
    assert (want[0] - want[1]).abs().max() > 1e-4  # the logits depend on the input
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["videoswin_s", "videoswin_b"])
@pytest.mark.parametrize("scale", ["paper", "cpu", "smoke"])
def test_scaled_configs(name: str, scale: str) -> None:
    paper, cfg = config(name, SCALES["paper"]), config(name, SCALES[scale])
    assert len(cfg.depths) == len(paper.depths) and min(cfg.depths) >= 1
    grid = cfg.patch_grid
    assert all(n % w == 0 for n, w in zip(grid, cfg.window_size, strict=True))  # windows tile
    assert all(w <= pw for w, pw in zip(cfg.window_size, paper.window_size, strict=True))
    head_dims = {cfg.embed_dim * 2**i // h for i, h in enumerate(cfg.num_heads)}
    assert len(head_dims) == 1  # one head width throughout, heads double with the width
    if scale == "paper":
        assert cfg == paper
        assert cfg.window_size == (8, 7, 7) and grid == (8, 56, 56)
    else:
        assert cfg.embed_dim < paper.embed_dim and sum(cfg.depths) < sum(paper.depths)


def test_forward_features_and_head() -> None:
    m = build_model("videoswin_s", "smoke").eval()
    batch = {"rgb": torch.randn(2, 3, 4, 32, 32)}
    feats = m.forward_features(batch)
    t, h, w = m.cfg.patch_grid
    assert feats.shape == (2, t, math.ceil(h / 8), math.ceil(w / 8), m.cfg.out_dim)
    torch.testing.assert_close(m.forward_head(feats), m.head(feats.mean(dim=(1, 2, 3))))
    assert m(batch).shape == (2, 20)


@pytest.mark.parametrize(("modality", "channels"), [("rgb_diff", 3), ("flow", 2)])
def test_modality_option(modality: str, channels: int) -> None:
    m = build_model("videoswin_s", "smoke", modality=modality)
    assert m.modalities == (modality,)
    assert m.patch_embed.proj.in_channels == channels
    assert m({modality: torch.randn(1, channels, 4, 32, 32)}).shape == (1, 20)
    with pytest.raises(KeyError, match=modality):
        m({"rgb": torch.randn(1, 3, 4, 32, 32)})


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="video modality"):
        build_model("videoswin_s", "smoke", modality="skeleton")
    with pytest.raises(ValueError, match="unknown VideoSwin option"):
        build_model("videoswin_s", "smoke", window=(2, 4, 4))
    with pytest.raises(ValueError, match="does not tile"):
        VideoSwinConfig(num_frames=4, crop_size=32)  # paper window 8x7x7 on a 2x8x8 grid
    with pytest.raises(ValueError, match="not divisible"):
        VideoSwinConfig(
            embed_dim=16,
            num_heads=(3, 6, 12, 24),
            num_frames=4,
            crop_size=32,
            window_size=(2, 4, 4),
        )


def test_backward_reaches_every_parameter() -> None:
    m = build_model("videoswin_b", "smoke").train()
    m({"rgb": torch.randn(2, 3, 4, 32, 32)}).sum().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing
