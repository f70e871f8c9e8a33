"""The model registry: every model of the study is built by name.

The registry is the only module-level mutable state of the library (STYLE.md section 4). It is
filled at import time by the ``@register_model`` builders of each family file (or, for a family
whose variants are a table of configs, by :func:`register_variants`), and a duplicate name raises.

Every registered builder has one signature::

    def name(scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant) -> nn.Module

``scale`` is a value (:mod:`musclemap_lib.models.scales`); ``variant`` holds the family's own
options (e.g. ``modality="flow"`` or config field overrides).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from torch import nn

from musclemap_lib.models.scales import PAPER, ScaleSpec, get_scale
from musclemap_lib.muscles import NUM_MUSCLES

Builder = Callable[..., nn.Module]
V = TypeVar("V")

_MODELS: dict[str, Builder] = {}


def register_model(fn: Builder) -> Builder:
    """Register a builder under its function name; raise if the name is taken."""
    if fn.__name__ in _MODELS:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _MODELS[fn.__name__] = fn
    return fn


def register_variants(table: Mapping[str, Any], build: Callable[..., nn.Module], doc: str) -> None:
    """Register one builder per entry of a variant table (variants as data, as timm does).

    The builder registered as ``name`` has the registry's signature and returns
    ``build(table[name], scale, num_classes, **variant)``.

    Args:
        table: variant name -> config.
        build: ``build(cfg, scale, num_classes, **variant) -> nn.Module``.
        doc: one sentence on what the table's variants are (the builders' docstring).

    Raises:
        ValueError: when a name of the table is registered already.
    """
    for name, cfg in table.items():
        register_model(_variant_builder(name, cfg, build, doc))


def _variant_builder(name: str, cfg: Any, build: Callable[..., nn.Module], doc: str) -> Builder:
    """The registered builder of one table entry."""

    def builder(
        scale: ScaleSpec = PAPER, num_classes: int = NUM_MUSCLES, **variant: Any
    ) -> nn.Module:
        return build(cfg, scale, num_classes, **variant)

    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = build.__module__
    builder.__doc__ = f"{doc} Variant ``{name}``: its config is the table entry of that name."
    return builder


def list_models() -> list[str]:
    """Return the registered model names, sorted."""
    return sorted(_MODELS)


def build_model(
    name: str,
    scale: ScaleSpec | str = PAPER,
    num_classes: int = NUM_MUSCLES,
    **variant: Any,
) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        scale: a :class:`~musclemap_lib.models.scales.ScaleSpec` (``PAPER``, the paper's
            configuration, ``CPU`` or ``SMOKE``), or the name of one in
            :data:`~musclemap_lib.models.scales.SCALES` (for the CLI and profiles).
        num_classes: number of muscle groups (20 in MuscleMap).
        **variant: builder-specific options (e.g. ``modality="flow"`` for a video model).

    Raises:
        ValueError: for an unknown name or scale.
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(list_models())}")
    return _MODELS[name](scale=get_scale(scale), num_classes=num_classes, **variant)


def lookup(table: Mapping[str, V], name: str, what: str) -> V:
    """``table[name]``, or a ValueError ``unknown <what> <name>`` that lists the table's names."""
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}; choose from {sorted(table)}")
    return table[name]


def check_options(
    options: Iterable[str], valid: Collection[str], what: str, error: type[Exception] = ValueError
) -> None:
    """Raise ``error`` naming the options outside ``valid`` (``unknown <what> option(s) ...``)."""
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise error(f"unknown {what} option(s) {unknown}; valid: {sorted(valid)}")
