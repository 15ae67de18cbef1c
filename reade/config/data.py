"""The `data` group: the JSONL splits of the SFT and GRPO stages, and the synthetic data written on first use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING


@dataclass
class SynthesizeConfig:
    """Synthetic rows (reade.data.synthesize), written into `train_file`'s folder on first use."""

    n_train: int = MISSING
    n_val: int = MISSING
    n_test: int = MISSING
    seed: int = MISSING


@dataclass
class DataConfig:
    name: str = MISSING
    train_file: str = MISSING
    val_file: Optional[str] = None
    test_file: Optional[str] = None
    synthesize: Optional[SynthesizeConfig] = None
    on_error: str = "raise"
    num_workers: int = 0
    max_length: int = 1024
