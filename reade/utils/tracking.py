"""Tracker naming and lifetime (DESIGN.md section 7).

Every job: project `reade`, group = the experiment's name, job type = the stage, run name from the
Hydra overrides (with '/' replaced: it would make sub-folders), the resolved config uploaded,
and the wandb run closed at the end of the job even after a failure, or the next job of a sweep
would log into it. A job resumed in its run folder continues that folder's wandb run by its id
(offline, wandb writes a second folder with the same id, and `wandb sync` puts both into one run).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf

from reade.utils.instantiate import build

# A wandb run's local folder: `offline-run-<date>_<time>-<id>` (`run-...` when online).
_WANDB_RUN = re.compile(r"^(?:offline-)?run-(\d{8}_\d{6})-([a-z0-9]+)$")


def run_identity(stage_name: str) -> dict[str, str]:
    """group / job_type / name of this job, from Hydra's runtime state."""
    experiment, overrides = None, ""
    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        experiment = hydra_cfg.runtime.choices.get("experiment")
        overrides = hydra_cfg.job.override_dirname
    name = overrides.replace("/", "_") if overrides else "default"
    return {"group": experiment or "default", "job_type": stage_name, "name": name}


def make_logger(cfg: DictConfig, job_type: str | None = None) -> Logger:
    """The job's tracker; `job_type` defaults to the stage's name (a training job). A job that
    resumes from a checkpoint (`ckpt_path`) in a folder that already holds a wandb run continues it."""
    identity = run_identity(job_type or cfg.stage.name)
    if cfg.logger._target_.endswith("WandbLogger"):
        resumed = wandb_run_id(Path(cfg.logger.save_dir)) if cfg.get("ckpt_path") else None
        logger = build(cfg.logger, **identity, **({"id": resumed} if resumed else {}))
    else:
        logger = build(cfg.logger, version="")  # the run folder is already one job's own
    logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return logger


def wandb_run_id(save_dir: Path) -> str | None:
    """The id of the first wandb run under `save_dir/wandb` (the launch's), or None when there is none."""
    runs = sorted(match.groups() for match in map(_WANDB_RUN.match, _names(save_dir / "wandb")) if match)
    return runs[0][1] if runs else None


def _names(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir()] if folder.is_dir() else []


def close_logger(logger: Any, failed: bool) -> None:
    if isinstance(logger, WandbLogger):
        import wandb

        if wandb.run is not None:
            wandb.finish(exit_code=1 if failed else 0)
    elif logger is not None:
        logger.finalize("failed" if failed else "success")
