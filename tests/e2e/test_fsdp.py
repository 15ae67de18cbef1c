"""trainer=fsdp end to end on 2 CPU ranks (gloo): reade.train's untrained test, fit, HF export, test
and caption metrics under sharded weights, checked against the same job under trainer=ddp, whose
ranks hold whole models and see the same batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from reade.errors import ConfigError
from reade.models.backbone import RUN_CONFIG_FILE, load_backbone
from reade.models.interpreter import InterpreterModel
from reade.train import train
from tests.conftest import compose_train
from tests.e2e.test_camera_pretrain import SMALL as CAMERA_SMALL
from tests.e2e.test_sft import SMALL, run_cli

pytestmark = pytest.mark.slow

TWO_CPU_RANKS = ["trainer.accelerator=cpu", "trainer.devices=2", "logger=csv"]
FSDP = ["trainer=fsdp", "trainer.strategy._target_=tests.cpu_fsdp.CPUFSDPStrategy", *TWO_CPU_RANKS]
# trainer=fsdp clips nothing (Lightning's FSDP precision refuses norm clipping), so neither does DDP here.
DDP = ["trainer=ddp", "trainer.gradient_clip_val=null", *TWO_CPU_RANKS]
# The towers frozen as after grounding: the camera checkpoint these jobs start from had none, so the
# tiny profile would freeze nothing.
FROZEN_TOWERS = "stage.frozen=[visual,audio_tower]"


def rows_by_id(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines())}


def run_both(root: Path, camera_backbone: Path, *extra: str, precision: str = "32-true") -> dict[str, Path]:
    """The same SFT job (thinker + camera encoder, every condition kind) under each strategy."""
    folders = {}
    for name, strategy in (("fsdp", FSDP), ("ddp", DDP)):
        folders[name] = root / name
        args = [*SMALL, f"stage.init_checkpoint={camera_backbone}", *strategy, f"trainer.precision={precision}", *extra, f"hydra.run.dir={folders[name]}"]
        done = run_cli(args, root)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return folders


@pytest.fixture(scope="module")
def runs(tmp_path_factory, camera_backbone) -> dict[str, Path]:
    # 3 held-out rows on 2 ranks: the DistributedSampler repeats one to even the shares out
    return run_both(tmp_path_factory.mktemp("strategies"), camera_backbone, "stage.eval.limit=3", FROZEN_TOWERS)


def test_fsdp_trains_and_exports_the_model_ddp_trains(runs, camera_backbone):
    trained = {name: load_backbone(folder / "checkpoint")[0].state_dict() for name, folder in runs.items()}
    start = load_backbone(camera_backbone)[0].state_dict()
    assert trained["fsdp"].keys() == trained["ddp"].keys() == start.keys()
    moved = {key for key in start if not torch.equal(trained["fsdp"][key], start[key])}
    # the frozen parts stay as the start had them; the export holds trained weights everywhere else
    parts = set(OmegaConf.load(runs["fsdp"] / "checkpoint" / RUN_CONFIG_FILE).stage.frozen)
    frozen = {key for key in start if parts & set(key.split("."))}
    assert frozen and moved == set(start) - frozen
    for key, value in trained["ddp"].items():
        torch.testing.assert_close(trained["fsdp"][key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_fsdp_decodes_what_ddp_decodes(runs):
    """The held-out test loops (sharded weights gathered around the decode steps under FSDP) give the
    outputs of whole models, and the caption metrics score those outputs (rank 0)."""
    for name in ("eval_samples_before.jsonl", "eval_samples.jsonl"):
        fsdp, ddp = rows_by_id(runs["fsdp"] / name), rows_by_id(runs["ddp"] / name)
        assert len(fsdp) == 3 and fsdp.keys() == ddp.keys(), name  # both ranks' rows, the repeat once
        for sample_id, row in fsdp.items():
            assert row["output"] == ddp[sample_id]["output"], (name, sample_id)
    metrics = {name: json.loads((folder / "metrics.json").read_text()) for name, folder in runs.items()}
    outputs = list(rows_by_id(runs["fsdp"] / "eval_samples.jsonl").values())
    assert {"elements", "found", "quality"} <= set(outputs[0])  # the caption scores of the decoded rows
    assert metrics["fsdp"]["eval/format_rate"] == pytest.approx(sum(row["format_ok"] for row in outputs) / 3)
    for key in ("eval/format_rate", "eval/format_rate_before", "eval/acc_dense", "eval/quality_dense"):
        assert metrics["fsdp"][key] == pytest.approx(metrics["ddp"][key]), key


BF16_AGREEING_WORDS = 2


def test_fsdp_mixed_precision_decodes_what_ddp_decodes(camera_backbone, tmp_path):
    """bf16-mixed, the GPU setting: FSDP gathers full-precision layers around the decode steps and runs
    them under autocast in the prefill's bf16; DDP autocasts its fp32 model. The untrained model's
    outputs begin alike (after training the two differ by FSDP's bf16 gradient reduction). Its logits
    are near ties, so a token may flip under bf16's other summation order, and the rest of that row
    with it: the first words are compared, and one row of the four may differ (with the tiny
    backbone's empty system turn, one row's very first token flipped). The fp32 test above compares
    whole outputs, every row."""
    runs = run_both(tmp_path, camera_backbone, "stage.max_steps=1", precision="bf16-mixed")
    fsdp, ddp = (rows_by_id(runs[name] / "eval_samples_before.jsonl") for name in ("fsdp", "ddp"))

    def opening(output: str) -> list[str]:
        return output.split()[:BF16_AGREEING_WORDS]

    assert fsdp.keys() == ddp.keys() and len(fsdp) > 2
    agreeing = [i for i, row in fsdp.items() if opening(row["output"]) == opening(ddp[i]["output"])]
    assert len(agreeing) >= len(fsdp) - 1, {i: (opening(fsdp[i]["output"]), opening(ddp[i]["output"])) for i in fsdp}


def test_fsdp_resumes_from_its_last_checkpoint(runs, camera_backbone, tmp_path):
    """last.ckpt (one file, gathered on rank 0) restarts the FSDP job where it stopped."""
    last = runs["fsdp"] / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 4
    args = [*SMALL, "stage.max_steps=6", f"stage.init_checkpoint={camera_backbone}", *FSDP, "trainer.precision=32-true",
            f"ckpt_path={last}", FROZEN_TOWERS,
            "stage.eval.untrained=false", f"hydra.run.dir={tmp_path / 'resumed'}"]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    resumed = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert resumed["global_step"] == 6


def test_fsdp_camera_pretrain_trains_the_encoder_ddp_trains(tmp_path):
    """The paper's setting: the thinker frozen inside the FSDP units, the camera encoder (in the
    root unit) trained; the exported folder equals DDP's."""
    folders = {}
    for name, strategy in (("fsdp", FSDP), ("ddp", DDP)):
        folders[name] = tmp_path / name
        args = [*CAMERA_SMALL, *strategy, "trainer.precision=32-true", f"hydra.run.dir={folders[name]}"]
        done = run_cli(args, tmp_path)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    (fsdp, _), (ddp, _) = (load_backbone(folder / "checkpoint") for folder in folders.values())
    assert isinstance(fsdp, InterpreterModel)
    ddp_state = ddp.state_dict()
    for key, value in fsdp.state_dict().items():
        torch.testing.assert_close(value, ddp_state[key], rtol=1e-4, atol=1e-6, msg=key)
    trained = json.loads((folders["fsdp"] / "metrics.json").read_text())
    assert "eval/camera_motion_acc" in trained and "eval/camera_motion_acc_before" in trained
    # its last.ckpt leaves the frozen thinker out, and still resumes (the strategy loads it non-strictly)
    resumed = tmp_path / "resumed"
    args = [*CAMERA_SMALL, *FSDP, "trainer.precision=32-true", "stage.max_steps=5", "stage.eval.untrained=false",
            f"ckpt_path={folders['fsdp'] / 'checkpoints' / 'last.ckpt'}", f"hydra.run.dir={resumed}"]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    assert torch.load(resumed / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["global_step"] == 5


@pytest.mark.parametrize("strategy", ["trainer=fsdp", "trainer=deepspeed"])
def test_grpo_refuses_a_sharding_strategy_before_any_work(strategy, tmp_path):
    cfg = compose_train(["stage=grpo", strategy, f"paths.root_dir={tmp_path}"], tmp_path / "out")
    with pytest.raises(ConfigError, match="does not run under .* use trainer=ddp"):
        train(cfg)
    assert not (tmp_path / "out").exists() and not (tmp_path / "data").exists()


def test_lightnings_own_fsdp_strategy_is_refused(tmp_path):
    cfg = compose_train(["stage=sft", "trainer=fsdp", "trainer.strategy._target_=lightning.pytorch.strategies.FSDPStrategy",
                         f"paths.root_dir={tmp_path}"], tmp_path / "out")
    with pytest.raises(ConfigError, match="use trainer=fsdp"):
        train(cfg)


@pytest.mark.gpu
def test_fsdp_on_cuda_exports_and_decodes(camera_backbone, tmp_path):
    """The strategy as a GPU run uses it (no CPU adaptations: state dicts offloaded to the CPU,
    bf16-mixed), on every visible GPU: it trains, tests over every row, scores and exports."""
    assert torch.cuda.is_available(), "the gpu marker needs a CUDA device"
    out = tmp_path / "out"
    args = [*SMALL, f"stage.init_checkpoint={camera_backbone}", "trainer=fsdp", "logger=csv", f"hydra.run.dir={out}"]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "eval/format_rate" in metrics and "eval/acc_dense" in metrics
    assert len(rows_by_id(out / "eval_samples.jsonl")) == 4
    exported, _ = load_backbone(out / "checkpoint")
    assert isinstance(exported, InterpreterModel)
