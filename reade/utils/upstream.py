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

import copy
import fcntl
import json
import hashlib
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from reade.errors import ConfigError

log = logging.getLogger(__name__)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
DONE = "DONE"
# Overrides of the downstream job that the upstream run does not inherit.
DOWNSTREAM_ONLY = ("stage", "strategy", "reward", "judge", "rollout", "ckpt_path", "profile")
# Groups an upstream stage does not read: camera pretraining has its own camera-to-text data, so every
# condition and data choice downstream shares one camera encoder run.
NOT_READ_BY = {"camera_pretrain": ("condition", "data")}
PLACEHOLDER_DIR = "/upstream-run-folder"


def upstream_overrides(task_overrides: list[str], upstream: str) -> list[str]:
    """This job's command-line overrides, minus the downstream-only ones, plus `stage=<upstream>`."""
    dropped = DOWNSTREAM_ONLY + NOT_READ_BY.get(upstream, ())
    kept = [override for override in task_overrides if _key(override).split(".", 1)[0] not in dropped]
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
    if not _launching_process():
        # A DDP rank beside rank 0: it trains the upstream with rank 0 (which holds the lock and
        # writes the marker), or reads the finished run like rank 0 does.
        if not (folder / DONE).is_file():
            run(_compose(overrides + [f"paths.output_dir={folder}"]))
        return str(folder / "checkpoint")
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
    return _resolved_hash(_compose(overrides))


def _resolved_hash(cfg: DictConfig) -> str:
    """sha256 of the resolved config with the run folder left out: equal configs, one cache entry."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = PLACEHOLDER_DIR
    return hashlib.sha256(OmegaConf.to_yaml(cfg, resolve=True).encode()).hexdigest()[:12]


def with_stage_settings(cfg: DictConfig) -> DictConfig:
    """This job's config with `stage_settings.<its stage>` merged into its stage node, as an
    upstream run of that stage gets them; the same key on the command line is a ConfigError, not a
    silent loser."""
    if not HydraConfig.initialized():
        return cfg
    stage = HydraConfig.get().runtime.choices.get("stage")
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


def identical_cached_run(cfg: DictConfig) -> Path | None:
    """The stage-cache folder of this job's run as another job's upstream would make it, when this
    job's resolved config is exactly that run's (no stage settings of its own, no resume); else None.

    A sweep row that runs a stage alone (strategy cot_only: SFT) and a row that starts GRPO from the
    same SFT then share one training run, whichever comes first."""
    if not HydraConfig.initialized():
        return None
    stage = HydraConfig.get().runtime.choices.get("stage")
    key = _config_hash(upstream_overrides(_task_overrides(), stage))
    if key != _resolved_hash(cfg):
        return None
    return Path(cfg.paths.cache_dir) / "stages" / f"{stage}-{key}"


def reuse_or_train(cfg: DictConfig, run: Callable[[DictConfig], dict[str, Any]],
                   reuse: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """A top-level job: `reuse(folder)` of an identical finished stage-cache run, or `run(cfg)` in its
    own run folder, which is then linked into the cache for later jobs (hard links: no copy, and the
    cache entry survives a deleted run folder)."""
    folder = identical_cached_run(cfg)
    if folder is None:
        return run(cfg)
    if not _launching_process():  # rank 0 holds the lock, decides, links and publishes; this rank follows
        return json.loads((folder / "metrics.json").read_text()) if (folder / DONE).is_file() else run(cfg)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _lock(folder.with_suffix(".lock")):
        if (folder / DONE).is_file():
            log.info("stage %s: an identical finished run is in %s; reusing it instead of training", cfg.stage.name, folder)
            return reuse(folder)
        metrics = run(cfg)
        shutil.rmtree(folder, ignore_errors=True)
        link_run(Path(cfg.paths.output_dir), folder)
        (folder / DONE).write_text(f"published by {cfg.paths.output_dir}\n")
    return metrics


def _launching_process() -> bool:
    """True in the process that launched the job, or in rank 0 of an externally launched one.

    Lightning's DDP starts ranks 1.. by running this script again (with LOCAL_RANK set) while rank 0
    waits for them; SLURM and torchrun start every rank themselves (RANK, SLURM_PROCID). Only rank 0
    may take the stage-cache lock and write: a rank that waited on it would never join rank 0."""
    for variable in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(variable, "0") != "0":
            return False
    return True


def link_run(source: Path, target: Path) -> None:
    """A finished run's checkpoint folder and metrics.json under `target`, as hard links."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / "checkpoint", target / "checkpoint", copy_function=_link)
    _link(source / "metrics.json", target / "metrics.json")


def _link(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def _task_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _compose(overrides: list[str]) -> DictConfig:
    """The upstream job's config. Stage settings an experiment (or a strategy) writes are its downstream
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


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
