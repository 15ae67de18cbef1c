"""Experiment sweeps through the real CLI (`python -m reade.train +experiment=... -m`): every job runs
to the end, the stage they all start from trains once, and every job lands in its experiment's
wandb group under a name of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DATA = ["data.synthesize.n_train=16", "data.synthesize.n_val=4", "data.synthesize.n_test=4", "condition=text"]
SHORT_SFT = "{max_steps:4,batch_size:4,eval:{limit:2,batch_size:2,max_new_tokens:8}}"
SHORT_GRPO = [
    "stage.max_steps=2", "stage.prompts_per_step=1", "stage.group_size=2", "stage.micro_batch_size=2",
    "stage.sampling.max_new_tokens=8", "stage.eval.limit=2", "stage.eval.batch_size=2", "stage.eval.max_new_tokens=8",
    "judge=lexical", "trainer.enable_progress_bar=false",
]


def sweep(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "READE_ROOT": str(root), "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "reade.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def wandb_records(job: Path) -> bytes:
    [run] = (job / "wandb").glob("offline-run-*")
    [records] = run.glob("*.wandb")
    return records.read_bytes()


def test_ablation_no_cot_sweeps_reward_subsets_from_one_no_cot_run(tmp_path):
    done = sweep(tmp_path, "+experiment=ablation_no_cot", "reward=user,full", *DATA,
                 f"+stage_settings.sft_no_cot={SHORT_SFT}", *SHORT_GRPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    stages = tmp_path / ".cache" / "stages"
    [base] = [p for p in stages.iterdir() if p.is_dir()]  # the one answer-only SFT run, no camera stage
    assert base.name.startswith("sft_no_cot-") and (base / "DONE").is_file()
    assert "<think>" not in (base / "eval_samples.jsonl").read_text().split('"output"')[0]
    [sweep_dir] = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert len(jobs) == 2
    for job, reward in zip(jobs, ("user", "full")):
        metrics = json.loads((job / "metrics.json").read_text())
        assert "eval/reward" in metrics and "eval/reward_before" in metrics
        records = wandb_records(job)
        assert b"ablation_no_cot" in records and f"reward={reward}".encode() in records
    rewards = [yaml.safe_load((job / ".hydra" / "config.yaml").read_text())["reward"] for job in jobs]
    assert [(r["alpha"], r["rho"], r["gamma"], r["lam"]) for r in rewards] == [(1.0, 0.0, 0.0, 0.0), (1.0, 1.0, 0.8, 0.7)]
