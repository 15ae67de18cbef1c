"""Structured-config schemas, one module per config group, registered in Hydra's ConfigStore.

Each YAML option names its schema first in its defaults list (`- base_backbone`, Hydra's schema
pattern), so a misspelt key in a YAML file or a `+key=value` override is an error at compose time,
and a value of the wrong type (`stage.optimizer.lr=fast`) is rejected before any model is built.
A stage's schema is its settings object: the module and the DataModule get it as it is. The schemas
state names, types and why; values are stated once, in conf/ (a recipe value is MISSING here, so a
stage file that forgets it fails naming it; reade.config.compose builds a settings object from conf/).
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from reade.config.backbone import BackboneConfig
from reade.config.callbacks import CallbacksConfig
from reade.config.camera_pretrain import CameraPretrainSettings
from reade.config.condition import ConditionConfig, camera_encoder_for, frozen_after_start
from reade.config.data import DataConfig
from reade.config.ground import GroundSettings
from reade.config.grpo import GRPOSettings
from reade.config.judge import EmbeddingJudgeConfig, HFJudgeConfig, LexicalJudgeConfig, OpenAIJudgeConfig, VLLMJudgeConfig
from reade.config.keys import check_all_set, check_known_keys
from reade.config.logger import CSVLoggerConfig, WandbLoggerConfig
from reade.config.paths import PathsConfig
from reade.config.reward import RewardConfig
from reade.config.rollout import HFRolloutConfig, VLLMRolloutConfig
from reade.config.sft import SFTSettings
from reade.config.trainer import TrainerConfig
from reade.inference.generator_prompts import GeneratorWindow

__all__ = ["DataConfig", "check_all_set", "check_known_keys", "register"]


def register() -> None:
    """Put every schema in the ConfigStore and our resolvers in OmegaConf; idempotent, called on
    `import reade.config`."""
    OmegaConf.register_new_resolver("reade.frozen_after_start", frozen_after_start, replace=True)
    OmegaConf.register_new_resolver("reade.camera_encoder_for", camera_encoder_for, replace=True)
    store = ConfigStore.instance()
    for group, name, node in [
        ("paths", "base_paths", PathsConfig),
        ("backbone", "base_backbone", BackboneConfig),
        ("condition", "base_condition", ConditionConfig),
        ("data", "base_data", DataConfig),
        ("stage", "base_sft", SFTSettings),
        ("stage", "base_grpo", GRPOSettings),
        ("stage", "base_camera_pretrain", CameraPretrainSettings),
        ("stage", "base_ground", GroundSettings),
        ("rollout", "base_hf", HFRolloutConfig),
        ("rollout", "base_vllm", VLLMRolloutConfig),
        ("trainer", "base_trainer", TrainerConfig),
        ("callbacks", "base_callbacks", CallbacksConfig),
        ("logger", "base_wandb", WandbLoggerConfig),
        ("logger", "base_csv", CSVLoggerConfig),
        ("reward", "base_reward", RewardConfig),
        ("judge", "base_lexical", LexicalJudgeConfig),
        ("judge", "base_embedding", EmbeddingJudgeConfig),
        ("judge", "base_openai", OpenAIJudgeConfig),
        ("judge", "base_hf", HFJudgeConfig),
        ("judge", "base_vllm", VLLMJudgeConfig),
        ("generator", "base_generator", GeneratorWindow),
    ]:
        store.store(group=group, name=name, node=node)


register()

