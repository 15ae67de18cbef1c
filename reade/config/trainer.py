"""The `trainer` group: the hardware a stage runs on (its recipe comes from the stage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import MISSING


@dataclass
class TrainerConfig:
    """Hardware only: the recipe (steps, batch, clipping) comes from the stage."""

    _target_: str = "lightning.Trainer"
    accelerator: str = MISSING
    devices: Any = MISSING
    num_nodes: int = 1
    strategy: Any = "auto"
    precision: str = MISSING
    max_steps: int = MISSING
    max_epochs: int = MISSING
    val_check_interval: Optional[float] = None
    accumulate_grad_batches: int = MISSING
    gradient_clip_val: Optional[float] = MISSING
    log_every_n_steps: int = MISSING
    num_sanity_val_steps: int = 0
    enable_progress_bar: bool = True
    deterministic: bool = False
    default_root_dir: Optional[str] = MISSING
