"""The settings of `stage=sft` (and `sft_no_cot`): paper stage 1."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from reade.config.recipe import EvalConfig, OptimizerConfig, SchedulerConfig


@dataclass
class SFTModuleConfig:
    _target_: str = "reade.lit.sft.SFTModule"
    optimizer: Any = "${stage.optimizer}"
    scheduler: Any = "${stage.scheduler}"
    max_new_tokens: int = "${stage.eval.max_new_tokens}"  # type: ignore[assignment]
    samples_path: str = "${paths.output_dir}/eval_samples{tag}.jsonl"
    frozen: list[str] = "${stage.frozen}"  # type: ignore[assignment]


@dataclass
class SFTDataModuleConfig:
    _target_: str = "reade.lit.sft.SFTDataModule"
    train_file: str = "${data.train_file}"
    val_file: Optional[str] = "${data.val_file}"
    test_file: Optional[str] = "${data.test_file}"
    kinds: list[str] = "${condition.kinds}"  # type: ignore[assignment]
    synthesize: Any = "${data.synthesize}"
    on_error: str = "${data.on_error}"
    batch_size: int = "${stage.batch_size}"  # type: ignore[assignment]
    eval_batch_size: int = "${stage.eval.batch_size}"  # type: ignore[assignment]
    eval_limit: int = "${stage.eval.limit}"  # type: ignore[assignment]
    instruction_dropout: float = "${stage.instruction_dropout}"  # type: ignore[assignment]
    describe_fraction: float = "${stage.describe_fraction}"  # type: ignore[assignment]
    max_length: int = "${data.max_length}"  # type: ignore[assignment]
    num_workers: int = "${data.num_workers}"  # type: ignore[assignment]
    reasoning: bool = "${stage.reasoning}"  # type: ignore[assignment]


@dataclass
class SFTStageConfig:
    """The recipe lives in the scalars; `module`/`datamodule` are the `_target_` nodes built from it."""

    name: str = "sft"
    # The stage whose finished run gives the starting weights (conf/stage/sft.yaml declares it, and
    # reade.utils.chain reads it); `init_checkpoint` names a folder instead.
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    # The metric returned to a sweeper (reade.utils.metrics.objective); each stage file names its own.
    optimized_metric: Optional[str] = None
    batch_size: int = 6
    accumulate_grad_batches: int = 2
    max_steps: int = -1
    max_epochs: int = 3
    val_check_interval: Optional[float] = None
    gradient_clip_val: float = 1.0
    log_every_n_steps: int = 10
    instruction_dropout: float = 0.4
    # The share of training rows whose conditions all carry a description that become
    # describe-the-reference rows (reade.data.collate.InterpreterCollator): 0 on a pretrained backbone.
    describe_fraction: float = 0.0
    # Targets hold the <think> trace before the answer; false: the answer alone (stage=sft_no_cot).
    reasoning: bool = True
    # Module paths left as the starting checkpoint has them (reade.models.freezing), e.g.
    # [visual, audio_tower] after a grounding stage trained the towers.
    frozen: list[str] = field(default_factory=list)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    module: SFTModuleConfig = field(default_factory=SFTModuleConfig)
    datamodule: SFTDataModuleConfig = field(default_factory=SFTDataModuleConfig)
