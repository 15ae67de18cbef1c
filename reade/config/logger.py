"""The `logger` group: wandb (offline unless told otherwise) or CSV."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING


@dataclass
class WandbLoggerConfig:
    _target_: str = "lightning.pytorch.loggers.WandbLogger"
    project: str = MISSING
    mode: str = MISSING
    save_dir: Optional[str] = MISSING
    entity: Optional[str] = None
    tags: list[str] = field(default_factory=list)
    log_model: bool = False


@dataclass
class CSVLoggerConfig:
    _target_: str = "lightning.pytorch.loggers.CSVLogger"
    save_dir: Optional[str] = MISSING
    name: str = "csv"
