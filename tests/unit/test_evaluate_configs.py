"""conf/evaluate.yaml with every judge, condition and data option: composes, resolves, rejects typos."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from reade.config import check_known_keys
from reade.errors import ConfigError
from tests.conftest import compose_config, config_options

OPTIONS = [("judge", o) for o in config_options("judge")] + [("condition", o) for o in config_options("condition")]


@pytest.mark.parametrize("group, option", OPTIONS)
def test_every_option_composes_and_resolves(group, option, tmp_path):
    cfg = compose_config("evaluate", [f"{group}={option}", f"paths.root_dir={tmp_path}"], tmp_path)
    check_known_keys(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["paths"]["output_dir"] == str(tmp_path) and resolved["checkpoint"] is None
    assert resolved["backbone"]["seed"] == 0  # no run seed: the untrained backbone is initial model 0


def test_a_misspelt_judge_key_is_an_error(tmp_path):
    cfg = compose_config("evaluate", ["judge=lexical", "+judge.cache_dri=x"], tmp_path)
    with pytest.raises(ConfigError, match="cache_dri is not a field"):
        check_known_keys(cfg)
