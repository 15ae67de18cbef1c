"""Where a job reads and writes (the `paths` group)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING


@dataclass
class PathsConfig:
    root_dir: str = MISSING
    data_dir: str = MISSING
    log_dir: str = MISSING
    cache_dir: str = MISSING
    # None only where Hydra has no run folder (`--cfg job --resolve`).
    output_dir: Optional[str] = MISSING
