"""Backbone config node → (model, processor), or the processor alone: the tiny default is
materialised to disk first, so it loads through the same `load_backbone` path as a hub id or a
checkpoint folder."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from reade.errors import ConfigError
from reade.models.backbone import load_backbone, load_processor
from reade.models.processing import InterpreterProcessor
from reade.models.tiny import TinyDims, materialize_tiny


def backbone_path(cfg: DictConfig, cache_dir: str) -> str:
    if cfg.tiny is not None:
        dims = OmegaConf.to_object(cfg.tiny)
        assert isinstance(dims, TinyDims)
        return str(materialize_tiny(Path(cache_dir), dims, cfg.seed))
    if not cfg.name_or_path:
        raise ConfigError(f"backbone {cfg.name}: set backbone.name_or_path (a hub id or a folder) or backbone.tiny")
    return cfg.name_or_path


def backbone_from_config(cfg: DictConfig, cache_dir: str, condition_kinds: list[str], init_checkpoint: str | None = None):
    """The backbone's model and processor; `init_checkpoint` (a folder a stage starts from) replaces
    where the weights come from, while kind, dtype, LoRA and attention settings still apply.
    `cfg.camera_encoder` (the stage's, for stage=camera_pretrain) adds a new camera encoder to a
    backbone folder that has none."""
    source = _source(cfg, cache_dir, condition_kinds, init_checkpoint)
    model, processor = load_backbone(
        source,
        kind=cfg.kind,
        dtype=cfg.dtype,
        lora=OmegaConf.to_container(cfg.lora),
        attn_implementation=cfg.attn_implementation,
        camera_encoder=_camera_sizes(cfg),
    )
    _check_camera(processor, source, condition_kinds)
    return model, processor


def processor_from_config(cfg: DictConfig, cache_dir: str, condition_kinds: list[str],
                          init_checkpoint: str | None = None) -> InterpreterProcessor:
    """The processor `backbone_from_config` returns, without loading weights: a stage counts its
    rows' tokens with it before its model loads."""
    source = _source(cfg, cache_dir, condition_kinds, init_checkpoint)
    processor = load_processor(source, kind=cfg.kind, camera_encoder=_camera_sizes(cfg))
    _check_camera(processor, source, condition_kinds)
    return processor


def _source(cfg: DictConfig, cache_dir: str, condition_kinds: list[str], init_checkpoint: str | None) -> str:
    if cfg.kind == "causal_lm" and condition_kinds:
        raise ConfigError(
            f"backbone {cfg.name} is text-only but condition.kinds={list(condition_kinds)}: use condition=text"
        )
    return init_checkpoint or backbone_path(cfg, cache_dir)


def _camera_sizes(cfg: DictConfig) -> dict | None:
    return OmegaConf.to_container(cfg.camera_encoder, resolve=True) if cfg.get("camera_encoder") else None


def _check_camera(processor: InterpreterProcessor, source: str, condition_kinds: list[str]) -> None:
    if "camera" in condition_kinds and processor.camera is None:
        raise ConfigError(
            f"condition.kinds includes camera but {source} has no camera encoder: start from a stage=camera_pretrain "
            "run (stage.upstream=camera_pretrain) or a folder that holds camera_encoder.safetensors "
            "(stage.init_checkpoint=...), or leave camera out (condition=identity|depth|pose|audio|text)"
        )
