"""stage=camera_pretrain without training: its config, its data checks and its frozen backbone."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reade.config import check_known_keys
from reade.config.camera_pretrain import CameraDataConfig, CameraPretrainSettings
from reade.config.data import DataConfig
from reade.data.camera_captions import synthesize_camera
from reade.errors import ConfigError, DataError
from reade.lit.camera_pretrain import CameraPretrainDataModule, CameraPretrainModule
from reade.models.backbone import load_backbone
from tests.conftest import compose_train
from tests.unit.models.test_interpreter import TINY_CAMERA


@pytest.fixture(scope="module")
def camera_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("camera") / "data"
    synthesize_camera(out, n_train=24, n_val=0, n_test=8, seed=0)
    return out


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> CameraPretrainSettings:
    """The paper's setting (a frozen backbone) on the tiny profile's sizes, small batches."""
    overrides = ["stage=camera_pretrain", "stage.train_backbone=false", "stage.batch_size=4", "stage.eval.limit=0",
                 "stage.eval.batch_size=4", "stage.eval.max_new_tokens=8"]
    return OmegaConf.to_object(compose_train(overrides, tmp_path_factory.mktemp("run")).stage)


def datamodule(settings: CameraPretrainSettings, folder: Path, on_error: str = "raise") -> CameraPretrainDataModule:
    splits = CameraDataConfig(train_file=str(folder / "train.jsonl"), test_file=str(folder / "test.jsonl"), synthesize=None)
    return CameraPretrainDataModule(settings=replace(settings, data=splits),
                                    data=DataConfig(name="test", train_file="", on_error=on_error))


def test_tiny_profile_and_paper_recipe_compose(tmp_path):
    cfg = compose_train(["stage=camera_pretrain"], tmp_path)
    check_known_keys(cfg)
    encoder = OmegaConf.to_container(cfg.backbone.camera_encoder, resolve=True)
    assert encoder == OmegaConf.to_container(cfg.stage.camera_encoder, resolve=True)
    assert (encoder["patch_size"], encoder["hidden_size"], encoder["height"]) == (2, 32, 32)
    assert cfg.stage.data.train_file.endswith("camera/seed0-n4096/train.jsonl")
    paper = compose_train(["stage=camera_pretrain", "backbone=qwen2_5_omni_7b", "trainer=gpu"], tmp_path).stage
    assert (paper.camera_encoder.patch_size, paper.camera_encoder.depth, paper.camera_encoder.num_heads) == (16, 8, 8)
    assert (paper.camera_encoder.in_channels, paper.camera_encoder.hidden_size) == (96, 1280)
    assert compose_train(["stage=sft"], tmp_path).backbone.camera_encoder is None


def test_targets_and_gold_come_from_the_describer(settings, camera_dir):
    dm = datamodule(settings, camera_dir)
    dm.load()
    meta = {json.loads(line)["id"]: json.loads(line)["meta"] for line in (camera_dir / "train.jsonl").read_text().splitlines()}
    for row in dm.splits["train"]:
        assert row["target"] == meta[row["id"]]["camera_caption"]
        assert row["motions"] == meta[row["id"]]["camera_motions"]
    summary = dm.data_summary()
    assert summary["data/train_rows"] == 24 and 0.0 <= summary["data/test_majority_motion_acc"] <= 1.0


def test_a_bad_camera_file_is_named(settings, camera_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(camera_dir, broken)
    row = json.loads((broken / "train.jsonl").read_text().splitlines()[2])
    camera = broken / row["conditions"][0]["path"]
    camera.write_text(camera.read_text().replace(camera.read_text().split()[5], "nan", 1))
    with pytest.raises(DataError) as error:
        datamodule(settings, broken).load()
    assert f"{broken / 'train.jsonl'}:3: conditions[0].path" in str(error.value)
    assert str(camera.name) in str(error.value) and "NaN" in str(error.value)
    dm = datamodule(settings, broken, on_error="skip")
    dm.load()
    assert dm.data_summary()["data/train_skipped"] == 1


def test_a_row_needs_exactly_one_camera(settings, camera_dir, tmp_path):
    folder = tmp_path / "two"
    shutil.copytree(camera_dir, folder)
    lines = (folder / "train.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["conditions"] = row["conditions"] * 2
    (folder / "train.jsonl").write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(DataError, match=r"sample train-000000: .* exactly one condition"):
        datamodule(settings, folder).load()


@pytest.fixture(scope="module")
def module(tiny_dir, settings):
    model, processor = load_backbone(tiny_dir, camera_encoder=TINY_CAMERA)
    return CameraPretrainModule(model, processor, settings=settings)


def test_the_backbone_is_frozen_and_the_encoder_trains(module):
    assert not any(p.requires_grad for p in module.model.thinker.parameters())
    assert all(p.requires_grad for p in module.model.camera_encoder.parameters())
    assert not module.model.thinker.training
    module.on_fit_start()  # the check a run makes before its first step
    next(module.model.thinker.parameters()).requires_grad_(True)
    try:
        with pytest.raises(RuntimeError, match="backbone parameters would train"):
            module.on_fit_start()
    finally:
        next(module.model.thinker.parameters()).requires_grad_(False)


def test_lightning_checkpoints_leave_the_frozen_backbone_out(module):
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    assert checkpoint["state_dict"] and all(k.startswith("model.camera_encoder.") for k in checkpoint["state_dict"])
    module.on_load_checkpoint(checkpoint)
    checkpoint["state_dict"].popitem()
    with pytest.raises(DataError, match="no camera encoder weights"):
        module.on_load_checkpoint(checkpoint)


def test_a_backbone_without_camera_encoder_is_refused(tiny_dir, settings):
    model, processor = load_backbone(tiny_dir)
    with pytest.raises(ConfigError, match="needs a backbone with a camera encoder"):
        CameraPretrainModule(model, processor, settings=settings)


def test_summary_prints_both_figures(module):
    metrics = {"eval/camera_motion_acc": 0.5, "eval/camera_motion_acc_single": 0.75,
               "eval/camera_motion_acc_before": 0.0, "eval/camera_motion_acc_single_before": 0.0}
    (line,) = module.summary_lines(metrics)
    assert "trained 0.500 (single motions 0.750), untrained 0.000 (single motions 0.000)" in line
    assert module.summary_lines({}) == []
