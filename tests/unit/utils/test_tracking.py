"""The tracker of a job: a job resumed in its run folder continues the folder's wandb run by its id,
any other job starts its own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import reade.utils.tracking
from reade.utils.tracking import make_logger, wandb_run_id
from tests.conftest import compose_train


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ([], None),
        (["latest-run", "debug.log"], None),
        (["offline-run-20261206_101010-ab12cd34", "latest-run"], "ab12cd34"),
        (["offline-run-20261207_090000-later000", "run-20261206_101010-first000"], "first000"),  # the launch's
    ],
)
def test_the_run_folders_wandb_run_is_the_first_one(tmp_path, folders, expected):
    for name in folders:
        (tmp_path / "wandb" / name).mkdir(parents=True)
    assert wandb_run_id(tmp_path) == expected


@pytest.mark.parametrize(("ckpt_path", "expected"), [(None, None), ("last", "ab12cd34")])
def test_only_a_resumed_job_continues_the_folders_wandb_run(tmp_path, monkeypatch, ckpt_path, expected):
    (tmp_path / "wandb" / "offline-run-20261206_101010-ab12cd34").mkdir(parents=True)
    built = {}
    monkeypatch.setattr(reade.utils.tracking, "build",
                        lambda node, **kwargs: built.update(kwargs) or SimpleNamespace(log_hyperparams=lambda params: None))
    make_logger(compose_train(["logger=wandb", f"ckpt_path={ckpt_path}" if ckpt_path else "ckpt_path=null",
                               f"paths.root_dir={tmp_path}"], tmp_path))
    assert built.get("id") == expected
