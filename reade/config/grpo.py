"""The settings of `stage=grpo` (and `grpo_depth`, `grpo_camera`, `grpo_pose`): paper stage 2."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from reade.config.recipe import ConstantSchedulerConfig, EvalConfig, OptimizerConfig


@dataclass
class SamplingConfig:
    """How rollouts are drawn (paper D: at most 768 completion tokens)."""

    _target_: str = "reade.rl.rollout.base.SamplingSettings"
    max_new_tokens: int = 768
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0


@dataclass
class GRPOModuleConfig:
    _target_: str = "reade.lit.grpo.GRPOModule"
    rollout: Any = "${rollout}"
    sampling: Any = "${stage.sampling}"
    judge: Any = "${judge}"
    reward: Any = "${reward}"
    optimizer: Any = "${stage.optimizer}"
    scheduler: Any = "${stage.scheduler}"
    group_size: int = "${stage.group_size}"  # type: ignore[assignment]
    micro_batch_size: int = "${stage.micro_batch_size}"  # type: ignore[assignment]
    num_iterations: int = "${stage.num_iterations}"  # type: ignore[assignment]
    beta: float = "${stage.beta}"  # type: ignore[assignment]
    epsilon_low: float = "${stage.epsilon_low}"  # type: ignore[assignment]
    epsilon_high: float = "${stage.epsilon_high}"  # type: ignore[assignment]
    use_bias_correction_kl: bool = "${stage.use_bias_correction_kl}"  # type: ignore[assignment]
    loss_type: str = "${stage.loss_type}"
    scale_rewards: str = "${stage.scale_rewards}"
    mask_truncated_completions: bool = "${stage.mask_truncated_completions}"  # type: ignore[assignment]
    max_grad_norm: Optional[float] = "${stage.max_grad_norm}"  # type: ignore[assignment]
    instruction_dropout: float = "${stage.instruction_dropout}"  # type: ignore[assignment]
    max_prompt_length: int = "${stage.max_prompt_length}"  # type: ignore[assignment]
    share_prompts: bool = "${stage.share_prompts}"  # type: ignore[assignment]
    seed: int = "${seed}"  # type: ignore[assignment]
    eval_max_new_tokens: int = "${stage.eval.max_new_tokens}"  # type: ignore[assignment]
    log_completions_every: int = "${stage.log_completions_every}"  # type: ignore[assignment]
    max_nan_share: float = "${stage.max_nan_share}"  # type: ignore[assignment]
    max_nan_steps: int = "${stage.max_nan_steps}"  # type: ignore[assignment]
    samples_path: str = "${paths.output_dir}/eval_samples{tag}.jsonl"
    completions_path: str = "${paths.output_dir}/completions.jsonl"
    steps_path: str = "${paths.output_dir}/steps.jsonl"


@dataclass
class GRPODataModuleConfig:
    _target_: str = "reade.lit.grpo.GRPODataModule"
    train_file: str = "${data.train_file}"
    test_file: Optional[str] = "${data.test_file}"
    kinds: list[str] = "${condition.kinds}"  # type: ignore[assignment]
    synthesize: Any = "${data.synthesize}"
    on_error: str = "${data.on_error}"
    prompts_per_step: int = "${stage.prompts_per_step}"  # type: ignore[assignment]
    eval_batch_size: int = "${stage.eval.batch_size}"  # type: ignore[assignment]
    eval_limit: int = "${stage.eval.limit}"  # type: ignore[assignment]
    seed: int = "${seed}"  # type: ignore[assignment]
    num_workers: int = "${data.num_workers}"  # type: ignore[assignment]


@dataclass
class GRPOStageConfig:
    """Paper stage 2 (section 3.2.3, D; Table 10). One step = one generation batch of
    `prompts_per_step` prompts × `group_size` completions on each rank, then `num_iterations` (μ)
    optimizer steps over it, each accumulated over micro-batches of `micro_batch_size` completions.

    `upstream` names the stage whose finished run gives the starting weights (run first, or reused
    from the stage cache: reade.utils.chain); `init_checkpoint` is an explicit HF folder instead.
    Lightning neither accumulates nor clips (manual optimisation): `max_grad_norm` is the clipping.
    """

    name: str = "grpo"
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    optimized_metric: Optional[str] = None
    prompts_per_step: int = 1
    group_size: int = 8
    micro_batch_size: int = 2
    num_iterations: int = 1
    max_steps: int = 1000
    max_epochs: int = -1
    val_check_interval: Optional[float] = None
    accumulate_grad_batches: int = 1
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
    eval: EvalConfig = field(default_factory=EvalConfig)
    module: GRPOModuleConfig = field(default_factory=GRPOModuleConfig)
    datamodule: GRPODataModuleConfig = field(default_factory=GRPODataModuleConfig)
