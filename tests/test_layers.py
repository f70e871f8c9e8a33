"""The import graph of musclemap_lib: no circle, and no arrow from a lower layer to a higher one.

STYLE.md section 3: ``muscles``/``skeleton`` (and the other base modules) -> ``synth``, ``data``,
``models`` -> ``training`` -> ``evaluation`` -> ``study`` -> ``figures``; ``cli.py`` on top.
Every import counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "musclemap_lib"
# Layer of each subpackage / top-level module (higher may import lower, never the reverse).
LAYERS: dict[str, int] = {
    "__init__": 0,
    "muscles": 0,
    "skeleton": 0,
    "splits": 0,
    "modalities": 0,
    "paths": 0,
    "config": 0,
    "synth": 1,
    "data": 1,
    "models": 1,
    "pretrain": 2,
    "training": 2,
    "evaluation": 3,
    "study": 4,
    "figures": 5,
    "cli": 6,
}
# Same-layer packages that must not import each other (models never imports data).
FORBIDDEN: set[tuple[str, str]] = {("models", "data"), ("models", "synth"), ("data", "models")}


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The library modules ``path`` imports (``from pkg import sub`` counts ``pkg.sub`` only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("musclemap_lib")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("musclemap_lib"):
                subs = {f"{node.module}.{a.name}" for a in node.names}
                out |= subs & modules
                if subs - modules:  # names defined in (or re-exported by) the module itself
                    out.add(node.module)
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PKG.rglob("*.py")}
    mods = set(files)
    return {m: {i for i in _imports(p, mods) if i in mods and i != m} for m, p in files.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                pytest.fail(f"import circle: {' -> '.join([*stack[stack.index(d) :], d])}")
            if d not in state:
                visit(d, [*stack, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_no_import_reaches_upwards():
    bad = []
    for m, deps in _graph().items():
        a = _part(m)
        for d in deps:
            b = _part(d)
            if a == b or b == "__init__":
                continue
            if LAYERS[b] > LAYERS[a] or (a, b) in FORBIDDEN:
                bad.append(f"{m} imports {d}")
    assert not bad, "imports against the layer order (STYLE.md section 3):\n" + "\n".join(bad)


def test_every_part_has_a_layer():
    assert {_part(m) for m in _graph()} <= set(LAYERS)
