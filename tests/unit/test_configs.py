"""Every option of every config group and every experiment composes and resolves; typos and
wrong types are errors, not silent no-ops."""

from __future__ import annotations

import shutil

import pytest
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from reade.config import check_known_keys
from reade.errors import ConfigError
from tests.conftest import CONF, compose_train, config_options

GROUPS = ["stage", "backbone", "condition", "data", "trainer", "logger", "callbacks", "paths"]
REQUIRED_BY_OPTION = {
    ("backbone", "local"): ["backbone.name_or_path=/tmp/ckpt"],
    ("data", "jsonl"): ["data.train_file=/tmp/train.jsonl"],
}


def experiments() -> list[str]:
    return config_options("experiment")


@pytest.mark.parametrize("group, option", [(g, o) for g in GROUPS for o in config_options(g)])
def test_every_group_option_composes_and_resolves(group, option, tmp_path):
    cfg = compose_train([f"{group}={option}", *REQUIRED_BY_OPTION.get((group, option), [])], tmp_path)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["paths"]["output_dir"] == str(tmp_path)
    assert resolved["trainer"]["default_root_dir"] == str(tmp_path)


@pytest.mark.parametrize("stage", config_options("stage"))
def test_each_stage_node_is_its_settings_object(stage, tmp_path):
    """The stage node converts to its schema's dataclass, the one object its module and DataModule get."""
    cfg = compose_train([f"stage={stage}"], tmp_path)
    settings = OmegaConf.to_object(cfg.stage)
    assert type(settings) is OmegaConf.get_type(cfg.stage) and type(settings).__name__.endswith("Settings")
    assert settings.optimizer.lr == cfg.stage.optimizer.lr and settings.module._partial_


def test_there_is_at_least_one_experiment():
    assert experiments()


@pytest.mark.parametrize("name", experiments())
def test_every_experiment_composes_with_every_sweep_value(name, tmp_path):
    raw = yaml.safe_load((CONF / "experiment" / f"{name}.yaml").read_text())
    assert raw["hydra"]["mode"] == "MULTIRUN", "an experiment that sweeps must set hydra.mode: MULTIRUN"
    params = raw["hydra"]["sweeper"]["params"]
    assert params, "an experiment must sweep something"
    for key, values in params.items():
        group = key.lstrip("+")
        for value in str(values).split(","):
            cfg = compose_train([f"+experiment={name}", f"{key}={value}"], tmp_path)
            check_known_keys(cfg)
            OmegaConf.to_container(cfg, resolve=True)
            assert HydraConfig.get().mode == RunMode.MULTIRUN
            if (CONF / group).is_dir():  # a config group: the job runs that option
                assert HydraConfig.get().runtime.choices[group] == value
            else:
                assert str(OmegaConf.select(cfg, key)) == value


def test_default_is_tiny_sft_on_synthetic_cpu(tmp_path):
    cfg = compose_train([], tmp_path)
    assert (cfg.stage.name, cfg.backbone.name, cfg.data.name, cfg.trainer.accelerator) == ("sft", "tiny", "synthetic", "cpu")
    assert cfg.logger.mode == "offline" and cfg.logger.project == "reade"


def test_paper_stage1_recipe(tmp_path):
    cfg = compose_train(["stage=sft", "trainer=gpu", "backbone=qwen2_5_omni_7b"], tmp_path)
    stage = cfg.stage
    assert (stage.optimizer.lr, stage.optimizer.weight_decay, stage.scheduler.num_warmup_steps) == (1e-5, 0.01, 200)
    assert (stage.batch_size, stage.accumulate_grad_batches, stage.instruction_dropout) == (6, 2, 0.4)
    assert stage.scheduler._target_ == "transformers.get_cosine_schedule_with_warmup"
    assert cfg.trainer.precision == "bf16-mixed"


def test_tiny_backbone_gets_the_cpu_profile_of_its_stage(tmp_path):
    cfg = compose_train(["stage=sft"], tmp_path)
    sft = cfg.stage
    assert (sft.optimizer.lr, sft.max_steps, sft.batch_size) == (3e-3, 3000, 8)
    assert cfg.backbone.tiny.system_prompt == ""  # the paper's turn is for pretrained backbones
    assert not sft.group_by_length and cfg.backbone.seed == 42  # Parts 26 and 25 of condition_grounding
    assert compose_train(["seed=7"], tmp_path).backbone.seed == 7  # one seed draws the whole run
    ground = compose_train(["stage=ground"], tmp_path).stage
    assert (ground.max_steps, ground.train_rows_with) == (1500, ["identity"])  # Part 10 of condition_grounding
    assert compose_train(["stage=ground", "backbone=qwen2_5_omni_3b"], tmp_path).stage.train_rows_with == []
    grpo = compose_train(["stage=grpo"], tmp_path).stage
    assert (grpo.upstream, grpo.sampling.max_new_tokens, grpo.optimizer.lr) == ("sft", 400, 1e-4)
    assert compose_train(["stage=grpo_depth"], tmp_path).stage.optimizer.lr == 1.5e-6  # no profile: the paper's


def test_paper_stage2_recipe(tmp_path):
    cfg = compose_train(["stage=grpo", "trainer=gpu", "backbone=qwen2_5_omni_7b"], tmp_path)
    stage = cfg.stage
    assert (stage.group_size, stage.beta, stage.epsilon_low, stage.epsilon_high) == (8, 0.001, 0.2, 0.2)
    assert (stage.sampling.max_new_tokens, stage.optimizer.lr, stage.optimizer.weight_decay) == (768, 2.5e-6, 0.01)
    assert stage.scheduler._target_ == "transformers.get_constant_schedule_with_warmup"
    assert stage.scheduler.num_warmup_steps == 50 and stage.instruction_dropout == 0.4
    assert stage.share_prompts is True  # each group's prompt computed once in the log-prob passes
    assert (cfg.reward.alpha, cfg.reward.rho, cfg.reward.gamma, cfg.reward.lam) == (1.0, 1.0, 0.8, 0.7)
    assert cfg.trainer.gradient_clip_val is None and cfg.trainer.accumulate_grad_batches == 1  # manual optimisation
    assert (stage.max_nan_share, stage.max_nan_steps) == (0.5, 5)  # stop when the judge stops judging
    lrs = {name: compose_train([f"stage={name}"], tmp_path).stage.optimizer.lr for name in ("grpo_depth", "grpo_camera", "grpo_pose")}
    assert lrs == {"grpo_depth": 1.5e-6, "grpo_camera": 1.5e-6, "grpo_pose": 1.0e-6}  # Table 10


@pytest.mark.parametrize(
    "override",
    [
        "+stage.optimizer.lrr=1",
        "+backbone.tiny.text_hiden=64",
        "+data.on_eror=skip",
        "+stage.eval.limt=3",
        "+logger.projct=x",
    ],
)
def test_misspelt_added_keys_are_errors(override, tmp_path):
    cfg = compose_train([override], tmp_path)
    with pytest.raises(ConfigError) as error:
        check_known_keys(cfg)
    key = override[1:].split("=")[0]
    assert key in str(error.value) and "did you mean" in str(error.value)


@pytest.mark.parametrize("override", ["stage.optimizer.lrr=1", "data.on_eror=skip", "backbone.tiny.text_hiden=64"])
def test_misspelt_overrides_are_errors(override, tmp_path):
    with pytest.raises(ConfigCompositionException):
        compose_train([override], tmp_path)


@pytest.mark.parametrize("group, option", [(g, o) for g in GROUPS for o in config_options(g)])
def test_shipped_configs_have_only_known_keys(group, option, tmp_path):
    check_known_keys(compose_train([f"{group}={option}", *REQUIRED_BY_OPTION.get((group, option), [])], tmp_path))


@pytest.mark.parametrize("override", ["stage.optimizer.lr=fast", "stage.max_steps=many", "backbone.lora.enabled=maybe"])
def test_wrong_types_are_errors(override, tmp_path):
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_train([override], tmp_path)


def test_misspelt_key_in_a_yaml_file_is_an_error(tmp_path):
    conf = shutil.copytree(CONF, tmp_path / "conf")  # a copy: the test never writes into the source tree
    (conf / "stage" / "typo.yaml").write_text("defaults:\n  - sft\n  - _self_\ninstruction_dropuot: 0.1\n")
    with pytest.raises(ConfigCompositionException):
        compose_train(["stage=typo"], tmp_path, conf_dir=conf)
