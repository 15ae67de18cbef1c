"""Finished jobs as `reade.report` sees them: a folder with `metrics.json` and Hydra's `.hydra/`.

Everything a table needs is on disk: the metrics, the resolved config and the config-group choices
(which experiment, strategy, reward subset, condition). A job without `metrics.json` did not finish
and is never reported. When an experiment was launched more than once, its latest sweep counts
(`latest_sweep`): sweep folders are named by their start time.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


def read_run(folder: Path) -> Run | None:
    metrics_file, hydra_file = folder / "metrics.json", folder / ".hydra" / "hydra.yaml"
    if not metrics_file.is_file() or not hydra_file.is_file():
        return None
    hydra = yaml.safe_load(hydra_file.read_text())["hydra"]
    config = yaml.safe_load((folder / ".hydra" / "config.yaml").read_text())
    return Run(folder, hydra["job"]["name"], dict(hydra["runtime"]["choices"]), config,
               json.loads(metrics_file.read_text()))


def find_runs(root: Path) -> list[Run]:
    """Every finished job under `root` (run folders and sweep jobs), in folder order."""
    runs = (read_run(hydra.parent) for hydra in sorted(Path(root).rglob(".hydra")))
    return [run for run in runs if run is not None]


def latest_sweep(runs: list[Run], experiment: str, task: str = "train") -> list[Run]:
    """The jobs of the last-started sweep of `experiment`, in job order."""
    jobs = [run for run in runs if run.experiment == experiment and run.task == task]
    if not jobs:
        return []
    last = max(run.sweep for run in jobs)
    return [run for run in jobs if run.sweep == last]


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
