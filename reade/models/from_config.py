"""Backbone config node → (model, processor): the tiny default is materialised to disk first,
so it loads through the same `load_backbone` path as a hub id or a checkpoint folder."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from reade.errors import ConfigError
from reade.models.backbone import load_backbone
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
    where the weights come from, while kind, dtype, LoRA and attention settings still apply."""
    if cfg.kind == "causal_lm" and condition_kinds:
        raise ConfigError(
            f"backbone {cfg.name} is text-only but condition.kinds={list(condition_kinds)}: use condition=text"
        )
    return load_backbone(
        init_checkpoint or backbone_path(cfg, cache_dir),
        kind=cfg.kind,
        dtype=cfg.dtype,
        lora=OmegaConf.to_container(cfg.lora),
        attn_implementation=cfg.attn_implementation,
    )
