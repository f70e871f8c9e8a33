"""Per-run overrides from the command line: ``--set train.epochs=40 --set data.test_views=2``.

A key names a field of the run's :class:`~musclemap_lib.config.TrainConfig` (``train.<field>``),
its :class:`~musclemap_lib.config.DataConfig` (``data.<field>``), a builder option of its model
(``model.<option>``, e.g. ``model.drop_path_rate=0``) or the run itself (``bootstrap_n``).
Values are parsed by the field's type (int, float, bool, a ``Literal`` choice, ``None`` where
allowed, comma-separated tuples) and then validated by the config itself; a model option's value
is read as a Python literal (a number, ``True``, ``None``, a quoted or bare string) and checked
by the model's builder, which names the valid options of that model. An unknown key or a bad
value is a :class:`ValueError` naming the valid keys or the expected type.

Importing this module does not import torch.
"""

from __future__ import annotations

import ast
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

from musclemap_lib.config import DataConfig, RunConfig, TrainConfig

_SECTIONS: dict[str, type] = {"train": TrainConfig, "data": DataConfig}
_TOP: dict[str, type] = {"bootstrap_n": int}
MODEL = "model"  # the section of a model's builder options (validated when the model is built)


def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def valid_keys() -> list[str]:
    """Every key ``--set`` accepts."""
    keys = [f"{s}.{k}" for s, cls in _SECTIONS.items() for k in _fields(cls)]
    return sorted(keys) + [f"{MODEL}.<builder option>"] + sorted(_TOP)


def _literal(text: str, key: str) -> Any:
    """A model option's value: a Python literal, else the text itself (a bare string)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    if not isinstance(value, (int, float, bool, str, type(None), tuple)):
        raise ValueError(f"--set {key}={text}: expected a number, bool, None, string or tuple")
    return value


def _parse(text: str, kind: Any, key: str) -> Any:
    """``text`` as a value of type ``kind`` (raises ValueError naming ``key``)."""
    origin, args = get_origin(kind), get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if text.strip().lower() == "none" and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _parse(text, inner, key)
    if origin is Literal:
        if text not in args:
            raise ValueError(f"--set {key}={text}: choose from {', '.join(map(str, args))}")
        return text
    if origin is tuple:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        inner = args[0] if args else str
        if args and args[-1] is not Ellipsis and len(parts) != len(args):
            raise ValueError(f"--set {key}={text}: needs {len(args)} comma-separated values")
        return tuple(_parse(p, inner, key) for p in parts)
    if kind is bool:
        low = text.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"--set {key}={text}: expected true or false")
        return low in ("true", "1", "yes")
    if kind in (int, float, str):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"--set {key}={text}: expected {kind.__name__}") from None
    raise ValueError(f"--set {key}: fields of type {kind} cannot be set from the command line")


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["train.epochs=40", ...]`` -> ``{"train.epochs": 40, ...}``, typed.

    Raises:
        ValueError: for an item without ``=``, an unknown key (the message lists the valid
            keys) or a value of the wrong type.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set {item!r}: write KEY=VALUE, e.g. --set train.epochs=40")
        section, dot, name = key.partition(".")
        if dot and section == MODEL and name.isidentifier():
            out[key] = _literal(text.strip(), key)
            continue
        if dot and section in _SECTIONS and name in _fields(_SECTIONS[section]):
            kind = _fields(_SECTIONS[section])[name]
        elif not dot and key in _TOP:
            kind = _TOP[key]
        else:
            raise ValueError(f"--set {key}: unknown key; valid keys: {', '.join(valid_keys())}")
        out[key] = _parse(text.strip(), kind, key)
    return out


def apply_overrides(run: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """``run`` with ``overrides`` applied (``train.*`` is ignored for a run without training).

    ``model.*`` options are added to (or replace) the run's ``model_args``; the builder checks them.

    Raises:
        ValueError: when the changed config is invalid (the config's own message).
    """
    if not overrides:
        return run
    changes: dict[str, dict[str, Any]] = {s: {} for s in (*_SECTIONS, MODEL)}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        section, dot, name = key.partition(".")
        if dot:
            changes[section][name] = value
        else:
            top[key] = value
    data = dataclasses.replace(run.data, **changes["data"])
    train = run.train
    if train is not None and changes["train"]:
        train = dataclasses.replace(train, **changes["train"])
    model_args = tuple(sorted({**dict(run.model_args), **changes[MODEL]}.items()))
    return dataclasses.replace(run, data=data, train=train, model_args=model_args, **top)
