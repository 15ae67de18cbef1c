"""The one caller of `hydra.utils.instantiate`, so object construction has a single seam to test."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig


def build(node: DictConfig, **runtime_kwargs: Any) -> Any:
    """Instantiate a `_target_` node; `runtime_kwargs` are what only exists at run time
    (a model, a processor, an output path), and `_partial_: true` nodes come back as partials."""
    return instantiate(node, **runtime_kwargs)
