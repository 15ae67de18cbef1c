"""A stage's settings object outside a training job, for scripts that build a stage's module or
DataModule themselves (experiments/): composed from conf/ as `python -m reade.train` composes it, so
the recipe they start from is the one conf/stage/ and conf/profile/ state, never a copy of it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from reade.config.recipe import StageSettings
from reade.utils.chain import CONF_DIR


def stage_settings(overrides: Sequence[str] = (), output_dir: str | Path = ".") -> StageSettings:
    """The settings `python -m reade.train <overrides>` gives its stage's module, its run folder
    `output_dir`; change a value with an override (`stage.beta=0`) or `dataclasses.replace`."""
    overrides = [*overrides, f"paths.output_dir={output_dir}"]
    if GlobalHydra.instance().is_initialized():
        cfg = compose("train", overrides=overrides)
    else:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            cfg = compose("train", overrides=overrides)
    return OmegaConf.to_object(cfg.stage)
