"""The settings of `stage=camera_pretrain`: the camera encoder's own stage and its camera-to-text data.

`CameraPretrainSettings` is the stage node and the recipe the module and the DataModule read as it
is; `module` / `datamodule` name their classes and what they take from other config groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from reade.camera_vocab import KINDS, SPEEDS
from reade.config.backbone import CameraEncoderNode
from reade.config.recipe import StageSettings


@dataclass
class CameraSynthesizeConfig:
    """Synthetic camera-to-text data (reade.data.camera_captions), written on first use."""

    n_train: int = MISSING
    n_val: int = MISSING
    n_test: int = MISSING
    seed: int = MISSING
    # The share of trajectories that combine two motions ("pan left, then tilt up").
    combined_fraction: float = MISSING
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    speeds: list[str] = field(default_factory=lambda: list(SPEEDS))


@dataclass
class CameraDataConfig:
    """Camera-to-text JSONL splits: rows with one camera condition each, labelled by the describer.
    With `synthesize` set, the splits are generated into `train_file`'s folder on first use."""

    train_file: str = MISSING
    val_file: Optional[str] = None
    test_file: Optional[str] = None
    synthesize: Optional[CameraSynthesizeConfig] = field(default_factory=CameraSynthesizeConfig)


@dataclass
class CameraPretrainModuleNode:
    """`reade.lit.camera_pretrain.CameraPretrainModule`, called with the model, its processor and the
    settings; from other groups: the run folder."""

    _target_: str = "reade.lit.camera_pretrain.CameraPretrainModule"
    _partial_: bool = True
    output_dir: Any = "${paths.output_dir}"


@dataclass
class CameraPretrainDataModuleNode:
    """`reade.lit.camera_pretrain.CameraPretrainDataModule`, called with the settings (whose `data`
    names its splits); from other groups: `data`'s error policy, row length and workers."""

    _target_: str = "reade.lit.camera_pretrain.CameraPretrainDataModule"
    _partial_: bool = True
    data: Any = "${data}"


@dataclass
class CameraPretrainSettings(StageSettings):
    """Camera encoder pretraining (DESIGN.md section 1): camera-to-text on trajectories labelled by
    the describer, the backbone frozen, the camera encoder (ViT + projector) trained. Its data is its
    own (`stage.data`): the `data` group feeds the SFT and GRPO stages. `upstream` / `init_checkpoint`
    name the frozen backbone's weights as for GRPO (reade.utils.chain); none: the backbone itself.
    conf/stage/camera_pretrain.yaml sets the recipe."""

    # False: only the camera encoder trains (the paper's); true trains the thinker too.
    train_backbone: bool = MISSING
    batch_size: int = MISSING
    # Batches of captions of similar token count, as SFT's (reade.data.grouped_batches).
    group_by_length: bool = False
    camera_encoder: CameraEncoderNode = field(default_factory=CameraEncoderNode)
    data: CameraDataConfig = field(default_factory=CameraDataConfig)
    module: CameraPretrainModuleNode = field(default_factory=CameraPretrainModuleNode)
    datamodule: CameraPretrainDataModuleNode = field(default_factory=CameraPretrainDataModuleNode)
