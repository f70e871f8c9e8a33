"""The model registry: names, errors, and that every Table-2 model is registered."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

import musclemap_lib.models as models
from musclemap_lib.models.registry import (
    _MODELS,
    build_model,
    list_models,
    register_model,
    register_variants,
)
from musclemap_lib.models.scales import PAPER, SCALES, SMOKE
from musclemap_lib.muscles import NUM_MUSCLES

# The 13 models of the paper's Table 2 (STYLE.md section 4 names). TransM3E has its own issue.
TABLE2_MODELS = (
    "random",
    "all_ones",
    "stgcn",
    "ctrgcn",
    "hdgcn",
    "c2d_r50",
    "i3d_r50",
    "slow_r50",
    "slowfast_r50",
    "mvitv2_s",
    "mvitv2_b",
    "videoswin_s",
    "videoswin_b",
)


def test_audit_table_covers_every_table2_model_and_transm3e() -> None:
    from musclemap_lib.models.audit import TABLE2

    assert set(TABLE2) == {*TABLE2_MODELS, "transm3e"}


def test_names_are_unique_sorted_snake_case() -> None:
    names = list_models()
    assert len(names) == len(set(names))
    assert names == sorted(names)
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), f"{name!r} is not lower snake case"


def test_registering_a_taken_name_raises() -> None:
    taken = list_models()[0]

    def builder(**kw: object) -> None:  # pragma: no cover - never called
        raise AssertionError

    builder.__name__ = taken
    before = list_models()
    with pytest.raises(ValueError, match="registered twice"):
        register_model(builder)
    assert list_models() == before


def test_registering_a_taken_variant_name_raises() -> None:
    taken = list_models()[-1]
    before = list_models()
    with pytest.raises(ValueError, match="registered twice"):
        register_variants({taken: None}, lambda cfg, scale, n: None, "never built")
    assert list_models() == before


@pytest.mark.parametrize("name", list_models())
def test_every_builder_has_the_registry_signature(name: str) -> None:
    params = list(inspect.signature(_MODELS[name]).parameters.values())
    assert [p.name for p in params[:2]] == ["scale", "num_classes"]
    assert params[0].default is PAPER and params[1].default == NUM_MUSCLES
    assert "seed" not in {p.name for p in params}


def test_a_scale_name_builds_what_the_value_builds() -> None:
    for name in ("stgcn", "mvitv2_s_mct"):
        want = [(k, t.shape) for k, t in build_model(name, SMOKE).state_dict().items()]
        got = [(k, t.shape) for k, t in build_model(name, "smoke").state_dict().items()]
        assert got == want
    with pytest.raises(ValueError, match="pass a ScaleSpec or one of"):
        build_model("stgcn", dataclasses.asdict(SMOKE))  # type: ignore[arg-type]


def test_unknown_name_error_lists_every_known_name() -> None:
    with pytest.raises(ValueError) as err:
        build_model("resnet9000", scale="smoke")
    msg = str(err.value)
    assert "resnet9000" in msg
    for name in list_models():
        assert name in msg


def test_unknown_scale_error_lists_the_scales() -> None:
    name = list_models()[0]
    with pytest.raises(ValueError) as err:
        build_model(name, scale="huge")  # type: ignore[arg-type]
    msg = str(err.value)
    assert "huge" in msg
    for scale in SCALES:
        assert scale in msg
    for bad in (None, 0.5):  # neither a name nor a ScaleSpec: a ValueError too, not a TypeError
        with pytest.raises(ValueError, match="ScaleSpec"):
            build_model(name, scale=bad)  # type: ignore[arg-type]


def test_package_exports_the_registry_and_audit() -> None:
    assert models.build_model is build_model
    assert models.list_models is list_models
    assert callable(models.audit)


@pytest.mark.parametrize("name", TABLE2_MODELS)
def test_every_table2_model_is_registered(name: str) -> None:
    # Fails until the family that provides `name` is committed (issue 4): that is intended.
    assert name in list_models(), f"Table-2 model {name!r} is not registered"
