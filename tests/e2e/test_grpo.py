"""GRPO end to end on the tiny backbone: real rollouts, judge and updates; resuming a killed run
continues the same trajectory; 2 DDP ranks make the same update as 1 process on the same groups."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reade.errors import JudgeError
from reade.models.backbone import load_backbone
from reade.train import train
from tests.conftest import ROOT, compose_train

pytestmark = pytest.mark.slow

SMALL = [
    "stage=grpo",
    "stage.upstream=null",
    "judge=lexical",
    "logger=csv",
    "data.synthesize.n_train=16",
    "data.synthesize.n_val=4",
    "data.synthesize.n_test=4",
    "stage.prompts_per_step=2",
    "stage.group_size=4",
    "stage.micro_batch_size=4",
    "stage.sampling.max_new_tokens=16",
    "stage.eval.limit=4",
    "stage.eval.batch_size=4",
    "stage.eval.max_new_tokens=16",
    "stage.log_completions_every=2",
    "stage.optimizer.lr=1e-3",
    "stage.scheduler.num_warmup_steps=0",
    "trainer.enable_progress_bar=false",
]


def step_metrics(run_dir: Path) -> dict[int, dict[str, float]]:
    """Training rows of the CSV log, by step."""
    rows = {}
    with (run_dir / "csv" / "metrics.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row.get("train/reward_mean"):
                rows[int(row["step"])] = {k: float(v) for k, v in row.items() if v and k != "step"}
    return rows


@pytest.fixture(scope="module")
def small(camera_backbone) -> list[str]:
    """SMALL, starting from the tiny thinker with a camera encoder: the default condition=all includes
    camera, so rollouts and updates see trajectories beside the other kinds."""
    return [*SMALL, f"stage.init_checkpoint={camera_backbone}"]


def run_cli(args: list[str], root: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "READE_ROOT": str(root), "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "reade.train", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, small):
    root = tmp_path_factory.mktemp("grpo")
    out = root / "out"
    cfg = compose_train([*small, "stage.max_steps=3", f"paths.root_dir={root}"], out)
    return cfg, out, train(cfg)


def test_metrics_logs_and_checkpoint(finished_run):
    cfg, out, metrics = finished_run
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for key in (cfg.stage.optimized_metric, "eval/reward_before", "eval/reward", "eval/total_reward", "eval/format_rate", "eval/r_user",
                "data/train_rows", "eval/acc_main_object", "eval/quality_dense", "eval/acc_inferable_dense",
                "eval/acc_inferable_dense_before", "eval/acc_inferable_dense_before_ci_low"):
        assert key in metrics, key
    steps = step_metrics(out)
    assert sorted(steps) == [0, 1, 2]
    for key in ("train/reward_mean", "train/reward_std", "train/r_user_mean", "train/r_contra_std", "train/content_mean",
                "train/format_mean", "train/frac_reward_zero_std", "train/kl", "train/clip_ratio/low_mean",
                "train/clip_ratio/high_mean", "train/clip_ratio/region_mean", "train/entropy", "train/grad_norm",
                "completions/mean_length", "completions/clipped_ratio", "time/generation_s", "time/reward_s",
                "time/update_s", "train/judge/asked"):
        assert key in steps[2], key
    assert steps[0]["train/kl"] == 0.0  # the policy is its own reference before the first update
    assert steps[2]["train/kl"] > 0.0
    table = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(table) == 8 and {"prompt", "think", "answer", "reward", "r_user", "advantage"} <= set(table[0])
    samples = [json.loads(line) for line in (out / "eval_samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4 and all("content" in row and "found" in row for row in samples)
    model, _ = load_backbone(out / "checkpoint")
    assert sum(p.numel() for p in model.parameters()) > 0


def test_inner_iterations_take_one_optimizer_step_each(small, tmp_path):
    """μ = 2: two optimizer steps per generation batch, against the log-probs recorded while sampling."""
    out = tmp_path / "mu2"
    train(compose_train([*small, "stage.num_iterations=2", "stage.max_steps=4", "stage.eval.untrained=false",
                         f"paths.root_dir={tmp_path}"], out))
    steps = step_metrics(out)
    assert sorted(steps) == [0, 1]  # two generation batches ...
    checkpoint = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 4 and checkpoint["grpo"]["batches_done"] == 2  # ... made four optimizer steps
    assert all(steps[s]["train/grad_norm"] > 0 for s in steps)


def test_a_judge_that_never_answers_stops_the_run(small, tmp_path):
    """No server behind the judge's port: every reward is NaN, and the run stops at the
    stage.max_nan_steps-th such step with the judge's failure reason, instead of training on nothing."""
    cfg = compose_train([*small, "judge=openai", "judge.base_url=http://127.0.0.1:9/v1", "judge.retries=0",
                         "judge.cache_dir=null", "stage.eval.untrained=false", "stage.max_nan_steps=2",
                         "stage.max_steps=4", f"paths.root_dir={tmp_path}"], tmp_path / "out")
    with pytest.raises(JudgeError, match=r"step 2: .* for 2 steps in a row .* connection"):
        train(cfg)


def test_resuming_a_killed_run_continues_the_same_trajectory(tmp_path, small, finished_run):
    """Kill a run once it has a checkpoint, resume it, and compare its next steps with an unbroken run."""
    args = [*small, "stage.max_steps=6", "callbacks.model_checkpoint.every_n_train_steps=2", "stage.eval.untrained=false"]
    unbroken = tmp_path / "unbroken"
    train(compose_train([*args, f"paths.root_dir={tmp_path}"], unbroken))

    killed = tmp_path / "killed"
    process = run_cli([*args, f"hydra.run.dir={killed}"], tmp_path)
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    output = process.communicate()[0]
    assert last.exists(), output[-3000:]
    assert "Trainer.fit` stopped" not in output  # killed mid-run, not finished

    resumed = tmp_path / "resumed"
    train(compose_train([*args, f"paths.root_dir={tmp_path}", f"ckpt_path={last}"], resumed))
    expected, got = step_metrics(unbroken), step_metrics(resumed)
    assert got and max(got) == 5 and min(got) >= 2
    for step in got:
        for key in ("train/reward_mean", "train/r_user_mean", "completions/mean_length", "train/loss"):
            assert math.isclose(got[step][key], expected[step][key], rel_tol=1e-5, abs_tol=1e-7), (step, key)


def test_two_ddp_ranks_make_the_update_of_one_process(small, tmp_path):
    """Same groups (prompt-seeded sampling), split over 2 ranks and smaller micro-batches: the same
    rewards and the same gradient norm, so neither ranks nor micro-batches change the objective."""
    common = [*small, "stage.max_steps=1", "stage.eval.untrained=false", "stage.eval.limit=2",
              "rollout._target_=tests.grpo_fixtures.PromptSeededRollout", "stage.instruction_dropout=0"]
    one = tmp_path / "one"
    done = run_cli([*common, "stage.prompts_per_step=2", "stage.micro_batch_size=8", f"hydra.run.dir={one}"], tmp_path)
    assert done.wait(timeout=600) == 0, done.stdout.read()[-3000:]
    two = tmp_path / "two"
    ddp = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true"]
    done = run_cli([*common, *ddp, "stage.prompts_per_step=1", "stage.micro_batch_size=2", f"hydra.run.dir={two}"], tmp_path)
    assert done.wait(timeout=600) == 0, done.stdout.read()[-3000:]
    [single], [parallel] = step_metrics(one).values(), step_metrics(two).values()
    for key in ("train/reward_mean", "train/reward_std", "completions/mean_length", "train/grad_norm", "train/entropy"):
        assert math.isclose(single[key], parallel[key], rel_tol=1e-4), (key, single[key], parallel[key])


@pytest.mark.vllm
def test_vllm_rollouts_train_end_to_end(small, tmp_path):
    """rollout=vllm: an in-process engine beside the trainer, weights pushed after every step. The run
    starts from a camera checkpoint, whose `InterpreterModel` vLLM serves as its thinker's language model."""
    out = tmp_path / "vllm"
    args = [*small, "stage.max_steps=3", "rollout=vllm", "rollout.enforce_eager=true", "rollout.max_model_len=2048",
            "condition=text", "stage.eval.untrained=false", f"hydra.run.dir={out}"]
    done = run_cli(args, tmp_path)
    output = done.communicate(timeout=600)[0]
    assert done.returncode == 0, output[-4000:]
    steps = step_metrics(out)
    assert sorted(steps) == [0, 1, 2]
    assert steps[2]["train/kl"] > 0.0  # the policy moved away from its reference
    assert "eval/reward" in json.loads((out / "metrics.json").read_text())
