"""The chain of stages a job runs, decided here and printed before any work (`plan_lines`).

Each stage file declares where its starting weights come from, `upstream:` (conf/stage/*.yaml:
grpo starts from sft, sft and ground from the stage its conditions' encoder needs, camera_pretrain
from the backbone); the tiny SFT profile reads `condition.grounding_stage` instead, which the
condition options whose kinds a random tower reads set to `ground`: describe-the-reference grounding
before SFT (ground -> sft: random towers learn to see first; the tiny ground profile starts from
the backbone); an experiment or strategy may set `stage.upstream` for its own stage, and
`stage.init_checkpoint=<folder>` starts from a checkpoint instead. `job_plan` follows those
declarations back to the backbone or a checkpoint: each upstream runs as this job with
`stage=<upstream>` and without the overrides that concern the stages after it (`DOWNSTREAM_ONLY`:
so every row of a sweep over them shares it). An experiment file is passed on for what it says
about data, backbone and conditions, but its `stage:` settings stay with its own stage (the
upstream's stage node is always the plain one, with `stage_settings.<upstream>` applied). Every
upstream trains once into the stage cache (reade.utils.stage_cache) and is reused from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from reade.errors import ConfigError
from reade.utils.stage_cache import finished, reuse_or_train, stage_key, train_once

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
# Overrides of the downstream job that an upstream run does not inherit.
DOWNSTREAM_ONLY = ("stage", "strategy", "reward", "judge", "rollout", "ckpt_path", "profile")
# Groups an upstream stage does not read: camera pretraining has its own camera-to-text data, so every
# condition and data choice downstream shares one camera encoder run.
NOT_READ_BY = {"camera_pretrain": ("condition", "data")}

# train(cfg, start): trains one stage; `start()` gives the folder it starts from (None: the backbone).
Train = Callable[[DictConfig, Callable[[], str | None]], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    """One stage of a job's plan."""

    stage: str  # its option in conf/stage/
    cfg: DictConfig  # the config it trains with
    overrides: list[str]  # the overrides that compose `cfg`
    key: str  # its stage-cache key (reade.utils.stage_cache.stage_key)
    cache: Path | None  # its stage-cache folder; None for the job's own stage when no cached run is its

    @property
    def checkpoint(self) -> str | None:
        return self.cfg.stage.get("init_checkpoint")


def upstream_overrides(task_overrides: list[str], upstream: str) -> list[str]:
    """This job's command-line overrides, minus the downstream-only ones, plus `stage=<upstream>`."""
    dropped = DOWNSTREAM_ONLY + NOT_READ_BY.get(upstream, ())
    kept = [override for override in task_overrides if _key(override).split(".", 1)[0] not in dropped]
    return kept + [f"stage={upstream}"]


def job_plan(cfg: DictConfig) -> list[Step]:
    """The stages this job runs, in order, its own last (`cfg`, its stage settings merged): each
    starts from the finished run of the stage before it, the first from a checkpoint or the backbone.
    The job's own step has a stage-cache folder when its config is exactly the run another job's
    chain would make of it (a stage run alone, and the same stage as an upstream, train once)."""
    task, own = _task_overrides(), _stage_choice(cfg)
    chain = [(own, cfg, task)]
    while not chain[-1][1].stage.get("init_checkpoint") and chain[-1][1].stage.get("upstream"):
        upstream = chain[-1][1].stage.upstream
        names = [name for name, *_ in chain]
        if upstream in names:
            raise ConfigError(f"stage.upstream: the chain {' <- '.join([*names, upstream])} loops")
        overrides = upstream_overrides(task, upstream)
        chain.append((upstream, _compose(overrides), overrides))
    steps: list[Step] = []
    for name, stage_cfg, overrides in reversed(chain):
        key = stage_key(stage_cfg, steps[-1].key if steps else None)
        folder = Path(stage_cfg.paths.cache_dir) / "stages" / f"{name}-{key}"
        if stage_cfg is not cfg:
            stage_cfg.paths.output_dir = str(folder)  # an upstream runs in its stage-cache folder
        steps.append(Step(name, stage_cfg, overrides, key, folder))
    shared = upstream_overrides(task, own)
    if stage_key(_compose(shared), steps[-2].key if len(steps) > 1 else None) == steps[-1].key:
        steps[-1] = Step(own, cfg, shared, steps[-1].key, steps[-1].cache)
    else:
        steps[-1] = Step(own, cfg, task, steps[-1].key, None)
    return steps


def plan_lines(steps: list[Step]) -> list[str]:
    """What the job will do, stage by stage, before it does any of it."""
    lines = [f"plan: {len(steps)} stage(s), in order"]
    for number, step in enumerate(steps, start=1):
        recipe = step.cfg.stage
        budget = f"{recipe.max_steps} steps" if recipe.max_steps > 0 else f"{recipe.max_epochs} epochs"
        if step.checkpoint:
            origin = f"the checkpoint {step.checkpoint} (stage.init_checkpoint)"
        elif number == 1:
            origin = f"the backbone ({step.cfg.backbone.name})"
        else:
            origin = f"{number - 1} ({steps[number - 2].stage})"
        own = number == len(steps)
        if step.cache is not None and finished(step.cache):
            action = f"reuse the finished run in {step.cache}" + (" (identical to this job: no training)" if own else "")
        elif not own:
            action = f"train from {origin} into {step.cache}"
        else:
            action = f"train from {origin} in {step.cfg.paths.output_dir or 'a new run folder'}"
            action += f", then publish it to {step.cache}" if step.cache is not None else ""
        lines.append(f"  {number}. {step.stage} ({budget}, lr {recipe.optimizer.lr:g}): {action}")
    return lines


def run_plan(steps: list[Step], train: Train, reuse: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Runs the job's own stage (the last step), or reuses the identical finished run."""
    own = steps[-1]
    return reuse_or_train(own.cache, Path(own.cfg.paths.output_dir),
                          lambda: train(own.cfg, partial(starting_checkpoint, steps, train)), reuse)


def starting_checkpoint(steps: list[Step], train: Train) -> str | None:
    """The folder the last of `steps` starts from: its `stage.init_checkpoint`, the backbone (None),
    or the run of the step before it, which `train` trains into its stage-cache folder first unless
    a finished run is there (called by the stage once it has checked its own data)."""
    *before, step = steps
    if step.checkpoint:
        return checked_checkpoint(step.checkpoint)
    if not before:
        return None
    upstream = before[-1]
    train_once(upstream.cache, lambda: train(upstream.cfg, partial(starting_checkpoint, before, train)),
               " ".join(upstream.overrides))
    return str(upstream.cache / "checkpoint")


def checked_checkpoint(folder: str) -> str:
    if not (Path(folder) / "config.json").is_file():
        raise ConfigError(f"stage.init_checkpoint={folder}: not a checkpoint folder (no config.json)")
    return folder


def shown_plan(overrides: list[str]) -> list[str]:
    """`plan_lines` of the job `overrides` compose, as YAML comments: what `--cfg job` adds to the config."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        swept = dict(cfg.hydra.sweeper.get("params") or {})
        with open_dict(cfg):
            del cfg["hydra"]
        lines = plan_lines(job_plan(with_stage_settings(cfg)))
    if swept:
        lines.append(f"(a sweep over {', '.join(swept)}: each job prints its own plan when it starts)")
    return [f"# {line}" for line in lines]


def with_stage_settings(cfg: DictConfig) -> DictConfig:
    """This job's config with `stage_settings.<its stage>` merged into its stage node, as an
    upstream run of that stage gets them; the same key on the command line is a ConfigError, not a
    silent loser."""
    stage = _stage_choice(cfg)
    settings = cfg.stage_settings.get(stage)
    if not settings:
        return cfg
    given = {_key(o)[len("stage."):] for o in _task_overrides() if _key(o).startswith("stage.")}
    both = sorted(given & set(_dotted_keys(settings)))
    if both:
        raise ConfigError(f"stage.{both[0]} is set on the command line and in stage_settings.{stage}: keep one")
    cfg.stage = _merged(cfg.stage, settings, stage)
    return cfg


def _merged(stage_node: DictConfig, settings: DictConfig | None, stage: str) -> DictConfig:
    """`settings` merged into a stage node through its schema: a typo is a ConfigError naming it."""
    if not settings:
        return stage_node
    try:
        return OmegaConf.merge(stage_node, settings)
    except OmegaConfBaseException as error:
        raise ConfigError(f"stage_settings.{stage}: {getattr(error, 'msg', error)}") from error


def _dotted_keys(node: Any, prefix: str = "") -> Iterator[str]:
    for key, value in node.items():
        if isinstance(value, DictConfig):
            yield from _dotted_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _stage_choice(cfg: DictConfig) -> str:
    """This job's option in conf/stage/ (grpo_depth's stage node is named grpo)."""
    return HydraConfig.get().runtime.choices.get("stage") if HydraConfig.initialized() else cfg.stage.name


def _task_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _compose(overrides: list[str]) -> DictConfig:
    """An upstream job's config. Stage settings an experiment (or a strategy) writes are its downstream
    stage's, so the stage node is the one `stage=<upstream>` gives on the same backbone (profile
    included), with the job's `stage_settings.<upstream>` applied."""
    cfg = _compose_train(overrides, return_hydra_config=True)
    choices = cfg.hydra.runtime.choices
    plain = _compose_train([f"stage={choices.stage}", f"backbone={choices.backbone}"]).stage
    cfg.stage = _merged(plain, cfg.stage_settings.get(choices.stage), choices.stage)
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
