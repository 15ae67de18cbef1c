"""The backbone config node → model (or the processor alone): the LoRA switch, and configs that cannot run."""

from __future__ import annotations

import pytest

from reade.errors import ConfigError
from reade.models.from_config import backbone_from_config, processor_from_config
from tests.conftest import compose_train


def test_lora_switch_leaves_only_adapters_trainable(tmp_path):
    cfg = compose_train(["backbone.lora.enabled=true", "backbone.lora.r=4", "condition=depth", f"paths.root_dir={tmp_path}"],
                        tmp_path)
    model, _ = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert any("q_proj.lora_A" in name for name in trainable)


@pytest.mark.parametrize("load", [backbone_from_config, processor_from_config])
def test_text_only_backbone_rejects_conditions(tmp_path, load):
    cfg = compose_train(["backbone=qwen2_5_instruct"], tmp_path)
    with pytest.raises(ConfigError, match="condition=text"):
        load(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))


@pytest.mark.parametrize("load", [backbone_from_config, processor_from_config])
def test_camera_conditions_need_a_camera_encoder(tmp_path, load):
    cfg = compose_train(["condition=camera", f"paths.root_dir={tmp_path}"], tmp_path)
    with pytest.raises(ConfigError, match="has no camera encoder: start from a stage=camera_pretrain run"):
        load(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))


def test_camera_pretraining_counts_with_the_camera_layout_it_trains(tmp_path):
    cfg = compose_train(["stage=camera_pretrain", f"paths.root_dir={tmp_path}"], tmp_path)
    processor = processor_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))
    _, loaded = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))
    assert processor.camera is not None and processor.camera == loaded.camera


def test_a_backbone_needs_a_path_or_tiny_dims(tmp_path):
    cfg = compose_train(["backbone=qwen2_5_omni_7b", "backbone.name_or_path=null"], tmp_path)
    with pytest.raises(ConfigError, match="name_or_path"):
        backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds))
