"""conf/score.yaml with every reward and judge option: composes, builds, rejects typos."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from reade.config import check_known_keys
from reade.errors import ConfigError
from reade.rewards.content import RewardWeights
from reade.utils.instantiate import build
from tests.conftest import compose_config, config_options

REQUIRED = ["input=in.jsonl", "output=out.jsonl"]
TABLE_6 = {  # paper Table 6 reward rows: (alpha, rho, gamma, lambda)
    "user": (1.0, 0.0, 0.0, 0.0),
    "user_detail": (1.0, 1.0, 0.0, 0.0),
    "user_detail_supp": (1.0, 1.0, 0.8, 0.0),
    "full": (1.0, 1.0, 0.8, 0.7),
}


def test_there_is_one_reward_config_per_table_6_row():
    assert config_options("reward") == sorted(TABLE_6)


@pytest.mark.parametrize("name", sorted(TABLE_6))
def test_reward_configs_build_the_paper_weights(name, tmp_path):
    cfg = compose_config("score", [*REQUIRED, f"reward={name}"], tmp_path)
    weights = build(cfg.reward)
    assert isinstance(weights, RewardWeights)
    assert (weights.alpha, weights.rho, weights.gamma, weights.lam) == TABLE_6[name]
    assert weights.format == 1.0


@pytest.mark.parametrize("name", config_options("judge"))
def test_every_judge_option_composes_and_builds_without_loading_a_model(name, tmp_path):
    cfg = compose_config("score", [*REQUIRED, f"judge={name}", f"paths.root_dir={tmp_path}"], tmp_path)
    check_known_keys(cfg)
    judge = build(cfg.judge)
    assert judge.backend == name
    assert judge.cache.path.parent == tmp_path / ".cache" / "judge"
    assert "key" not in OmegaConf.to_yaml(cfg.judge).replace("api_key_env", "")
    judge.close()


@pytest.mark.parametrize("override", ["reward.alpah=1", "judge.treshold=0.4", "judge=gpt5"])
def test_typos_fail_at_compose_time(override, tmp_path):
    with pytest.raises(ConfigCompositionException):
        compose_config("score", [*REQUIRED, override], tmp_path)


def test_appended_typos_are_caught_before_anything_runs(tmp_path):
    cfg = compose_config("score", [*REQUIRED, "+reward.alpah=1"], tmp_path)
    with pytest.raises(ConfigError, match="did you mean reward.alpha"):
        check_known_keys(cfg)


def test_wrong_types_are_rejected(tmp_path):
    with pytest.raises(ConfigCompositionException):
        compose_config("score", [*REQUIRED, "reward.lam=high"], tmp_path)
