"""The stage cache: a stage's finished run, trained once into `${paths.cache_dir}/stages/<stage>-<key>/`
and reused by every job whose chain holds the same run (reade.utils.chain decides the chain).

The key holds what changes the run's weights: the stage's data, backbone, recipe, seed and
evaluation settings (its resolved config), and its upstream's key. It leaves out what never does
(`NOT_IN_KEY`): where files go, the logger, the callbacks (periodic checkpoints, the learning-rate
monitor), how often metrics are logged, the sweep objective, `stage_settings` (a stage's own
are merged into its stage node; an upstream's enter through the upstream's key), and
how much of the condition files a job keeps in memory (`data.condition_cache_mb`: no batch changes),
`condition.grounding_stage` and `condition.frozen_after` (they change a run only through
`stage.upstream` and `stage.frozen`, which the key holds resolved, and the upstream's key). A folder with a
`DONE` marker is reused; an interrupted run leaves none and is never reused (the next job starts
it again from scratch). A file lock keeps two jobs of a sweep from training the same run at once.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)

DONE = "DONE"
# Config entries that never change a stage's weights. `callbacks` may only hold what its schema
# declares (model_checkpoint, lr_monitor), and neither changes a step; a callback that did (early
# stopping) would belong in the stage's recipe.
NOT_IN_KEY = ("paths", "logger", "callbacks", "stage_settings", "condition.grounding_stage", "condition.frozen_after",
              "stage.optimized_metric", "data.condition_cache_mb", "stage.datamodule.data.condition_cache_mb",
              "stage.log_every_n_steps", "trainer.log_every_n_steps", "trainer.enable_progress_bar")
PLACEHOLDER_DIR = "/run-folder"


def stage_key(cfg: DictConfig, upstream_key: str | None) -> str:
    """12 hex digits of sha256 over the resolved config without `NOT_IN_KEY` (run folder paths
    inside other entries read `PLACEHOLDER_DIR`), and the key of the run it starts from."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = PLACEHOLDER_DIR
    resolved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    for dotted in NOT_IN_KEY:
        parent, _, name = dotted.rpartition(".")
        node = OmegaConf.select(resolved, parent) if parent else resolved
        if node is not None:
            node.pop(name, None)
    text = OmegaConf.to_yaml(resolved) + f"upstream_key: {upstream_key}\n"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def finished(folder: Path) -> bool:
    return (folder / DONE).is_file()


def train_once(folder: Path, run: Callable[[], Any], record: str) -> None:
    """`run()` trains into `folder` unless a finished run is there; `record` goes into its marker."""
    if not launching_process():
        # A DDP rank beside rank 0: it trains with rank 0 (which holds the lock and writes the
        # marker), or reads the finished run like rank 0 does.
        if not finished(folder):
            run()
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _lock(folder.with_suffix(".lock")):
        if finished(folder):
            log.info("reusing the finished run in %s", folder)
            return
        shutil.rmtree(folder, ignore_errors=True)  # an interrupted run: never reused
        run()
        (folder / DONE).write_text(record + "\n")


def reuse_or_train(folder: Path | None, output_dir: Path, run: Callable[[], dict[str, Any]],
                   reuse: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """A top-level job: `reuse(folder)` of the finished run in its stage-cache `folder`, or `run()` in
    its own `output_dir`, then linked into `folder` for later jobs (hard links: no copy, and the
    cache entry survives a deleted run folder). `folder` None: the job is no cached run's."""
    if folder is None:
        return run()
    if not launching_process():  # rank 0 holds the lock, decides, links and publishes; this rank follows
        return json.loads((folder / "metrics.json").read_text()) if finished(folder) else run()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _lock(folder.with_suffix(".lock")):
        if finished(folder):
            log.info("an identical finished run is in %s; reusing it instead of training", folder)
            return reuse(folder)
        metrics = run()
        shutil.rmtree(folder, ignore_errors=True)
        link_run(output_dir, folder)
        (folder / DONE).write_text(f"published by {output_dir}\n")
    return metrics


def launching_process() -> bool:
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


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
