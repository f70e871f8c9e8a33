"""Token fusions (MCTF, Table 5) and late fusion (Table 6)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from musclemap_lib.models.fusion import (
    MCTF,
    TOKEN_FUSIONS,
    LateFusion,
    MCTFConfig,
    build_token_fusion,
    combine_scores,
)

B, C, D = 2, 5, 16


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: intra-op threads only add contention on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tokens(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, C, D, generator=g), torch.randn(B, C, D, generator=g)


@pytest.mark.parametrize("kind", [k for k in TOKEN_FUSIONS if k != "cls"])
def test_token_fusion_shape_and_backward(kind: str) -> None:
    torch.manual_seed(0)
    fusion = build_token_fusion(kind, D, C)
    m, r = (t.requires_grad_() for t in _tokens())
    out = fusion(m, r)
    assert out.shape == (B, C, D)
    out.sum().backward()
    assert m.grad is not None and m.grad.abs().sum() > 0
    assert r.grad is not None and r.grad.abs().sum() > 0


def test_cls_fusion_ignores_distill_tokens() -> None:
    fusion = build_token_fusion("cls", D, C)
    m, r = _tokens()
    assert torch.equal(fusion(m, r), m)
    assert torch.equal(fusion(m, None), m)


def test_unknown_fusion_raises() -> None:
    with pytest.raises(ValueError, match="unknown token fusion"):
        build_token_fusion("concat", D, C)  # type: ignore[arg-type]


@pytest.mark.parametrize("term", MCTF.TERMS)
def test_each_of_the_six_mctf_terms_contributes(term: str) -> None:
    torch.manual_seed(0)
    fusion = MCTF(D, C, MCTFConfig(drop_path=0.0)).eval()
    m, r = _tokens()
    before = fusion(m, r)
    with torch.no_grad():
        fusion.proj[term].weight.zero_()
        fusion.proj[term].bias.zero_()
    after = fusion(m, r)
    assert not torch.allclose(before, after, atol=1e-6), f"term {term} does not reach the output"


def test_mctf_mixes_both_token_sets_and_keeps_the_average_residual() -> None:
    torch.manual_seed(0)
    fusion = MCTF(D, C, MCTFConfig(drop_path=0.0)).eval()
    m, r = _tokens()
    m2 = m.clone()
    m2[:, 0] += 1.0  # perturb one classification token: every output token sees it via attention
    delta = (fusion(m2, r) - fusion(m, r)).abs().sum(dim=-1)  # (B, C)
    assert (delta > 0).all()
    # Eq. 11: with the MLP silenced the output is exactly cls_a = (cls_m + cls_r) / 2.
    with torch.no_grad():
        fusion.mlp[-1].weight.zero_()
        fusion.mlp[-1].bias.zero_()
    torch.testing.assert_close(fusion(m, r), (m + r) / 2)


def test_mctf_parameter_count_matches_the_released_module() -> None:
    # official reference: MCTF at dim 768 with 20 tokens has 10,126,848 parameters
    # (baselines.md section 7, counted from the released CLSFusion/MCTF definitions).
    with torch.device("meta"):
        fusion = MCTF(768, 20)
    assert sum(p.numel() for p in fusion.parameters()) == 10_126_848


def test_released_head_merge_is_the_documented_permutation() -> None:
    torch.manual_seed(0)
    cfg = MCTFConfig(drop_path=0.0, head_merge="released")
    released = MCTF(D, C, cfg).eval()
    standard = MCTF(D, C, MCTFConfig(drop_path=0.0)).eval()
    standard.load_state_dict(released.state_dict())
    m, r = _tokens()
    assert not torch.allclose(released(m, r), standard(m, r))
    # Pi(Y)[n, c] = Y[(n D + c) mod N, (n D + c) div N]
    y = torch.arange(C * D, dtype=torch.float32).reshape(1, 1, C, D)
    pi = released.heads.join(y)[0]
    for n in range(C):
        for c in range(D):
            flat = n * D + c
            assert pi[n, c] == y[0, 0, flat % C, flat // C]


def test_combine_scores() -> None:
    a = torch.tensor([[-30.0, 0.0, 2.0, 25.0]])
    b = torch.tensor([[-1.0, 3.0, -2.0, 30.0]])
    pa, pb = torch.sigmoid(a.double()), torch.sigmoid(b.double())
    mean = torch.sigmoid(combine_scores(a.double(), b.double(), "mean_prob"))
    torch.testing.assert_close(mean, (pa + pb) / 2)
    prod = torch.sigmoid(combine_scores(a.double(), b.double(), "prod_prob"))
    torch.testing.assert_close(prod, pa * pb)
    assert torch.isfinite(combine_scores(a, b, "prod_prob")).all()
    torch.testing.assert_close(combine_scores(a, b, "mean_logit"), (a + b) / 2)


class _Stub(nn.Module):
    """A tiny single-branch model with the FeatureModel interface."""

    def __init__(self, key: str, feature_dim: int) -> None:
        super().__init__()
        self.modalities = (key,)
        self.key = key
        self.feature_dim = feature_dim
        self.body = nn.Linear(3, feature_dim)
        self.fc = nn.Linear(feature_dim, 4)

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.body(batch[self.key]).unsqueeze(1)  # (B, 1, D) token set

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.fc(feats.mean(dim=1))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(batch))


def _late(kind: str) -> tuple[LateFusion, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = LateFusion(_Stub("rgb", 6), _Stub("skeleton", 5), kind, num_classes=4)  # type: ignore[arg-type]
    batch = {"rgb": torch.randn(3, 3), "skeleton": torch.randn(3, 3)}
    return model, batch


def test_late_fusion_sum_is_the_mean_of_the_two_models_scores() -> None:
    model, batch = _late("sum")
    out = model(batch)
    expected = (torch.sigmoid(model.main(batch)) + torch.sigmoid(model.aux(batch))) / 2
    torch.testing.assert_close(torch.sigmoid(out.logits), expected)
    torch.testing.assert_close(out.main_logits, model.main(batch))
    assert out.kd.terms == () and out.kd.total.item() == 0.0
    assert model.modalities == ("rgb", "skeleton")


def test_late_fusion_mul_is_the_product_of_the_scores() -> None:
    model, batch = _late("mul")
    out = model(batch)
    expected = torch.sigmoid(model.main(batch)) * torch.sigmoid(model.aux(batch))
    torch.testing.assert_close(torch.sigmoid(out.logits), expected)


def test_late_fusion_concat_trains_a_head_on_the_joined_features() -> None:
    model, batch = _late("concat")
    assert model.head is not None and model.head[-1].in_features == 6 + 5
    out = model(batch)
    out.logits.sum().backward()
    assert model.head[-1].weight.grad is not None
    assert model.main.body.weight.grad is not None and model.aux.body.weight.grad is not None
