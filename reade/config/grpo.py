"""The settings of `stage=grpo` (and `grpo_depth`, `grpo_camera`, `grpo_pose`): paper stage 2.

`GRPOSettings` is the stage node and the recipe the module and the DataModule read as it is
(`settings.beta`, `settings.optimizer.lr`); `module` / `datamodule` name their classes and what they
take from other config groups. A new setting is one field here (and a line in conf/stage/grpo.yaml
when its value there differs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from reade.config.recipe import ConstantSchedulerConfig, OptimizerConfig, StageSettings


@dataclass
class SamplingConfig:
    """How rollouts are drawn (paper D: at most 768 completion tokens)."""

    _target_: str = "reade.rl.rollout.base.SamplingSettings"
    max_new_tokens: int = 768
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0


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
    """

    name: str = "grpo"
    prompts_per_step: int = 1
    group_size: int = 8
    micro_batch_size: int = 2
    num_iterations: int = 1
    max_steps: int = 1000
    max_epochs: int = -1
    gradient_clip_val: Optional[float] = None
    log_every_n_steps: int = 1
    max_grad_norm: Optional[float] = 1.0
    beta: float = 0.001
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    # TRL 1.16's default (True) weighs the k3 term by the importance ratio; the paper's GRPO does not.
    use_bias_correction_kl: bool = False
    loss_type: str = "grpo"
    scale_rewards: str = "group"
    mask_truncated_completions: bool = False
    instruction_dropout: float = 0.4
    max_prompt_length: int = 1024
    # Each group's prompt computed once in the log-prob passes (reade.rl.shared_prompt); same log-probs.
    share_prompts: bool = True
    log_completions_every: int = 10
    # Stop when more than this share of a step's rewards are NaN (no verdict) for this many steps in
    # a row (reade.rl.nan_guard); max_nan_share: 1.0 never stops.
    max_nan_share: float = 0.5
    max_nan_steps: int = 5
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=2.5e-6))
    scheduler: ConstantSchedulerConfig = field(default_factory=ConstantSchedulerConfig)
    module: GRPOModuleNode = field(default_factory=GRPOModuleNode)
    datamodule: GRPODataModuleNode = field(default_factory=GRPODataModuleNode)
