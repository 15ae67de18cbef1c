"""A settings object outside a job is the recipe conf/ composes, or refused when built incomplete."""

from __future__ import annotations

from dataclasses import replace

import pytest
from omegaconf import OmegaConf

from reade.config.compose import stage_settings
from reade.config.sft import SFTSettings
from reade.errors import ConfigError
from tests.conftest import compose_train


def test_stage_settings_is_what_a_job_gives_its_stage(tmp_path):
    job = OmegaConf.to_object(compose_train(["stage=grpo", "stage.beta=0.0"], tmp_path).stage)
    assert stage_settings(["stage=grpo", "stage.beta=0.0"], tmp_path) == job
    assert job.beta == 0.0 and job.optimizer.weight_decay == 0.01  # conf/stage/optimizer/adamw.yaml


def test_settings_built_in_code_must_be_whole(tmp_path):
    with pytest.raises(ConfigError, match=r"SFTSettings: name, upstream, .*, reasoning not set"):
        SFTSettings(batch_size=6)
    settings = stage_settings(["stage=sft"], tmp_path)
    assert replace(settings, batch_size=2).batch_size == 2
