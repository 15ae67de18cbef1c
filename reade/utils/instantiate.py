"""The one caller of `hydra.utils.instantiate`, so object construction has a single seam to test."""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from reade.errors import ReadeError


def build(node: DictConfig, **runtime_kwargs: Any) -> Any:
    """Instantiate a `_target_` node; `runtime_kwargs` are what only exists at run time
    (a model, a processor, an output path), and `_partial_: true` nodes come back as partials.

    A user error a constructor raises (a `ReadeError`: a setting that names nothing, say) reaches
    the caller as itself, not inside Hydra's InstantiationException, so the command line prints it
    in one line and exits 2 like every other user error."""
    try:
        return instantiate(node, **runtime_kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, ReadeError):
            raise error.__cause__ from None
        raise
