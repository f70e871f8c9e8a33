"""Every notebook in notebooks/ is thin and papermill-ready (STYLE.md section 8).

One cell tagged ``parameters`` (the first code cell, literals only), committed without outputs,
kernelspec ``python3``, and none of: absolute paths, ``../``-style data paths, ``os.chdir``,
class definitions, ``!pip``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from musclemap_lib import paths

NOTEBOOKS = sorted((paths.repo_root() / "notebooks").glob("*.ipynb"))
# Absolute paths in strings: "/home/...", "/work/...", "C:\..." (a lone "/" in a format is fine).
ABSOLUTE = re.compile(r"""["'](/(home|work|tmp|root|Users|data|mnt)\b|[A-Za-z]:\\)""")


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_is_a_training_notebook():
    assert (paths.repo_root() / "notebooks" / "10_train_eval.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_parameterised(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec must be python3"
    code = _code_cells(nb)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged parameters (want 1)"
    assert code and code[0] is tagged[0], "the parameters cell must be the first code cell"
    # The parameters cell holds literals only: annotated or plain assignments of constants.
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), ast.dump(node)
        try:
            ast.literal_eval(node.value)  # constants, -1, tuples of constants
        except ValueError:
            pytest.fail(f"{path.name}: not a literal in the parameters cell: {ast.unparse(node)}")
    for i, cell in enumerate(code):
        assert cell.get("outputs", []) == [], f"{path.name} cell {i} has stored outputs"
        assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"
        src = cell.source
        assert "os.chdir" not in src, f"{path.name} cell {i}: os.chdir"
        assert "!pip" not in src and "%pip" not in src, f"{path.name} cell {i}: pip"
        assert "../" not in src, f"{path.name} cell {i}: a relative ../ path"
        assert not ABSOLUTE.search(src), f"{path.name} cell {i}: an absolute path"
        tree = ast.parse("\n".join(ln for ln in src.splitlines() if not ln.startswith(("%", "!"))))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.ClassDef), f"{path.name} cell {i}: class {node.name}"
            if isinstance(node, ast.FunctionDef):
                n = node.end_lineno - node.lineno  # body lines
                assert n <= 6, f"{path.name} cell {i}: function {node.name} has {n} lines"


def test_training_notebook_declares_the_documented_parameters():
    import papermill as pm

    params = pm.inspect_notebook(str(paths.repo_root() / "notebooks" / "10_train_eval.ipynb"))
    assert {k: v["inferred_type_name"] for k, v in params.items()} == {
        "experiment": "str",
        "profile": "str",
        "seed": "int",
        "data": "str",
        "threads": "int",
    }
    assert params["profile"]["default"] == '"cpu"'
