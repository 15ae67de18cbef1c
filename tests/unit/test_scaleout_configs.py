"""Scale-out configs: every trainer option composes with every stage, the FSDP and DeepSpeed nodes
carry what a 7B run needs, the SLURM launcher composes (with or without its plugin installed), and
the stage recipes carry the paper's Table 10."""

from __future__ import annotations

import importlib.util
import inspect

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, InstantiationException
from hydra.types import RunMode
from omegaconf import OmegaConf

from reade.config import check_known_keys
from reade.utils.instantiate import build
from tests.conftest import CONF, compose_train, config_options

PAPER = ["backbone=qwen2_5_omni_7b", "trainer=gpu"]  # no tiny CPU profile: the stage yaml itself
DECODER_LAYER = "transformers.models.qwen2_5_omni.modeling_qwen2_5_omni.Qwen2_5OmniDecoderLayer"
LAUNCHER_YAML = CONF / "hydra" / "launcher" / "submitit_slurm.yaml"
# The fields of hydra-submitit-launcher 1.2's SlurmQueueConf; the launcher reads submitit_folder
# and max_num_timeout by name, and a field the file left out would not reach sbatch at all.
SLURM_FIELDS = {
    "_target_", "submitit_folder", "timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node",
    "mem_gb", "nodes", "name", "stderr_to_stdout", "partition", "qos", "comment", "constraint", "exclude",
    "gres", "cpus_per_gpu", "gpus_per_task", "mem_per_gpu", "mem_per_cpu", "account", "signal_delay_s",
    "max_num_timeout", "additional_parameters", "array_parallelism", "setup",
}
READE_SLURM_ENV = ["PARTITION", "ACCOUNT", "QOS", "CONSTRAINT", "GPUS_PER_NODE", "CPUS_PER_TASK", "MEM_GB",
                   "TIMEOUT_MIN", "ARRAY_PARALLELISM"]


def plugin_installed() -> bool:
    """find_spec of a dotted name imports its parent: without any Hydra plugin, `hydra_plugins` is missing too."""
    try:
        return importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None
    except ModuleNotFoundError:
        return False


# ---- every trainer with every stage ----------------------------------------------------------------


@pytest.mark.parametrize("stage", config_options("stage"))
@pytest.mark.parametrize("trainer", config_options("trainer"))
def test_every_trainer_composes_and_resolves_with_every_stage(trainer, stage, tmp_path):
    cfg = compose_train([f"trainer={trainer}", f"stage={stage}", "backbone=qwen2_5_omni_7b"], tmp_path)
    check_known_keys(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)["trainer"]
    assert resolved["_target_"] == "lightning.Trainer"
    assert resolved["default_root_dir"] == str(tmp_path)
    assert resolved["accumulate_grad_batches"] == cfg.stage.accumulate_grad_batches
    assert resolved["max_steps"] == cfg.stage.max_steps and resolved["max_epochs"] == cfg.stage.max_epochs


def test_trainer_options_are_the_documented_ones():
    assert {"cpu", "gpu", "ddp", "fsdp", "deepspeed"} <= set(config_options("trainer"))


# ---- FSDP ------------------------------------------------------------------------------------------


def test_fsdp_node_builds_the_strategy_a_7b_run_needs(tmp_path):
    from lightning.pytorch.strategies import FSDPStrategy
    from torch.distributed.fsdp import ShardingStrategy
    from transformers.models.qwen2_5_omni.modeling_qwen2_5_omni import (
        Qwen2_5OmniDecoderLayer,
        Qwen2_5OmniThinkerTextModel,
    )

    cfg = compose_train(["trainer=fsdp", "stage=sft", "backbone=qwen2_5_omni_7b"], tmp_path)
    trainer = cfg.trainer
    assert (trainer.accelerator, trainer.devices, trainer.precision) == ("gpu", -1, "bf16-mixed")
    # Lightning's FSDPPrecision raises on norm clipping, so the FSDP trainer must not ask for it.
    assert trainer.gradient_clip_val is None and cfg.stage.gradient_clip_val == 1.0
    node = OmegaConf.to_container(trainer.strategy)
    assert set(node) - {"_target_"} <= set(inspect.signature(FSDPStrategy.__init__).parameters)

    strategy = build(trainer.strategy)
    assert isinstance(strategy, FSDPStrategy)
    assert strategy.sharding_strategy == ShardingStrategy.FULL_SHARD
    assert strategy._state_dict_type == "full"  # one last.ckpt file, as ckpt_path=<file> expects
    assert strategy.kwargs["auto_wrap_policy"]._module_classes == {Qwen2_5OmniDecoderLayer}
    assert strategy._activation_checkpointing_kwargs["auto_wrap_policy"]._module_classes == {Qwen2_5OmniDecoderLayer}
    # The class named is the thinker's text decoder layer, the unit transformers never splits.
    assert Qwen2_5OmniThinkerTextModel._no_split_modules == [Qwen2_5OmniDecoderLayer.__name__]
    assert f"{Qwen2_5OmniDecoderLayer.__module__}.{Qwen2_5OmniDecoderLayer.__name__}" == DECODER_LAYER


# ---- DeepSpeed --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage, clip", [("sft", 1.0), ("grpo", None)])
def test_deepspeed_node_composes_without_deepspeed(stage, clip, tmp_path):
    from lightning.pytorch.strategies import DeepSpeedStrategy

    cfg = compose_train(["trainer=deepspeed", f"stage={stage}", "backbone=qwen2_5_omni_7b"], tmp_path)
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    assert (trainer["accelerator"], trainer["devices"], trainer["precision"]) == ("gpu", -1, "bf16-mixed")
    assert trainer["gradient_clip_val"] == clip  # Lightning copies it into DeepSpeed's gradient_clipping
    node = trainer["strategy"]
    assert node["_target_"] == "lightning.pytorch.strategies.DeepSpeedStrategy"
    assert set(node) - {"_target_", "_convert_"} <= set(inspect.signature(DeepSpeedStrategy.__init__).parameters)
    config = node["config"]
    assert config["zero_optimization"]["stage"] == 2
    assert config["zero_allow_untested_optimizer"] is True  # the stage's torch AdamW
    # Lightning sets these itself, from the trainer, and refuses gradient_accumulation_steps here.
    assert not {"gradient_accumulation_steps", "gradient_clipping", "bf16", "fp16"} & set(config)
    # Lightning asserts a plain dict: what instantiate passes once the node is converted.
    arguments = build(cfg.trainer.strategy, _target_="builtins.dict")
    assert type(arguments["config"]) is dict and type(arguments["config"]["zero_optimization"]) is dict


def test_building_the_deepspeed_strategy_needs_deepspeed_only_then(tmp_path):
    cfg = compose_train(["trainer=deepspeed"], tmp_path)
    if importlib.util.find_spec("deepspeed") is None:
        with pytest.raises(InstantiationException, match="must have DeepSpeed installed"):
            build(cfg.trainer.strategy)
    else:
        from lightning.pytorch.strategies import DeepSpeedStrategy

        strategy = build(cfg.trainer.strategy)
        assert isinstance(strategy, DeepSpeedStrategy) and strategy.config["zero_optimization"]["stage"] == 2


# ---- SLURM launcher ---------------------------------------------------------------------------------


def _launcher_from_yaml(num_nodes: int = 1) -> dict:
    """The launcher YAML resolved in a minimal root, as Hydra would place it (no plugin needed)."""
    root = OmegaConf.create({
        "hydra": {"sweep": {"dir": "/sweeps/x"}, "job": {"name": "train"}},
        "trainer": {"num_nodes": num_nodes},
    })
    root.hydra.launcher = OmegaConf.load(LAUNCHER_YAML)
    return OmegaConf.to_container(root.hydra.launcher, resolve=True)


def test_slurm_launcher_yaml_alone(monkeypatch):
    for name in READE_SLURM_ENV:
        monkeypatch.delenv(f"READE_SLURM_{name}", raising=False)
    launcher = _launcher_from_yaml()
    assert launcher["_target_"] == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert set(launcher) == SLURM_FIELDS
    assert launcher["submitit_folder"] == "/sweeps/x/.submitit/%j" and launcher["name"] == "train"
    assert (launcher["gpus_per_node"], launcher["tasks_per_node"], launcher["nodes"]) == (8, 8, 1)
    assert (launcher["cpus_per_task"], launcher["mem_gb"], launcher["timeout_min"]) == (8, 256, 1440)
    assert launcher["array_parallelism"] == 8 and launcher["max_num_timeout"] == 0
    assert launcher["partition"] is None and launcher["account"] is None and launcher["qos"] is None


def test_slurm_launcher_reads_the_cluster_from_the_environment(monkeypatch):
    for name, value in [("PARTITION", "h100"), ("ACCOUNT", "vision"), ("GPUS_PER_NODE", "4"), ("MEM_GB", "512"),
                        ("TIMEOUT_MIN", "90"), ("ARRAY_PARALLELISM", "2")]:
        monkeypatch.setenv(f"READE_SLURM_{name}", value)
    launcher = _launcher_from_yaml(num_nodes=2)
    assert (launcher["partition"], launcher["account"]) == ("h100", "vision")
    # One task per GPU, on as many nodes as the trainer spans.
    assert (launcher["gpus_per_node"], launcher["tasks_per_node"], launcher["nodes"]) == (4, 4, 2)
    assert (launcher["mem_gb"], launcher["timeout_min"], launcher["array_parallelism"]) == (512, 90, 2)


def compose_with_hydra_node(overrides: list[str]):
    """conf/train.yaml with its hydra node kept, so that hydra.launcher resolves against the whole config."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose("train", overrides=overrides, return_hydra_config=True)


def test_train_yaml_composes_with_hydras_basic_launcher(tmp_path):
    compose_train([], tmp_path)
    assert HydraConfig.get().runtime.choices["hydra/launcher"] == "basic"
    compose_train(["hydra/launcher=basic"], tmp_path)
    assert HydraConfig.get().launcher._target_ == "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def _compose_launcher_file(config_dir, text: str):
    """`text` as hydra/launcher/submitit_slurm.yaml under a bare primary config in `config_dir`."""
    (config_dir / "hydra" / "launcher").mkdir(parents=True, exist_ok=True)
    (config_dir / "hydra" / "launcher" / "submitit_slurm.yaml").write_text(text)
    (config_dir / "app.yaml").write_text("trainer:\n  num_nodes: 1\n")
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir)):
        return compose("app", overrides=["hydra/launcher=submitit_slurm"], return_hydra_config=True)


# Hydra 1.3 still merges a config file onto the ConfigStore node of the same name, with this warning.
@pytest.mark.filterwarnings(r"ignore:\s*'hydra/launcher/submitit_slurm' is validated against ConfigStore schema:UserWarning")
def test_slurm_launcher_composes_through_hydra(monkeypatch, tmp_path):
    """With the plugin (the `slurm` extra), the file is merged onto its SlurmQueueConf, which rejects
    a misspelt field, and builds the launcher; without it, the file composes alone and only
    launching needs the plugin."""
    monkeypatch.setenv("READE_SLURM_PARTITION", "h100")
    overrides = ["hydra/launcher=submitit_slurm", "+experiment=ablation_no_cot", "trainer=gpu",
                 "hydra.launcher.gpus_per_node=1"]
    cfg = compose_with_hydra_node(overrides)
    launcher = cfg.hydra.launcher
    resolved = OmegaConf.to_container(launcher, resolve=True)
    assert set(resolved) == SLURM_FIELDS
    assert (resolved["partition"], resolved["gpus_per_node"], resolved["tasks_per_node"]) == ("h100", 1, 1)
    assert resolved["tasks_per_node"] == cfg.trainer.devices and resolved["nodes"] == cfg.trainer.num_nodes
    assert resolved["submitit_folder"] == f"{cfg.hydra.sweep.dir}/.submitit/%j"
    assert cfg.hydra.mode == RunMode.MULTIRUN  # the experiment sweeps; the launcher runs its jobs
    misspelt = LAUNCHER_YAML.read_text() + "partiton: h100\n"
    if plugin_installed():
        from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf
        from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

        assert set(OmegaConf.structured(SlurmQueueConf)) == SLURM_FIELDS
        built = build(launcher)
        assert isinstance(built, SlurmLauncher) and built.params["partition"] == "h100"
        with pytest.raises(ConfigCompositionException, match="with schema"):
            _compose_launcher_file(tmp_path, misspelt)
    else:
        assert OmegaConf.load(LAUNCHER_YAML)._target_ == resolved["_target_"]
        with pytest.raises(InstantiationException, match="hydra_submitit_launcher"):
            build(launcher)
        assert _compose_launcher_file(tmp_path, misspelt).hydra.launcher.partiton == "h100"  # unchecked


# ---- the paper's recipes (Table 10; appendix D.3; section 4.1) ----------------------------------------

# Table 10, one entry per column: learning rate, batch size per GPU, gradient accumulation steps,
# LR scheduler, warm-up steps, max prompt length. Every column: weight decay 0.01, AdamW, bfloat16,
# input instruction dropout 0.4.
TABLE_10 = {
    "sft": (1.0e-5, 6, 2, "cosine", 200, 1024),
    "grpo": (2.5e-6, 2, 2, "constant", 50, 1024),  # IDs
    "grpo_depth": (1.5e-6, 1, 4, "constant", 50, 2048),
    "grpo_camera": (1.5e-6, 2, 4, "constant", 50, 1024),
    "grpo_pose": (1.0e-6, 1, 4, "constant", 50, 2048),
}
SCHEDULERS = {"cosine": "transformers.get_cosine_schedule_with_warmup",
              "constant": "transformers.get_constant_schedule_with_warmup"}
# GRPO keeps each group of G completions on one rank, so an optimizer step covers prompts_per_step x G
# completions per rank, in micro-batches of Table 10's per-GPU batch: G / batch micro-batches, not
# Table 10's accumulation (the paper's TRL recipe accumulates per-GPU batches of completions).
GRPO_MICRO_BATCHES_PER_STEP = {"grpo": 4, "grpo_depth": 8, "grpo_camera": 4, "grpo_pose": 8}


@pytest.mark.parametrize("stage", sorted(TABLE_10))
def test_stage_recipe_is_table_10(stage, tmp_path):
    lr, batch, accumulation, scheduler, warmup, max_prompt = TABLE_10[stage]
    cfg = compose_train([f"stage={stage}", *PAPER], tmp_path)
    recipe = cfg.stage
    assert recipe.optimizer._target_ == "torch.optim.AdamW"
    assert (recipe.optimizer.lr, recipe.optimizer.weight_decay) == (lr, 0.01)
    assert (recipe.scheduler._target_, recipe.scheduler.num_warmup_steps) == (SCHEDULERS[scheduler], warmup)
    assert recipe.instruction_dropout == 0.4
    assert cfg.trainer.precision == "bf16-mixed" and cfg.backbone.dtype == "bfloat16"
    if stage == "sft":
        assert (recipe.batch_size, recipe.accumulate_grad_batches) == (batch, accumulation)
        assert cfg.data.max_length == max_prompt  # here it bounds prompt + target together
        return
    assert recipe.micro_batch_size == batch
    assert recipe.max_prompt_length == max_prompt
    assert cfg.trainer.accumulate_grad_batches == 1  # manual optimisation: the module accumulates
    assert recipe.prompts_per_step * recipe.group_size // recipe.micro_batch_size == GRPO_MICRO_BATCHES_PER_STEP[stage]


@pytest.mark.parametrize("stage", ["grpo", "grpo_depth", "grpo_camera", "grpo_pose"])
def test_stage_2_settings_of_the_text(stage, tmp_path):
    """Appendix D.3 and section 4.1: G = 8 rollouts, 768 completion tokens, beta = 0.001, epsilon = 0.2,
    reward weights alpha = 1.0, rho = 1.0, gamma = 0.8, lambda = 0.7."""
    cfg = compose_train([f"stage={stage}", *PAPER], tmp_path)
    recipe = cfg.stage
    assert (recipe.group_size, recipe.sampling.max_new_tokens) == (8, 768)
    assert (recipe.beta, recipe.epsilon_low, recipe.epsilon_high, recipe.loss_type) == (0.001, 0.2, 0.2, "grpo")
    assert (cfg.reward.alpha, cfg.reward.rho, cfg.reward.gamma, cfg.reward.lam) == (1.0, 1.0, 0.8, 0.7)


def test_camera_encoder_is_the_papers(tmp_path):
    """Appendix D.3: 96 input channels, patch size 16, depth 8, 8 heads; only the encoder trains."""
    cfg = compose_train(["stage=camera_pretrain", *PAPER], tmp_path)
    encoder = cfg.stage.camera_encoder
    assert (encoder.in_channels, encoder.patch_size, encoder.depth, encoder.num_heads) == (96, 16, 8, 8)
    assert cfg.stage.train_backbone is False
