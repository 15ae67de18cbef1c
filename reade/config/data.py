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
    # Condition files laid out once and kept in memory, per data-loader process (0: off);
    # reade.data.condition_files.EncodedConditions. Changes no batch, so not in the stage key.
    condition_cache_mb: int = 2048
    max_length: int = 1024
