from pathlib import Path

import pytest

from musclemap_lib import paths


def test_data_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MUSCLEMAP_DATA_ROOT", raising=False)
    assert paths.data_root() == paths.repo_root() / "data"
    monkeypatch.setenv("MUSCLEMAP_DATA_ROOT", str(tmp_path))
    assert paths.data_root() == tmp_path.resolve()
    assert paths.synth_dir("cpu") == tmp_path.resolve() / "synth-cpu"


def test_unknown_profile() -> None:
    from musclemap_lib.study.pipeline import data_dir

    with pytest.raises(ValueError, match="unknown profile 'gpu'"):
        data_dir("gpu")


def test_repo_root_holds_the_package() -> None:
    assert (paths.repo_root() / "musclemap_lib" / "__init__.py").is_file()
