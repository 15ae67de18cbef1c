"""The settings of `stage=grpo` (and `grpo_depth`, `grpo_camera`, `grpo_pose`): paper stage 2.

`GRPOSettings` is the stage node and the recipe the module and the DataModule read as it is
(`settings.beta`, `settings.optimizer.lr`); `module` / `datamodule` name their classes and what they
take from other config groups. A new setting is one field here and its value in conf/stage/grpo.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from reade.config.recipe import StageSettings


@dataclass
class SamplingConfig:
    """How rollouts are drawn (reade.rl.rollout.base.SamplingSettings)."""

    _target_: str = "reade.rl.rollout.base.SamplingSettings"
    max_new_tokens: int = MISSING
    temperature: float = MISSING
    top_p: float = MISSING
    top_k: int = MISSING  # 0: no top-k filter


@dataclass
class GRPOModuleNode:
    """`reade.lit.grpo.GRPOModule`, called with the model, its processor and the settings; from other
    groups: the rollout engine, the judge, the reward weights, the seed and the run folder."""

    _target_: str = "reade.lit.grpo.GRPOModule"
    _partial_: bool = True
    rollout: Any = "${rollout}"
    judge: Any = "${judge}"
    reward: Any = "${reward}"
    seed: Any = "${seed}"
    output_dir: Any = "${paths.output_dir}"


@dataclass
class GRPODataModuleNode:
    """`reade.lit.grpo.GRPODataModule`, called with the settings; from other groups: the data splits,
    the condition kinds and the seed of the prompt stream."""

    _target_: str = "reade.lit.grpo.GRPODataModule"
    _partial_: bool = True
    data: Any = "${data}"
    kinds: Any = "${condition.kinds}"
    seed: Any = "${seed}"


@dataclass
class GRPOSettings(StageSettings):
    """Paper stage 2 (section 3.2.3, D; Table 10). One step = one generation batch of
    `prompts_per_step` prompts × `group_size` completions on each rank, then `num_iterations` (μ)
    optimizer steps over it, each accumulated over micro-batches of `micro_batch_size` completions.

    Lightning neither accumulates nor clips (manual optimisation): `max_grad_norm` is the clipping.
    conf/stage/grpo.yaml sets the recipe.
    """

    prompts_per_step: int = MISSING
    group_size: int = MISSING
    micro_batch_size: int = MISSING
    num_iterations: int = MISSING
    max_grad_norm: Optional[float] = MISSING
    beta: float = MISSING
    epsilon_low: float = MISSING
    epsilon_high: float = MISSING
    # True weighs the k3 term by the importance ratio (TRL 1.16's default).
    use_bias_correction_kl: bool = MISSING
    loss_type: str = MISSING  # one of reade.rl.loss.LOSS_TYPES
    scale_rewards: str = MISSING  # one of reade.rl.loss.SCALES (TRL's scale_rewards)
    mask_truncated_completions: bool = MISSING
    instruction_dropout: float = MISSING
    max_prompt_length: int = MISSING
    # Each group's prompt computed once in the log-prob passes (reade.rl.shared_prompt); same log-probs.
    share_prompts: bool = True
    log_completions_every: int = MISSING
    # Stop when more than this share of a step's rewards are NaN (no verdict) for this many steps in
    # a row (reade.rl.nan_guard); max_nan_share: 1.0 never stops.
    max_nan_share: float = MISSING
    max_nan_steps: int = MISSING
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    module: GRPOModuleNode = field(default_factory=GRPOModuleNode)
    datamodule: GRPODataModuleNode = field(default_factory=GRPODataModuleNode)
