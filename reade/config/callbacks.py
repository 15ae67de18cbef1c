"""The `callbacks` group: resumable checkpoints and the learning-rate monitor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING


@dataclass
class ModelCheckpointConfig:
    """Lightning checkpoints for resuming (`ckpt_path=last`); the HF export is separate."""

    _target_: str = "reade.utils.checkpoint.ResumableCheckpoint"
    dirpath: Optional[str] = MISSING
    filename: str = "step{step}"
    save_last: bool = True
    save_top_k: int = 0
    every_n_train_steps: int = MISSING


@dataclass
class LearningRateMonitorConfig:
    _target_: str = "lightning.pytorch.callbacks.LearningRateMonitor"
    logging_interval: str = "step"


@dataclass
class CallbacksConfig:
    model_checkpoint: ModelCheckpointConfig = field(default_factory=ModelCheckpointConfig)
    lr_monitor: LearningRateMonitorConfig = field(default_factory=LearningRateMonitorConfig)
