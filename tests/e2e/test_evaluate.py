"""`python -m reade.evaluate` through the CLI: per-aspect metrics of a checkpoint on the test split,
rows of one condition kind for Fig. 3's columns, and the user errors it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SMALL = ["data.synthesize.n_train=16", "data.synthesize.n_val=4", "data.synthesize.n_test=8", "judge=lexical",
         "logger=csv", "max_new_tokens=12", "batch_size=4"]
ASPECTS = ("main_object", "background", "action", "style", "camera", "dense")


def evaluate_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "READE_ROOT": str(root), "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "reade.evaluate", *args, f"hydra.run.dir={root}/run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_untrained_default_is_scored_per_aspect(tmp_path):
    done = evaluate_cli(tmp_path, *SMALL, "condition=text")
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for aspect in ASPECTS:
        assert 0.0 <= metrics[f"eval/acc_{aspect}"] <= 1.0 and 0.0 <= metrics[f"eval/quality_{aspect}"] <= 5.0
    assert metrics["eval/samples"] == 8 and metrics["eval/format_rate"] == 0.0  # a random model writes no format
    rows = [json.loads(line) for line in (tmp_path / "run" / "eval_samples.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {"id", "output", "elements", "found", "quality"} <= set(rows[0])
    assert "accuracy" in done.stdout and "dense" in done.stdout
    assert json.loads((tmp_path / "run" / "checkpoint.json").read_text()) == {"checkpoint": None, "trained": None,
                                                                              "baseline": None}


def test_one_condition_kind_scores_only_the_rows_that_carry_it(tmp_path):
    done = evaluate_cli(tmp_path, *SMALL, "condition=depth", "only_condition_rows=true")
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "data").rglob("test.jsonl").__next__().read_text().splitlines()]
    with_depth = sum(any(c["kind"] == "depth" for c in row["conditions"]) for row in rows)
    assert 0 < with_depth < 8 and metrics["eval/samples"] == with_depth
    assert metrics["data/test_rows_without_kind"] == 8 - with_depth


def test_a_folder_that_is_no_checkpoint_is_named(tmp_path):
    done = evaluate_cli(tmp_path, *SMALL, f"checkpoint={tmp_path}")
    assert done.returncode == 2
    assert f"checkpoint={tmp_path}: neither a run folder" in done.stdout + done.stderr
    assert not (tmp_path / "data").exists()  # named before any data is written or model loaded
