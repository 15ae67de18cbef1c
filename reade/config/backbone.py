"""The `backbone` group: the model a stage starts from, its LoRA adapters and a new camera encoder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from reade.models.tiny import TinyDims


@dataclass
class LoraConfig:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class CameraEncoderNode:
    """A new camera encoder (reade.models.camera_encoder.CameraEncoderConfig; its `out_hidden_size` is
    the backbone's width) and the maps it reads: at most `max_frames` frames rendered at
    `height` x `width` pixels (reade.models.camera_input). conf/stage/camera_pretrain.yaml sets the
    paper's ViT (D.3)."""

    in_channels: int = MISSING
    patch_size: int = MISSING
    temporal_patch_size: int = MISSING
    merge_size: int = MISSING
    hidden_size: int = MISSING
    depth: int = MISSING
    num_heads: int = MISSING
    mlp_ratio: float = MISSING
    norm_eps: float = MISSING
    max_frames: int = MISSING
    height: int = MISSING
    width: int = MISSING


@dataclass
class BackboneConfig:
    """`tiny` set: build the embedded model offline; otherwise load `name_or_path` (hub id or folder).

    `camera_encoder`: a freshly initialised camera encoder to add when the folder has none; it is
    the stage's `camera_encoder` (stage=camera_pretrain sets one) unless set here. A folder that
    holds a trained encoder always loads its own.
    """

    name: str = MISSING
    kind: str = MISSING  # one of reade.models.backbone.KINDS
    name_or_path: Optional[str] = MISSING
    tiny: Optional[TinyDims] = None
    seed: int = 0
    dtype: str = MISSING
    attn_implementation: Optional[str] = None
    lora: LoraConfig = field(default_factory=LoraConfig)
    camera_encoder: Any = "${oc.select:stage.camera_encoder,null}"
