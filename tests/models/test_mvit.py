"""MViTv2: exact parameter counts, equivalence with torchvision's mvit_v2_s, prefix tokens."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torchvision.models.video import mvit_v2_s as tv_mvit_v2_s
from torchvision.models.video.mvit import MSBlockConfig
from torchvision.models.video.mvit import MViT as TvMViT

from musclemap_lib.models import build_model
from musclemap_lib.models.mvit import MViT, MViTConfig, config, rel_pos_bias
from musclemap_lib.models.scales import CPU, PAPER, SMOKE, ScaleSpec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small models: intra-op threads only add contention on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def build_meta(name: str, **kw: object) -> nn.Module:
    """Build on the meta device: shapes and counts only, no memory, no init time."""
    with torch.device("meta"):
        return build_model(name, "paper", num_classes=20, **kw)


# --------------------------------------------------------------------------------------------
# Counts and configuration
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [("mvitv2_s", 34_245_524), ("mvitv2_b", 50_901_044)])
def test_paper_parameter_count(name: str, expected: int) -> None:
    # baselines.md §4.3: 20 classes, 16 frames, one cls token.
    assert n_params(build_meta(name)) == expected


def test_paper_block_table_s() -> None:
    cfg = config("mvitv2_s", PAPER)
    assert cfg.transition_blocks == (1, 3, 14)
    assert [b.num_heads for b in cfg.blocks] == [1, 2, 2] + [4] * 11 + [8, 8]
    assert [b.kv_stride for b in cfg.blocks[:4]] == [(1, 8, 8), (1, 4, 4), (1, 4, 4), (1, 2, 2)]
    assert cfg.blocks[14].kv_stride == (1, 1, 1)
    assert cfg.patch_grid == (8, 56, 56)
    assert cfg.blocks[-1].q_thw == (8, 7, 7)
    assert all(b.dim_out // b.num_heads == 96 for b in cfg.blocks)
    assert cfg.blocks[-1].drop_path == pytest.approx(0.2)
    # baselines.md §4.2 per-block counts.
    with torch.device("meta"):
        model = MViT(cfg)
    counts = [n_params(b) for b in model.blocks]
    assert counts[:4] == [142_944, 428_352, 465_216, 1_641_984]
    assert counts[4:14] == [1_789_440] * 10
    assert counts[14:] == [6_513_024, 7_100_160]


def test_b_structure() -> None:
    cfg = config("mvitv2_b", PAPER)
    assert len(cfg.blocks) == 24 and cfg.transition_blocks == (2, 5, 21)
    m = build_model("mvitv2_b", "smoke")
    assert m.reduction_blocks == m.cfg.transition_blocks


@pytest.mark.parametrize("scale", [CPU, SMOKE])
def test_reduced_scales_keep_the_structure(scale: ScaleSpec) -> None:
    paper, cfg = config("mvitv2_s", PAPER), config("mvitv2_s", scale)
    assert len(cfg.stage_depths) == len(paper.stage_depths)  # every stage transition kept
    assert min(cfg.stage_depths) >= 1
    assert cfg.num_heads == paper.num_heads  # heads follow width / head_dim
    assert cfg.embed_dim < paper.embed_dim
    assert all(b.dim_out % b.num_heads == 0 for b in cfg.blocks)
    assert len({b.dim_out // b.num_heads for b in cfg.blocks}) == 1  # one head_dim throughout


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown MViT option"):
        build_model("mvitv2_s", "smoke", num_prefix_token=3)
    with pytest.raises(ValueError, match="video modality"):
        build_model("mvitv2_s", "smoke", modality="skeleton")


# --------------------------------------------------------------------------------------------
# Equivalence with torchvision
# --------------------------------------------------------------------------------------------


def torchvision_to_ours(tv_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a torchvision ``MViT`` state dict onto our :class:`MViT` names."""
    out: dict[str, torch.Tensor] = {}
    for key, value in tv_state.items():
        new = key
        if key.startswith("conv_proj."):
            new = key.replace("conv_proj.", "patch_embed.")
        elif key == "pos_encoding.class_token":
            new, value = "prefix_tokens", value.reshape(1, 1, -1)  # (D,) -> (1, 1, D)
        elif key.startswith("head.1."):
            new = key.replace("head.1.", "head.")
        elif key.startswith("blocks."):
            for a, b in (
                (".attn.project.0.", ".attn.proj."),
                (".pool.weight", ".conv.weight"),  # attn.pool_{q,k,v}.pool -> .conv
                (".norm_act.0.", ".norm."),  # attn.pool_{q,k,v}.norm_act.0 -> .norm
                (".mlp.0.", ".mlp.fc1."),
                (".mlp.3.", ".mlp.fc2."),
                (".project.", ".skip_proj."),
            ):
                new = new.replace(a, b)
        out[new] = value
    return out


def tv_mvit_v2_s_generic(frames: int, size: int) -> nn.Module:
    """torchvision's mvit_v2_s built through its generic ``MViT`` class at another clip size.

    ``mvit_v2_s()`` fixes 16 x 224 x 224; the block table below is its configuration
    (torchvision/models/video/mvit.py), written out here independently of our config code.
    """
    heads = [1, 2, 2] + [4] * 11 + [8, 8]
    dims_in = [96, 96, 192, 192] + [384] * 11 + [768]
    dims_out = [96] + [192] * 2 + [384] * 11 + [768] * 2
    stride_q = {1: [1, 2, 2], 3: [1, 2, 2], 14: [1, 2, 2]}
    stride_kv = [[1, 8, 8]] + [[1, 4, 4]] * 2 + [[1, 2, 2]] * 11 + [[1, 1, 1]] * 2
    setting = [
        MSBlockConfig(
            num_heads=heads[i],
            input_channels=dims_in[i],
            output_channels=dims_out[i],
            kernel_q=[3, 3, 3],
            kernel_kv=[3, 3, 3],
            stride_q=stride_q.get(i, [1, 1, 1]),
            stride_kv=stride_kv[i],
        )
        for i in range(16)
    ]
    return TvMViT(
        spatial_size=(size, size),
        temporal_size=frames,
        block_setting=setting,
        residual_pool=True,
        residual_with_cls_embed=False,
        rel_pos_embed=True,
        proj_after_attn=True,
        stochastic_depth_prob=0.2,
        num_classes=20,
    )


def test_generic_torchvision_build_is_mvit_v2_s() -> None:
    # The hand-written table above is torchvision's mvit_v2_s: same names and shapes.
    with torch.device("meta"):
        a = {k: v.shape for k, v in tv_mvit_v2_s(weights=None, num_classes=20).state_dict().items()}
        b = {k: v.shape for k, v in tv_mvit_v2_s_generic(16, 224).state_dict().items()}
    assert a == b


def test_same_parameter_count_as_torchvision() -> None:
    with torch.device("meta"):
        tv = tv_mvit_v2_s(weights=None, num_classes=20)
    assert n_params(tv) == n_params(build_meta("mvitv2_s")) == 34_245_524


def _check_same_logits(tv: nn.Module, frames: int, size: int) -> None:
    with torch.device("meta"):  # every tensor comes from torchvision: skip our init
        ours = build_model("mvitv2_s", "paper", num_classes=20, num_frames=frames, crop_size=size)
    result = ours.load_state_dict(torchvision_to_ours(tv.state_dict()), strict=True, assign=True)
    tv, ours = tv.eval(), ours.eval()
    assert not result.missing_keys and not result.unexpected_keys
    torch.manual_seed(1)
    video = torch.randn(2, 3, frames, size, size)
    with torch.no_grad():
        want = tv(video.clone())
        got = ours({"rgb": video})
    assert want.abs().max() > 1e-3  # the comparison is not between two near-zero vectors
    assert (want[0] - want[1]).abs().max() > 1e-4  # and the logits depend on the input
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_same_logits_as_torchvision_small_clip() -> None:
    # Paper-width MViTv2-S on a 4 x 64 x 64 clip (grid 2 x 16 x 16): every block, every pooling
    # and rel-pos path, in a few seconds.
    torch.manual_seed(0)
    _check_same_logits(tv_mvit_v2_s_generic(4, 64), 4, 64)


@pytest.mark.slow
def test_same_logits_as_torchvision_paper_clip() -> None:
    # torchvision's own mvit_v2_s builder at 16 x 224 x 224 (about a minute on 2 cores).
    torch.manual_seed(0)
    _check_same_logits(tv_mvit_v2_s(weights=None, num_classes=20), 16, 224)


# --------------------------------------------------------------------------------------------
# Prefix tokens
# --------------------------------------------------------------------------------------------


def _smoke(p: int, **kw: object) -> MViT:
    torch.manual_seed(0)
    return build_model("mvitv2_s", "smoke", num_prefix_tokens=p, **kw).eval()


@pytest.mark.parametrize("p", [1, 3, 20])
def test_prefix_count_survives_every_block(p: int) -> None:
    m = _smoke(p)
    video = torch.randn(2, 3, 4, 32, 32)
    x, thw = m.embed(video)
    assert x.shape == (2, p + math.prod(thw), m.cfg.embed_dim)
    for spec, block in zip(m.cfg.blocks, m.blocks, strict=True):
        x, thw = block(x, thw)
        # Only the grid is pooled: P prefix tokens + the pooled grid of this block.
        assert thw == spec.q_thw
        assert x.shape == (2, p + math.prod(spec.q_thw), spec.dim_out)
    assert m.forward_features({"rgb": video}).shape == (2, p, m.cfg.out_dim)
    assert m({"rgb": video}).shape == (2, 20)


def test_prefix_tokens_are_not_pooled() -> None:
    # A strided block: the prefix outputs must not depend on how the grid is pooled, and every
    # prefix token keeps its own output (none is merged into the grid or with another one).
    m = _smoke(4)
    block = m.blocks[m.reduction_blocks[0]]
    x, thw = m.embed(torch.randn(1, 3, 4, 32, 32))
    x, thw = m.blocks[0](x, thw)
    y, _ = block(x, thw)
    x2 = x.clone()
    x2[:, 2] += torch.randn_like(x2[:, 2])  # change one prefix token
    y2, _ = block(x2, thw)
    changed = (y2 - y).abs().amax(dim=-1)[0]
    assert changed[2] > 1e-3
    # The skip path of prefix token 2 is the token itself (no pooling with its neighbours), so
    # the change of prefix 2 is larger than the change of the other prefix tokens.
    assert changed[2] > changed[[0, 1, 3]].max()


def test_rel_pos_does_not_touch_prefix_tokens() -> None:
    # The attention logits of prefix rows and prefix columns must be identical whatever the
    # rel-pos tables hold; the grid x grid logits must change with them (so the check can fail).
    p = 3
    m = _smoke(p)
    attn_mod = m.blocks[0].attn
    x, thw = m.embed(torch.randn(2, 3, 4, 32, 32))
    x = m.blocks[0].norm1(x)
    logits: list[torch.Tensor] = []
    orig_softmax = torch.Tensor.softmax

    def grab(t: torch.Tensor, dim: int) -> torch.Tensor:
        logits.append(t.detach().clone())  # the input of the attention softmax
        return orig_softmax(t, dim)

    torch.Tensor.softmax = grab  # type: ignore[method-assign]
    try:
        with torch.no_grad():
            attn_mod(x, thw)
            for t in (attn_mod.rel_pos_h, attn_mod.rel_pos_w, attn_mod.rel_pos_t):
                t.normal_(std=1.0)
            attn_mod(x, thw)
    finally:
        torch.Tensor.softmax = orig_softmax  # type: ignore[method-assign]
    a, b = logits  # (B, heads, P + Nq, P + Nk) each
    assert a.shape[2] == p + math.prod(m.cfg.blocks[0].q_thw)
    torch.testing.assert_close(a[:, :, :p], b[:, :, :p], rtol=0, atol=0)  # prefix rows
    torch.testing.assert_close(a[:, :, :, :p], b[:, :, :, :p], rtol=0, atol=0)  # prefix cols
    assert (a[:, :, p:, p:] - b[:, :, p:, p:]).abs().max() > 1e-2  # grid x grid does change


def test_rel_pos_bias_matches_a_loop() -> None:
    torch.manual_seed(0)
    q_thw, k_thw, c = (2, 4, 4), (2, 2, 2), 5
    q = torch.randn(1, 2, math.prod(q_thw), c)
    rt, rh, rw = (torch.randn(2 * max(a, b) - 1, c) for a, b in zip(q_thw, k_thw, strict=True))
    bias = rel_pos_bias(q, q_thw, k_thw, rt, rh, rw)

    # Brute force with SlowFast's distance rule: d = i * max(k/q, 1) - j * max(q/k, 1)
    # + (k - 1) * max(q/k, 1).
    def idx(i: int, j: int, nq: int, nk: int) -> int:
        return int(i * max(nk / nq, 1) - j * max(nq / nk, 1) + (nk - 1) * max(nq / nk, 1))

    qs = [(t, h, w) for t in range(2) for h in range(4) for w in range(4)]
    ks = [(t, h, w) for t in range(2) for h in range(2) for w in range(2)]
    for a, (qt, qh, qw) in enumerate(qs):
        for b, (kt, kh, kw) in enumerate(ks):
            r = rt[idx(qt, kt, 2, 2)] + rh[idx(qh, kh, 4, 2)] + rw[idx(qw, kw, 4, 2)]
            torch.testing.assert_close(bias[0, :, a, b], q[0, :, a] @ r)


def test_external_prefix() -> None:
    m = _smoke(5, learn_prefix_tokens=False)
    assert m.prefix_tokens is None
    video = torch.randn(2, 3, 4, 32, 32)
    with pytest.raises(ValueError, match="pass `prefix`"):
        m.embed(video)
    prefix = torch.randn(1, 5, m.cfg.embed_dim)
    x, _ = m.embed(video, prefix)
    torch.testing.assert_close(x[:, :5], prefix.expand(2, -1, -1))
    per_sample = torch.randn(2, 5, m.cfg.embed_dim)  # one prefix per clip is accepted too
    torch.testing.assert_close(m.embed(video, per_sample)[0][:, :5], per_sample)
    with pytest.raises(ValueError, match="num_prefix_tokens=5"):
        m.embed(video, torch.randn(2, 4, m.cfg.embed_dim))


def test_head_is_mean_of_prefix_tokens() -> None:
    m = _smoke(4)
    feats = torch.randn(3, 4, m.cfg.out_dim)
    want = m.head(feats.mean(dim=1))
    torch.testing.assert_close(m.forward_head(feats), want)


def test_wrong_clip_size_is_rejected() -> None:
    m = _smoke(1)
    with pytest.raises(ValueError, match="num_frames=8"):
        m({"rgb": torch.randn(1, 3, 8, 32, 32)})
    with pytest.raises(KeyError, match="rgb"):
        m({"flow": torch.randn(1, 2, 4, 32, 32)})


@pytest.mark.parametrize(("modality", "channels"), [("rgb_diff", 3), ("flow", 2)])
def test_modality_option(modality: str, channels: int) -> None:
    m = build_model("mvitv2_s", "smoke", modality=modality)
    assert m.modalities == (modality,)
    assert m.patch_embed.in_channels == channels
    assert m({modality: torch.randn(1, channels, 4, 32, 32)}).shape == (1, 20)


def test_backward_reaches_every_parameter() -> None:
    m = _smoke(2)
    m.train()
    m({"rgb": torch.randn(2, 3, 4, 32, 32)}).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    zero = {n for n, p in m.named_parameters() if not p.grad.any()}
    # In the last block the pooled grid queries (their conv and their rel-pos terms) only shape
    # the grid outputs, which the prefix-token head never reads: zero gradient there, as in the
    # released code and torchvision. Every other parameter gets a gradient.
    last = f"blocks.{len(m.blocks) - 1}.attn."
    assert zero == {last + s for s in ("pool_q.conv.weight", "rel_pos_h", "rel_pos_w", "rel_pos_t")}


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="num_prefix_tokens"):
        MViTConfig(num_prefix_tokens=0)
    with pytest.raises(ValueError, match="stage_depths"):
        MViTConfig(stage_depths=(1, 0, 2))
