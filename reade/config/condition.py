"""The `condition` group: which condition kinds reach the interpreter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING


@dataclass
class ConditionConfig:
    """Which condition kinds reach the interpreter (the others are dropped and counted at load).
    `encoder_stage` names the stage that trains the encoder these kinds need (camera trajectories: a
    camera encoder, `stage=camera_pretrain`, DESIGN.md section 1); conf/stage/sft.yaml starts from it."""

    name: str = MISSING
    kinds: list[str] = MISSING
    encoder_stage: Optional[str] = None
