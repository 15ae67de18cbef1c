"""Tracker naming and lifetime (DESIGN.md section 7).

Every job: project `reade`, group = the experiment's name, job type = the stage, run name from the
Hydra overrides (with '/' replaced: it would make sub-folders), the resolved config uploaded,
and the wandb run closed at the end of the job even after a failure, or the next job of a sweep
would log into it.
"""

from __future__ import annotations

from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf

from reade.utils.instantiate import build


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
    """The job's tracker; `job_type` defaults to the stage's name (a training job)."""
    identity = run_identity(job_type or cfg.stage.name)
    if cfg.logger._target_.endswith("WandbLogger"):
        logger = build(cfg.logger, **identity)
    else:
        logger = build(cfg.logger, version="")  # the run folder is already one job's own
    logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return logger


def close_logger(logger: Any, failed: bool) -> None:
    if isinstance(logger, WandbLogger):
        import wandb

        if wandb.run is not None:
            wandb.finish(exit_code=1 if failed else 0)
    elif logger is not None:
        logger.finalize("failed" if failed else "success")
