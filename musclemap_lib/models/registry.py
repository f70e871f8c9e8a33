"""The model registry: every model of the study is built by name.

The registry is the only module-level mutable state of the library (STYLE.md section 4). It is
filled at import time by the ``@register_model`` builders of each family file, and a duplicate
name raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from torch import nn

Scale = Literal["paper", "cpu", "smoke"]
SCALES: tuple[str, ...] = ("paper", "cpu", "smoke")

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a builder under its function name; raise if the name is taken."""
    if fn.__name__ in _MODELS:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _MODELS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Return the registered model names, sorted."""
    return sorted(_MODELS)


def build_model(
    name: str, scale: Scale = "paper", num_classes: int = 20, **overrides: Any
) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        scale: ``paper`` (the paper's configuration), ``cpu`` or ``smoke`` (reduced by the rules of
            :mod:`musclemap_lib.models.scales`).
        num_classes: number of muscle groups (20 in MuscleMap).
        **overrides: builder-specific options (e.g. ``modality="flow"`` for a video model).

    Raises:
        ValueError: for an unknown name or scale.
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(list_models())}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    return _MODELS[name](scale=scale, num_classes=num_classes, **overrides)
