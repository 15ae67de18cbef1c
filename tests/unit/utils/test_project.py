"""The project a notebook works in: found from its working directory or from READE_ROOT, never from
where the package is installed."""

from __future__ import annotations

import pytest

from reade.errors import ConfigError
from reade.utils.project import project_root


@pytest.fixture
def clone(tmp_path, monkeypatch):
    monkeypatch.delenv("READE_ROOT", raising=False)
    (tmp_path / "clone" / "conf").mkdir(parents=True)
    (tmp_path / "clone" / "conf" / "train.yaml").write_text("defaults: []\n")
    (tmp_path / "clone" / "notebooks").mkdir()
    return tmp_path / "clone"


def test_the_clone_is_found_from_the_working_directory_or_above(clone, monkeypatch):
    assert project_root(clone / "notebooks") == clone
    monkeypatch.chdir(clone / "notebooks")  # where a notebook's kernel starts
    assert project_root() == clone


def test_reade_root_names_the_clone_wherever_the_kernel_starts(clone, tmp_path, monkeypatch):
    monkeypatch.setenv("READE_ROOT", str(clone))
    assert project_root(tmp_path) == clone


@pytest.mark.parametrize("root", [None, "scratch"])
def test_no_clone_is_one_clear_error(clone, tmp_path, monkeypatch, root):
    if root:
        monkeypatch.setenv("READE_ROOT", str(tmp_path / root))
    with pytest.raises(ConfigError, match="clone of the repository"):
        project_root(tmp_path)
