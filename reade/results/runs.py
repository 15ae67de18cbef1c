"""Finished jobs as `reade.report` sees them: a folder with `metrics.json` and Hydra's `.hydra/`.

Everything a table needs is on disk: the metrics, the resolved config and the config-group choices
(which experiment, strategy, reward subset, condition). A job without `metrics.json` did not finish
and is never reported. When an experiment was launched more than once, its latest sweep counts
(`latest_sweep`): sweep folders are named by their start time; seeds launched as separate sweeps are
pooled by naming the sweeps (`chosen_sweeps`, `shown_jobs`), which a bundle records. How far a sweep
got (`sweep_progress`) is its finished jobs out of those Hydra launches for it (`multirun.yaml`), so
that a report can name a sweep that is still running or whose jobs failed. A notebook that reads one
stage's model finds its newest finished run with `finished_stage_run`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType

from reade.errors import ConfigError
from reade.utils.stage_cache import DONE

SWEEP_FILE = "multirun.yaml"  # written by Hydra into a sweep folder when the sweep starts
SWEEPS_FILE = "sweeps.yaml"  # in a bundle: the sweeps its tables pooled (`chosen_sweeps`)
PROVENANCE_FILE = "checkpoint.json"  # written by reade.evaluate: which training job made the checkpoint
REPORTED_FILES = ("metrics.json", ".hydra/hydra.yaml", ".hydra/config.yaml", ".hydra/overrides.yaml", "steps.jsonl",
                  PROVENANCE_FILE)


@dataclass(frozen=True)
class Run:
    folder: Path
    task: str  # train | evaluate
    choices: dict[str, str]  # Hydra's config-group choices: experiment, strategy, reward, condition, stage, ...
    config: dict[str, Any]  # the job's resolved config (.hydra/config.yaml)
    metrics: dict[str, float]

    @property
    def experiment(self) -> str | None:
        return self.choices.get("experiment")

    @property
    def sweep(self) -> Path:
        return self.folder.parent

    def metric(self, key: str) -> float:
        """The number, NaN when the run did not record it."""
        value = self.metrics.get(key)
        return float(value) if value is not None else math.nan


@dataclass(frozen=True)
class SweepProgress:
    """How far a Hydra sweep got: its jobs that finished (wrote `metrics.json`) of those it launches."""

    folder: Path
    finished: int
    expected: int

    @property
    def complete(self) -> bool:
        return self.finished >= self.expected


def read_run(folder: Path) -> Run | None:
    metrics_file, job = folder / "metrics.json", _hydra_job(folder)
    if not metrics_file.is_file() or job is None:
        return None
    config = yaml.safe_load((folder / ".hydra" / "config.yaml").read_text())
    return Run(folder, *job, config, json.loads(metrics_file.read_text()))


def _hydra_job(folder: Path) -> tuple[str, dict[str, str]] | None:
    """(task, config-group choices) of a job folder, finished or not: Hydra writes them when it starts."""
    hydra_file = folder / ".hydra" / "hydra.yaml"
    if not hydra_file.is_file():
        return None
    hydra = yaml.safe_load(hydra_file.read_text())["hydra"]
    return hydra["job"]["name"], dict(hydra["runtime"]["choices"])


def find_runs(root: Path) -> list[Run]:
    """Every finished job under `root` (run folders and sweep jobs), in folder order."""
    runs = (read_run(hydra.parent) for hydra in sorted(Path(root).rglob(".hydra")))
    return [run for run in runs if run is not None]


def finished_stage_run(project: Path, stage: str, variable: str) -> Path:
    """The run folder `$<variable>` names, else the newest finished run of `stage` in the clone
    `project`: a job under logs/ (`python -m reade.train stage=<stage>`) or a stage-cache run under
    .cache/stages/ (trained as another stage's upstream). Finished: it exported `checkpoint/` and wrote
    `metrics.json`; newest: by the time of `metrics.json`. Neither: a ConfigError that says how to make one."""
    def finished(folder: Path) -> bool:
        return (folder / "checkpoint" / "config.json").is_file() and (folder / "metrics.json").is_file()

    named = os.environ.get(variable)
    if named:
        if not finished(Path(named)):
            raise ConfigError(f"{variable}={named} is not a finished run folder (checkpoint/config.json and metrics.json)")
        return Path(named)
    jobs = [run.folder for run in find_runs(project / "logs") if run.task == "train" and run.choices.get("stage") == stage]
    cached = [folder for folder in (project / ".cache" / "stages").glob(f"{stage}-*") if (folder / DONE).is_file()]
    runs = [folder for folder in (*jobs, *cached) if finished(folder)]
    if not runs:
        raise ConfigError(f"no finished {stage} run under {project / 'logs'} or {project / '.cache' / 'stages'}: "
                          f"train one with `python -m reade.train stage={stage}`, or set {variable} to a run folder")
    return max(runs, key=lambda folder: (folder / "metrics.json").stat().st_mtime)


def latest_sweep(runs: list[Run], experiment: str, task: str = "train") -> list[Run]:
    """The jobs of the last-started sweep of `experiment`, in job order."""
    jobs = [run for run in runs if run.experiment == experiment and run.task == task]
    if not jobs:
        return []
    last = max(run.sweep for run in jobs)
    return [run for run in jobs if run.sweep == last]


def chosen_sweeps(root: Path, named: list[str] | None, runs: list[Run]) -> list[Path]:
    """The sweep folders whose jobs are pooled: those `named` (relative to `root`), else those a bundle
    recorded in its `sweeps.yaml`, else none (each experiment's latest sweep). A named folder that holds
    no finished job is an error naming it."""
    if named is None and (root / SWEEPS_FILE).is_file():
        named = yaml.safe_load((root / SWEEPS_FILE).read_text())
    folders = [root / name for name in named or []]
    holding = {run.sweep for run in runs}
    empty = [str(folder) for folder in folders if folder not in holding]
    if empty:
        raise ConfigError(f"sweeps: no finished job in {', '.join(empty)} (a sweep folder, relative to runs_dir={root})")
    return folders


def shown_jobs(runs: list[Run], experiment: str, pooled: list[Path]) -> list[Run]:
    """The jobs of `experiment` a table reads: those of the pooled sweeps, in the order the sweeps are
    named, or, where none of them holds the experiment, its latest sweep."""
    jobs = [run for run in runs if run.experiment == experiment and run.task == "train" and run.sweep in pooled]
    if not jobs:
        return latest_sweep(runs, experiment)
    return sorted(jobs, key=lambda run: (pooled.index(run.sweep), int(run.folder.name) if run.folder.name.isdigit() else 0))


def sweeps_of(root: Path, experiment: str, task: str = "train") -> list[Path]:
    """Every sweep folder under `root` holding a job of `experiment`, finished or not, oldest first."""
    sweeps = set()
    for hydra in Path(root).rglob(".hydra"):
        job = _hydra_job(hydra.parent)
        if job is not None and job[0] == task and job[1].get("experiment") == experiment:
            sweeps.add(hydra.parent.parent)
    return sorted(sweeps)


def sweep_progress(folder: Path) -> SweepProgress:
    """Finished jobs of the sweep in `folder` out of the jobs it launches, or out of the job folders it
    holds where that number is unknown (no `multirun.yaml`: a bundle holds finished jobs only)."""
    jobs = [job for job in folder.iterdir() if (job / ".hydra").is_dir()]
    finished = sum((job / "metrics.json").is_file() for job in jobs)
    launched = sweep_size(folder / SWEEP_FILE) if (folder / SWEEP_FILE).is_file() else None
    return SweepProgress(folder, finished, max(launched or 0, len(jobs)))


def sweep_size(multirun: Path) -> int | None:
    """How many jobs Hydra's basic sweeper launches for a sweep: the product of the number of values of
    each key, over the sweeper's params and then the command line (a later value of a key replacing an
    earlier one, as the sweeper does). None where a value needs the config to expand (`glob(...)`)."""
    hydra = yaml.safe_load(multirun.read_text())["hydra"]
    params = [f"{key}={value}" for key, value in (hydra["sweeper"].get("params") or {}).items()]
    values = {}
    for override in OverridesParser.create().parse_overrides(params + list(hydra["overrides"]["task"])):
        if not override.is_sweep_override():
            values[override.get_key_element()] = 1
        elif override.is_discrete_sweep() and override.value_type != ValueType.GLOB_CHOICE_SWEEP:
            values[override.get_key_element()] = len(list(override.sweep_string_iterator()))
        else:
            return None
    return math.prod(values.values())


def trained_by(run: Run) -> dict | None:
    """What an evaluation job scored: the training job's experiment and choices, from the
    provenance file `reade.evaluate` writes beside its metrics."""
    file = run.folder / PROVENANCE_FILE
    return json.loads(file.read_text())["trained"] if file.is_file() else None


def bundle(runs: list[Run], root: Path, target: Path) -> None:
    """Copy what the report reads of `runs` (no checkpoints) under `target`, same layout as under
    `root`: `python -m reade.report runs_dir=<target>` then rebuilds the same tables."""
    for run in runs:
        destination = target / run.folder.relative_to(root)
        for name in REPORTED_FILES:
            source = run.folder / name
            if source.is_file():
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination / name)
