"""What every stage's settings hold (`StageSettings`): where it starts, what a sweep optimises, the
trainer's share of the recipe, the optimizer, the learning-rate schedule and the held-out evaluation.

The schemas name, type and explain the fields; the values are stated once, in conf/stage/ (the paper's
GPU recipe; what every stage shares in conf/stage/optimizer/) and conf/profile/ (the CPU recipes'
differences). A recipe field is MISSING here, so a stage file that forgets one fails naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Iterator, Optional

from omegaconf import MISSING

from reade.errors import ConfigError


@dataclass
class OptimizerConfig:
    """A partial: the stage calls it with the parameters it trains."""

    _target_: str = MISSING
    _partial_: bool = True
    lr: float = MISSING
    weight_decay: float = MISSING
    betas: list[float] = MISSING


@dataclass
class SchedulerConfig:
    """A partial: the stage calls it with its optimizer (and the number of training steps)."""

    _target_: str = MISSING
    _partial_: bool = True
    num_warmup_steps: int = MISSING


@dataclass
class EvalConfig:
    """Greedy decoding of held-out instructions, before and after training."""

    limit: int = MISSING
    batch_size: int = MISSING
    max_new_tokens: int = MISSING
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
    `GRPOSettings` add their own). conf/trainer/*.yaml reads the trainer's share: steps, epochs,
    validation interval, accumulation, clipping, logging interval.

    Built in code rather than composed from conf/, a settings object must still be whole: an unset
    field would hold the string '???' (truthy, so `train_backbone` would silently read as true).
    Compose the stage's recipe instead (reade.config.compose.stage_settings) and replace what differs.
    """

    name: str = MISSING
    # The stage whose finished run gives the starting weights (its conf/stage/ file declares it, and
    # reade.utils.chain reads it: trained first, or reused from the stage cache); `init_checkpoint`
    # names a folder instead; neither (null): the backbone itself.
    upstream: Optional[str] = MISSING
    init_checkpoint: Optional[str] = None
    # The metric returned to a sweeper (reade.utils.metrics.objective); each stage file names its own.
    optimized_metric: Optional[str] = MISSING
    accumulate_grad_batches: int = MISSING
    max_steps: int = MISSING
    max_epochs: int = MISSING
    val_check_interval: Optional[float] = None
    gradient_clip_val: Optional[float] = MISSING
    log_every_n_steps: int = MISSING
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self):
        unset = list(unset_fields(self))
        if unset:
            raise ConfigError(f"{type(self).__name__}: {', '.join(unset)} not set; conf/stage/ states the recipe: "
                              "compose it (reade.config.compose.stage_settings) and replace what differs")


def unset_fields(node: Any, prefix: str = "") -> Iterator[str]:
    """The dotted names of the fields under a dataclass instance that still hold MISSING."""
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, str) and value == MISSING:
            yield prefix + f.name
        elif is_dataclass(value) and not isinstance(value, type):
            yield from unset_fields(value, f"{prefix}{f.name}.")
