"""The paper's figures as PNG files (matplotlib, no display), written so that equal numbers give equal files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

PNG = {"metadata": {"Software": None}, "dpi": 120}


def bars(path: Path, labels: Sequence[str], values: Sequence[float], title: str, ylabel: str) -> None:
    figure, axes = plt.subplots(figsize=(7, 3.6))
    axes.bar(range(len(values)), [0.0 if math.isnan(v) else v for v in values], color="#4c72b0")
    axes.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    for x, value in enumerate(values):
        axes.text(x, 0 if math.isnan(value) else value, "-" if math.isnan(value) else f"{value:.1f}", ha="center",
                  va="bottom", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, **PNG)
    plt.close(figure)


def heatmap(path: Path, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], title: str) -> None:
    figure, axes = plt.subplots(figsize=(1.2 * len(columns) + 2, 1.0 * len(rows) + 1.5))
    image = axes.imshow(values, cmap="viridis", vmin=0, vmax=100)
    axes.set_xticks(range(len(columns)), columns)
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("evaluated on")
    axes.set_ylabel("trained on")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            axes.text(j, i, "-" if math.isnan(value) else f"{value:.1f}", ha="center", va="center", color="white", fontsize=9)
    figure.colorbar(image, ax=axes, label="dense caption intention accuracy (%)")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, **PNG)
    plt.close(figure)


def step_series(steps_file: Path, key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one metric from a GRPO run's steps.jsonl; a step's last line wins (resumes)."""
    by_step = {}
    for line in steps_file.read_text().splitlines():
        row = json.loads(line)
        by_step[int(row["step"])] = float(row[key])
    steps = sorted(by_step)
    return steps, [by_step[s] for s in steps]


def curves(path: Path, series: dict[str, tuple[list[int], list[float]]], title: str, ylabel: str, window: int = 5) -> None:
    """One line per run, a trailing mean over `window` steps (a GRPO step's mean reward is noisy)."""
    figure, axes = plt.subplots(figsize=(7, 3.6))
    for label, (steps, values) in series.items():
        smooth = [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1])
                  for i in range(len(values))]
        axes.plot(steps, smooth, label=label, linewidth=1.2)
    axes.set_xlabel("GRPO step")
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, **PNG)
    plt.close(figure)
