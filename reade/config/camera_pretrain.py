"""The settings of `stage=camera_pretrain`: the camera encoder's own stage and its camera-to-text data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from reade.camera_vocab import KINDS, SPEEDS
from reade.config.backbone import CameraEncoderNode
from reade.config.recipe import EvalConfig, OptimizerConfig, SchedulerConfig


@dataclass
class CameraSynthesizeConfig:
    """Synthetic camera-to-text data (reade.data.camera_captions), written on first use."""

    n_train: int = 4096
    n_val: int = 64
    n_test: int = 256
    seed: int = 0
    combined_fraction: float = 0.4
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
class CameraPretrainModuleConfig:
    _target_: str = "reade.lit.camera_pretrain.CameraPretrainModule"
    optimizer: Any = "${stage.optimizer}"
    scheduler: Any = "${stage.scheduler}"
    max_new_tokens: int = "${stage.eval.max_new_tokens}"  # type: ignore[assignment]
    train_backbone: bool = "${stage.train_backbone}"  # type: ignore[assignment]
    samples_path: str = "${paths.output_dir}/eval_samples{tag}.jsonl"


@dataclass
class CameraPretrainDataModuleConfig:
    _target_: str = "reade.lit.camera_pretrain.CameraPretrainDataModule"
    train_file: str = "${stage.data.train_file}"
    val_file: Optional[str] = "${stage.data.val_file}"
    test_file: Optional[str] = "${stage.data.test_file}"
    synthesize: Any = "${stage.data.synthesize}"
    on_error: str = "${data.on_error}"
    batch_size: int = "${stage.batch_size}"  # type: ignore[assignment]
    eval_batch_size: int = "${stage.eval.batch_size}"  # type: ignore[assignment]
    eval_limit: int = "${stage.eval.limit}"  # type: ignore[assignment]
    max_length: int = "${data.max_length}"  # type: ignore[assignment]
    num_workers: int = "${data.num_workers}"  # type: ignore[assignment]


@dataclass
class CameraPretrainStageConfig:
    """Camera encoder pretraining (DESIGN.md section 1): camera-to-text on trajectories labelled by
    the describer, the backbone frozen, the camera encoder (ViT + projector) trained. Its data is its
    own (`stage.data`): the `data` group feeds the SFT and GRPO stages. `upstream` / `init_checkpoint`
    name the frozen backbone's weights as for GRPO (reade.utils.chain); none: the backbone itself."""

    name: str = "camera_pretrain"
    upstream: Optional[str] = None
    init_checkpoint: Optional[str] = None
    optimized_metric: Optional[str] = None
    train_backbone: bool = False  # True trains the thinker too (the tiny profile: its thinker is no pretrained LM)
    batch_size: int = 32
    accumulate_grad_batches: int = 1
    max_steps: int = -1
    max_epochs: int = 3
    val_check_interval: Optional[float] = None
    gradient_clip_val: float = 1.0
    log_every_n_steps: int = 10
    camera_encoder: CameraEncoderNode = field(default_factory=CameraEncoderNode)
    data: CameraDataConfig = field(default_factory=CameraDataConfig)
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=1e-4))
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(limit=256, batch_size=32, max_new_tokens=32))
    module: CameraPretrainModuleConfig = field(default_factory=CameraPretrainModuleConfig)
    datamodule: CameraPretrainDataModuleConfig = field(default_factory=CameraPretrainDataModuleConfig)
