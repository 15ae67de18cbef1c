"""A notebook's run: the folder the variable names, else the newest finished run of the stage in
logs/ or the stage cache; a clear error when there is none."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from reade.errors import ConfigError
from reade.results.runs import finished_stage_run

VARIABLE = "READE_TEST_RUN"


def finished(folder: Path, stage: str, *, hydra: bool = True, done: bool = False, mtime: float = 0.0,
             checkpoint: bool = True) -> Path:
    if hydra:
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "hydra.yaml").write_text(
            yaml.safe_dump({"hydra": {"job": {"name": "train"}, "runtime": {"choices": {"stage": stage}}}}))
        (folder / ".hydra" / "config.yaml").write_text("{}\n")
    if checkpoint:
        (folder / "checkpoint").mkdir(parents=True)
        (folder / "checkpoint" / "config.json").write_text("{}")
    if done:
        (folder / "DONE").write_text("done")
    (folder / "metrics.json").write_text(json.dumps({}))
    os.utime(folder / "metrics.json", (mtime, mtime))
    return folder


@pytest.fixture(autouse=True)
def no_variable(monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)


def test_the_newest_of_logs_and_the_stage_cache(tmp_path):
    old = finished(tmp_path / "logs" / "train" / "runs" / "a", "camera_pretrain", mtime=100)
    cached = finished(tmp_path / ".cache" / "stages" / "camera_pretrain-abc", "camera_pretrain", hydra=False,
                      done=True, mtime=200)
    finished(tmp_path / "logs" / "train" / "runs" / "b", "sft", mtime=300)  # another stage
    finished(tmp_path / "logs" / "train" / "runs" / "c", "camera_pretrain", mtime=400, checkpoint=False)  # no export
    finished(tmp_path / ".cache" / "stages" / "camera_pretrain-def", "camera_pretrain", hydra=False, mtime=500)  # no DONE
    assert finished_stage_run(tmp_path, "camera_pretrain", VARIABLE) == cached
    os.utime(old / "metrics.json", (600, 600))
    assert finished_stage_run(tmp_path, "camera_pretrain", VARIABLE) == old


def test_the_variable_wins_and_must_name_a_finished_run(tmp_path, monkeypatch):
    finished(tmp_path / "logs" / "a", "camera_pretrain", mtime=100)
    named = finished(tmp_path / "elsewhere", "camera_pretrain", hydra=False)
    monkeypatch.setenv(VARIABLE, str(named))
    assert finished_stage_run(tmp_path, "camera_pretrain", VARIABLE) == named
    monkeypatch.setenv(VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=f"{VARIABLE}=.*missing is not a finished run folder"):
        finished_stage_run(tmp_path, "camera_pretrain", VARIABLE)


def test_no_run_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match=r"no finished camera_pretrain run .*`python -m reade.train stage=camera_pretrain`"):
        finished_stage_run(tmp_path, "camera_pretrain", VARIABLE)
