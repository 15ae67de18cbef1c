"""Before a run starts: the plan `--cfg job` shows, where a stage trained alone starts, resolving
`ckpt_path` (`last` means this run folder's last.ckpt), and every row's token count checked before
any model loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

import reade.train
from reade.errors import ConfigError, DataError, ReadeError
from reade.train import _resume_path, train
from tests.conftest import ROOT, compose_train
from tests.unit.data.test_jsonl import edited_copy


def test_cfg_job_prints_the_config_then_the_plan(tmp_path):
    env = {**os.environ, "READE_ROOT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "reade.train", "stage=grpo", "--cfg", "job"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["stage"]["upstream"] == "sft"  # the plan is comments: still the YAML config
    plan = done.stdout.split("# plan: ")[1].splitlines()
    assert plan[0] == "3 stage(s), in order" and [line.split(" (")[0] for line in plan[1:]] == [
        "#   1. ground", "#   2. sft", "#   3. grpo"]
    assert not (tmp_path / ".cache").exists() and not (tmp_path / "logs").exists()  # nothing ran


def test_a_stage_trained_alone_never_starts_silently_from_the_backbone(tmp_path):
    cfg = compose_train(["stage=grpo", "judge=lexical", "logger=csv", "data.synthesize.n_train=8", "data.synthesize.n_val=2",
                         "data.synthesize.n_test=2", f"paths.root_dir={tmp_path}"], tmp_path / "out")
    with pytest.raises(ConfigError, match="stage grpo starts from a stage=sft run: train it through run_job"):
        train(cfg)


def test_vllm_rollouts_with_conditions_are_refused_before_any_work(tmp_path, monkeypatch):
    """vLLM samples from token ids alone: camera-encoder and tower embeddings cannot reach it. The
    default condition=all is refused before any data loads; condition=text gets past the check (to
    the next one, the stage trained alone)."""
    monkeypatch.setattr(reade.train, "build", lambda *args, **kwargs: pytest.fail("the stage was built"))
    overrides = ["stage=grpo", "rollout=vllm", "judge=lexical", "logger=csv", f"paths.root_dir={tmp_path}"]
    with pytest.raises(ConfigError, match=r"VLLMRollout samples from token ids alone, so the \['identity', 'depth', "
                                          r"'pose', 'audio', 'camera'\] conditions that condition=all keeps.*"
                                          r"use condition=text, or rollout=hf"):
        train(compose_train(overrides, tmp_path / "out"))
    monkeypatch.undo()
    cfg = compose_train([*overrides, "condition=text", "data.synthesize.n_train=8", "data.synthesize.n_val=2",
                         "data.synthesize.n_test=2"], tmp_path / "text")
    with pytest.raises(ConfigError, match="stage grpo starts from a stage=sft run"):
        train(cfg)


def test_last_is_the_run_folders_last_checkpoint(tmp_path):
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    last.write_bytes(b"x")
    assert _resume_path("last", tmp_path) == str(last)
    assert _resume_path(str(last), tmp_path / "elsewhere") == str(last)
    assert _resume_path(None, tmp_path) is None


@pytest.mark.parametrize("ckpt_path, message", [("last", "last.ckpt does not exist"), ("nowhere.ckpt", "no such file")])
def test_missing_checkpoint_is_a_clear_error(tmp_path, ckpt_path, message):
    with pytest.raises(ReadeError, match=message):
        _resume_path(ckpt_path, tmp_path)


@pytest.mark.parametrize("dropout", [0.0, 0.9])
def test_a_row_over_max_length_stops_training_before_any_model_loads(synthetic_dir, tiny_dir, tmp_path, monkeypatch,
                                                                      dropout):
    path = edited_copy(synthetic_dir, tmp_path, lambda rows: rows[5].update(instruction="Garden, zoom in. " * 300))
    monkeypatch.setattr(reade.train, "backbone_from_config", lambda *args, **kwargs: pytest.fail("a model loaded"))
    cfg = compose_train(["data=jsonl", f"data.train_file={path}", "condition=identity", "stage.upstream=null", "stage.eval.captions=false",
                         f"stage.instruction_dropout={dropout}", f"paths.root_dir={tmp_path}",
                         f"paths.cache_dir={tiny_dir.parent}", "logger=csv"], tmp_path / "out")
    with pytest.raises(DataError, match=rf"{path}:6: tokens: \d+ prompt \+ \d+ target tokens exceed data.max_length=1024"):
        train(cfg)
