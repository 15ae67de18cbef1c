"""What every stage's settings hold (`StageSettings`): where it starts, what a sweep optimises, the
trainer's share of the recipe, the optimizer, the learning-rate schedule and the held-out evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING


@dataclass
class OptimizerConfig:
    _target_: str = "torch.optim.AdamW"
    _partial_: bool = True
    lr: float = 1e-5
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class SchedulerConfig:
    _target_: str = "transformers.get_cosine_schedule_with_warmup"
    _partial_: bool = True
    num_warmup_steps: int = 200


@dataclass
class ConstantSchedulerConfig(SchedulerConfig):
    """Paper Table 10, stage 2: a constant learning rate after a linear warm-up."""

    _target_: str = "transformers.get_constant_schedule_with_warmup"
    num_warmup_steps: int = 50


@dataclass
class EvalConfig:
    """Greedy decoding of held-out instructions, before and after training."""

    limit: int = 32
    batch_size: int = 8
    max_new_tokens: int = 768
    untrained: bool = True
    # After training, the per-aspect caption metrics of `reade.evaluate` (eval/acc_*, eval/quality_*)
    # of the outputs the test loop decoded, with the run's judge; the rows need key_elements.
    captions: bool = True
    # The same for the model the stage starts from (eval/acc_*_before): what GRPO did to the
    # captions; off where that model is untrained (its outputs take minutes to judge and find nothing).
    captions_before: bool = False


@dataclass
class StageSettings:
    """The fields every stage's settings object has (`SFTSettings`, `CameraPretrainSettings`,
    `GRPOSettings` add their own and change defaults). conf/trainer/*.yaml reads the trainer's share:
    steps, epochs, validation interval, accumulation, clipping, logging interval."""

    name: str = MISSING
    # The stage whose finished run gives the starting weights (its conf/stage/ file declares it, and
    # reade.utils.chain reads it: trained first, or reused from the stage cache); `init_checkpoint`
    # names a folder instead; neither: the backbone itself.
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    # The metric returned to a sweeper (reade.utils.metrics.objective); each stage file names its own.
    optimized_metric: Optional[str] = None
    accumulate_grad_batches: int = 1
    max_steps: int = -1
    max_epochs: int = 3
    val_check_interval: Optional[float] = None
    gradient_clip_val: Optional[float] = 1.0
    log_every_n_steps: int = 10
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
