"""stage=camera_pretrain end to end on the tiny backbone: a few real steps, the frozen backbone is
bit-identical afterwards (the paper's setting), the exported folder holds thinker + camera encoder,
a run resumes, and the tiny profile's `train_backbone` trains and checkpoints the thinker too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reade.models.backbone import load_backbone
from reade.models.camera_encoder import WEIGHTS_FILE
from reade.models.from_config import backbone_path
from reade.models.interpreter import InterpreterModel
from reade.train import train
from tests.conftest import SMALL_CAMERA_PRETRAIN as SMALL
from tests.conftest import compose_train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("camera_run")
    out = root / "out"
    cfg = compose_train([*SMALL, f"paths.root_dir={root}"], out)
    return cfg, out, train(cfg)


def test_metrics_and_artifacts(finished_run):
    cfg, out, metrics = finished_run
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for key in (cfg.stage.optimized_metric, "eval/camera_motion_acc_before", "eval/camera_motion_acc_single",
                "eval/camera_motion_acc_single_before", "train/loss", "val/loss", "data/train_rows",
                "data/test_majority_motion_acc"):
        assert key in metrics, key
    assert metrics["eval/camera_motion_acc_ci_low"] <= metrics["eval/camera_motion_acc"] <= metrics["eval/camera_motion_acc_ci_high"]
    assert metrics["data/train_rows"] == 24 and torch.isfinite(torch.tensor(metrics["train/loss"]))
    rows = [json.loads(line) for line in (out / "eval_samples.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {"output", "gold", "correct"} <= set(rows[0])
    assert "name: camera_pretrain" in (out / "checkpoint" / "reade_config.yaml").read_text()
    assert not Path(cfg.data.train_file).parent.exists()  # the SFT data is not written: this stage does not read it


def test_backbone_is_bit_identical_and_the_encoder_is_exported(finished_run):
    cfg, out, _ = finished_run
    start = load_file(f"{backbone_path(cfg.backbone, cfg.paths.cache_dir)}/model.safetensors")
    exported = load_file(str(out / "checkpoint" / "model.safetensors"))
    assert start.keys() == exported.keys()
    assert all(torch.equal(start[k], exported[k]) for k in start)
    encoder = load_file(str(out / "checkpoint" / WEIGHTS_FILE))
    lightning = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")["state_dict"]
    assert set(lightning) == {f"model.camera_encoder.{k}" for k in encoder}  # no frozen backbone in it
    assert all(torch.equal(encoder[k], lightning[f"model.camera_encoder.{k}"]) for k in encoder)


def test_exported_folder_loads_as_the_interpreter(finished_run):
    _, out, _ = finished_run
    model, processor = load_backbone(out / "checkpoint")
    assert isinstance(model, InterpreterModel) and processor.camera is not None


def test_resume_from_last_checkpoint(finished_run, tmp_path):
    _, out, _ = finished_run
    cfg = compose_train([*SMALL, f"paths.root_dir={out.parent}", f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
                         "stage.max_steps=5", "stage.eval.untrained=false"], tmp_path)
    metrics = train(cfg)
    assert "eval/camera_motion_acc_before" not in metrics and "eval/camera_motion_acc" in metrics
    resumed = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert resumed["global_step"] == 5


def test_train_backbone_trains_and_checkpoints_the_thinker(tmp_path):
    cfg = compose_train([*SMALL, "stage.train_backbone=true", "stage.eval.untrained=false", f"paths.root_dir={tmp_path}"],
                        tmp_path / "out")
    train(cfg)
    start = load_file(f"{backbone_path(cfg.backbone, cfg.paths.cache_dir)}/model.safetensors")
    exported = load_file(str(tmp_path / "out" / "checkpoint" / "model.safetensors"))
    assert any(not torch.equal(start[k], exported[k]) for k in start)
    lightning = torch.load(tmp_path / "out" / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert any(k.startswith("model.thinker.") for k in lightning["state_dict"])
