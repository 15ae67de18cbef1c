"""The `condition` group: which condition kinds reach the interpreter."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, OmegaConf


@dataclass
class ConditionConfig:
    """Which condition kinds reach the interpreter (the others are dropped and counted at load).
    `encoder_stage` names the stage that trains the encoder these kinds need (camera trajectories: a
    camera encoder, `stage=camera_pretrain`, DESIGN.md section 1); conf/stage/sft.yaml starts from it.

    `grounding_stage` names the stage SFT starts from on a backbone whose towers are random (the tiny
    one: conf/profile/sft_tiny.yaml reads it; a pretrained backbone's towers already see, and
    conf/stage/sft.yaml ignores it). Left unset it is `encoder_stage`: no grounding beyond the
    encoder's own stage (`condition=text`, which has nothing to describe, and `condition=camera`,
    whose encoder stage already grounds it). The options whose kinds a random tower reads (all,
    identity, depth, pose, audio) set `ground`: describe-the-reference grounding (`stage=ground`,
    which itself starts from `encoder_stage`, or on the tiny backbone from the backbone, with a new
    camera encoder where the kinds read trajectories: conf/profile/ground_tiny.yaml). It acts
    through `stage.upstream` alone, so it stays out of the stage-cache key
    (reade.utils.stage_cache.NOT_IN_KEY).

    `frozen_after` names, by the stage SFT starts from, the parts of the model that stage trained
    and tiny SFT leaves as they are (`stage.frozen`, conf/profile/sft_tiny.yaml, through
    `frozen_after_start`): after grounding, the towers, and the camera encoder where the kinds bring
    one (conf/condition/all.yaml; experiments/condition_grounding, Part 4: acc_condition 0.573 ->
    0.599 over three paired seeds). Keyed by the start, so switching grounding off, or starting from
    a checkpoint that no grounding made, also stops the freeze instead of leaving random towers
    untrained."""

    name: str = MISSING
    kinds: list[str] = MISSING
    encoder_stage: Optional[str] = None
    grounding_stage: Optional[str] = "${.encoder_stage}"  # type: ignore[assignment]
    frozen_after: dict[str, list[str]] = field(default_factory=lambda: {"ground": ["visual", "audio_tower"]})


def frozen_after_start(frozen_after: Any, upstream: Optional[str], init_checkpoint: Optional[str]) -> list[str]:
    """`frozen_after[<the stage SFT's starting weights come from>]`, [] where it names none: the stage
    recorded in `<init_checkpoint>/reade_config.yaml` (`stage.name`, written by
    `reade.models.backbone.save_checkpoint`) when SFT starts from a checkpoint, else its upstream. A
    checkpoint without that file is not one of ours and freezes nothing. The resolver
    `${reade.frozen_after_start:...}` (registered by reade.config)."""
    from reade.models.backbone import RUN_CONFIG_FILE  # not at module level: reade.models loads torch

    start = upstream
    if init_checkpoint is not None:
        record = Path(init_checkpoint) / RUN_CONFIG_FILE
        start = OmegaConf.load(record).stage.get("name") if record.is_file() else None
    return list(frozen_after.get(start) or []) if start is not None else []


def camera_encoder_for(kinds: Any, sizes: Any) -> Any:
    """`sizes` (a `camera_encoder` node) where `kinds` read camera trajectories, else None: a stage
    adds a new camera encoder only where its rows bring one to read. The resolver
    `${reade.camera_encoder_for:...}` (registered by reade.config)."""
    return OmegaConf.create(sizes) if "camera" in kinds else None  # a node: `OmegaConf.resolve` stores no dict
