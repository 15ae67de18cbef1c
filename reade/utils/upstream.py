"""Stage chaining: the weights a stage starts from, made by the finished run of its upstream stage.

A stage that names `upstream` (grpo → sft) starts from that stage's exported HF checkpoint. The
upstream run is this job with `stage=<upstream>` and without the overrides that only concern this
stage (`stage.*`, reward, judge, rollout, resuming), so every row of a sweep over those shares it;
an experiment file is passed on for what it says about data, backbone and conditions, but its
`stage:` settings stay with the downstream stage (the upstream's stage node is always the plain one).
Its resolved config (run folder left out) is hashed into a folder under
`${paths.cache_dir}/stages/`; a folder with a `DONE` marker is reused. An interrupted upstream run
leaves no marker and is never reused: the next job starts it again from scratch. A file lock keeps
two jobs of a sweep from training the same upstream at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from reade.errors import ConfigError

log = logging.getLogger(__name__)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
DONE = "DONE"
# Overrides of the downstream job that the upstream run does not inherit.
DOWNSTREAM_ONLY = ("stage", "strategy", "reward", "judge", "rollout", "ckpt_path", "profile")
PLACEHOLDER_DIR = "/upstream-run-folder"


def upstream_overrides(task_overrides: list[str], upstream: str) -> list[str]:
    """This job's command-line overrides, minus the downstream-only ones, plus `stage=<upstream>`."""
    kept = [override for override in task_overrides if _key(override).split(".", 1)[0] not in DOWNSTREAM_ONLY]
    return kept + [f"stage={upstream}"]


def starting_checkpoint(cfg: DictConfig, run: Callable[[DictConfig], Any]) -> str | None:
    """The HF folder this stage starts from: `stage.init_checkpoint`, the upstream run's export
    (trained with `run` first when the stage cache has none), or None for the backbone itself."""
    explicit = cfg.stage.get("init_checkpoint")
    upstream = cfg.stage.get("upstream")
    if explicit:
        if not (Path(explicit) / "config.json").is_file():
            raise ConfigError(f"stage.init_checkpoint={explicit}: not a checkpoint folder (no config.json)")
        return explicit
    if not upstream:
        return None
    overrides = upstream_overrides(_task_overrides(), upstream)
    folder = Path(cfg.paths.cache_dir) / "stages" / f"{upstream}-{_config_hash(overrides)}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _lock(folder.with_suffix(".lock")):
        if (folder / DONE).is_file():
            log.info("stage %s: reusing the finished upstream %s run in %s", cfg.stage.name, upstream, folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)  # an interrupted run: never reused
            log.info("stage %s: training its upstream stage %s first, in %s", cfg.stage.name, upstream, folder)
            run(_compose(overrides + [f"paths.output_dir={folder}"]))
            (folder / DONE).write_text(" ".join(overrides) + "\n")
    return str(folder / "checkpoint")


def _config_hash(overrides: list[str]) -> str:
    resolved = _compose(overrides + [f"paths.output_dir={PLACEHOLDER_DIR}"])
    text = OmegaConf.to_yaml(resolved, resolve=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _task_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _compose(overrides: list[str]) -> DictConfig:
    """The upstream job's config. Stage settings an experiment (or a strategy) writes are its downstream
    stage's, so the stage node is the one `stage=<upstream>` gives on the same backbone (profile
    included)."""
    cfg = _compose_train(overrides, return_hydra_config=True)
    choices = cfg.hydra.runtime.choices
    cfg.stage = _compose_train([f"stage={choices.stage}", f"backbone={choices.backbone}"]).stage
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def _compose_train(overrides: list[str], return_hydra_config: bool = False) -> DictConfig:
    if GlobalHydra.instance().is_initialized():
        return compose("train", overrides=overrides, return_hydra_config=return_hydra_config)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=overrides, return_hydra_config=return_hydra_config)


def _key(override: str) -> str:
    """The config key an override sets: `+stage.beta=0` -> `stage.beta`."""
    return override.lstrip("+~").split("=", 1)[0]


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
