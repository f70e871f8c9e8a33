"""environment.yml mirrors pyproject.toml, so conda users get the same versions."""

import re
import tomllib

from musclemap_lib.paths import repo_root


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        m = re.match(r"^\s*-?\s*\"?([A-Za-z0-9_.\-]+)==([^\"\s,]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_mirrors_pyproject() -> None:
    root = repo_root()
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    conda = _pins((root / "environment.yml").read_text().splitlines())
    assert wanted and conda == wanted


def test_ci_runs_the_readme_test_command() -> None:
    root = repo_root()
    assert "make test" in (root / "README.md").read_text()
    assert re.search(r"^make test$", (root / ".ci" / "run").read_text(), re.M)
