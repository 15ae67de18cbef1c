"""The stage-cache key: what changes a stage's weights is in it, nothing else (README, "The stage
cache"). Keys of a `stage=grpo` job's three stages: ground, sft, grpo; or, with grounding switched off
(`UNGROUNDED`), camera_pretrain, sft, grpo."""

from __future__ import annotations

import pytest

from reade.utils.chain import job_plan
from tests.conftest import compose_train
from tests.unit.utils.test_chain import UNGROUNDED, FakeRun, start

LEFT_OUT = [
    "logger=csv",
    "callbacks.model_checkpoint.every_n_train_steps=7",
    "callbacks.lr_monitor.logging_interval=epoch",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
    "paths.log_dir=/elsewhere",
    "stage.optimized_metric=eval/format_rate",
    "data.condition_cache_mb=0",
]


def keys(tmp_path, *overrides):
    cfg = compose_train(["stage=grpo", f"paths.root_dir={tmp_path}", *overrides], output_dir=tmp_path / "run")
    return [step.key for step in job_plan(cfg)]


@pytest.mark.parametrize("override", LEFT_OUT)
def test_what_never_changes_weights_keeps_every_key(tmp_path, override):
    assert keys(tmp_path, override) == keys(tmp_path)


@pytest.mark.parametrize(
    ("override", "changed"),
    [
        ("seed=3", [True, True, True]),  # every stage's seed: see the README on seed sweeps
        ("backbone.seed=3", [True, True, True]),
        ("+stage_settings.ground={max_steps:4}", [True, True, True]),  # through the upstream's key
        ("+stage_settings.sft={max_steps:4}", [False, True, True]),  # another stage's settings: not the upstreams'
        ("+stage_settings.sft={log_every_n_steps:1}", [False, False, False]),
        ("data.synthesize.n_train=64", [True, True, True]),
        ("condition.frozen_after.ground=[visual]", [False, True, True]),  # through SFT's stage.frozen
        ("stage.optimizer.lr=1e-3", [False, False, True]),
        ("reward=user", [False, False, True]),
    ],
)
def test_what_changes_weights_changes_the_key_of_that_stage_and_those_after_it(tmp_path, override, changed):
    assert [new != old for new, old in zip(keys(tmp_path, override), keys(tmp_path))] == changed


@pytest.mark.parametrize(
    ("override", "changed"),
    [
        ("+stage_settings.camera_pretrain={optimizer:{lr:0.01}}", [True, True, True]),
        ("data.synthesize.n_train=64", [False, True, True]),  # camera pretraining reads its own data
    ],
)
def test_the_camera_stage_keys_what_changes_its_weights_and_no_more(tmp_path, override, changed):
    assert [new != old for new, old in zip(keys(tmp_path, UNGROUNDED, override), keys(tmp_path, UNGROUNDED))] == changed


def test_a_job_that_changes_only_what_is_left_out_reuses_the_whole_chain(tmp_path):
    run = FakeRun()
    first = start(compose_train(["stage=grpo", f"paths.root_dir={tmp_path}"], output_dir=tmp_path / "a"), run)
    again = start(compose_train(["stage=grpo", f"paths.root_dir={tmp_path}", *LEFT_OUT, "+stage_settings.sft={log_every_n_steps:1}"],
                                output_dir=tmp_path / "b"), run)
    assert again == first and run.stages() == ["ground", "sft"]
    start(compose_train(["stage=grpo", f"paths.root_dir={tmp_path}", "+stage_settings.sft={max_steps:4}"], output_dir=tmp_path / "c"), run)
    assert run.stages() == ["ground", "sft", "sft"]  # grounding reused, SFT trained again
