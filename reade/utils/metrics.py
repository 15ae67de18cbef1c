"""`metrics.json` in every run folder: what `reade.report` and reviewers read without wandb."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import torch


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
