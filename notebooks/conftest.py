"""Notebooks read finished runs and never train (nbmake executes them as tests). One that reads a
run gets a small one here, trained before its kernel starts and named by the variable it reads."""

from __future__ import annotations

import os

import pytest

from tests.conftest import SMALL_CAMERA_PRETRAIN, compose_train

CAMERA_RUN = "READE_CAMERA_RUN"  # what notebooks/02_camera.py reads (reade.results.runs.finished_stage_run)
_SET_HERE = pytest.StashKey[bool]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.name != "02_camera.ipynb" or CAMERA_RUN in os.environ:
        return
    from reade.train import train

    root = item.config._tmp_path_factory.mktemp("camera-run")
    train(compose_train([*SMALL_CAMERA_PRETRAIN, f"paths.root_dir={root}"], root / "out"))
    os.environ[CAMERA_RUN] = str(root / "out")
    item.stash[_SET_HERE] = True


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if item.stash.get(_SET_HERE, False):
        del os.environ[CAMERA_RUN]
