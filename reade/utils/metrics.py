"""`metrics.json` in every run folder: what `reade.report` and reviewers read without wandb."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from reade.errors import ConfigError


def as_number(value: Any) -> float | int | None:
    if isinstance(value, torch.Tensor):
        value = value.detach().float().item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else value
    return None


def update_metrics(path: Path, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Merge numbers into the JSON file, written atomically so a crash never leaves half a file."""
    path = Path(path)
    current = json.loads(path.read_text()) if path.exists() else {}
    for key, value in metrics.items():
        number = as_number(value)
        if number is not None:
            current[key] = number
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return current


def objective(metrics: Mapping[str, Any], name: str | None) -> float | None:
    """The number a sweep optimises, `stage.optimized_metric` of this run (lightning-hydra-template's
    `optimized_metric`; None names none). A name the run did not log is an error listing the
    evaluation keys it did log: a sweeper must never rank jobs by a silent None."""
    if name is None:
        return None
    if name not in metrics:
        logged = sorted(key for key in metrics if key.startswith("eval/") and not key.endswith(("_ci_low", "_ci_high")))
        shown = ", ".join(logged[:12]) + (f" and {len(logged) - 12} more" if len(logged) > 12 else "")
        raise ConfigError(f"stage.optimized_metric={name} was not logged by this run (its evaluation logged: "
                          f"{shown or 'nothing'}); name one of those, or null")
    return as_number(metrics[name])
