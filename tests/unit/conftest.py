"""Unit-test fixtures: one tiny thinker per test session, built offline like `backbone=tiny` does, and small
condition payloads; for the decode-loop and log-prob tests (models/, rl/), the thinker loaded, its language model
exported as a Qwen2 causal LM (the benchmark's model), and an interpreter with a camera encoder and a LoRA adapter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers.utils import logging as hf_logging

from reade.models.backbone import load_backbone
from reade.models.tiny import TinyDims, materialize_tiny
from reade.rl.rollout.vllm import export_language_model

hf_logging.disable_progress_bar()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return materialize_tiny(tmp_path_factory.mktemp("tiny-cache"), TinyDims(), seed=0)


@pytest.fixture(scope="session")
def media() -> dict[str, object]:
    """An identity image, a 5-frame depth/pose sequence and 1.4 s of 22.05 kHz audio (resampled to 16 kHz)."""
    rng = np.random.default_rng(0)
    return {
        "image": rng.integers(0, 256, (64, 80, 3), dtype=np.uint8),
        "frames": rng.integers(0, 256, (5, 60, 60, 3), dtype=np.uint8),
        "audio": ((0.1 * rng.standard_normal(30870)).astype(np.float32), 22050),
    }


TINY_CAMERA = dict(patch_size=2, hidden_size=32, depth=2, num_heads=2, mlp_ratio=2.0, max_frames=16, height=32, width=32)
LORA = {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]}


@pytest.fixture(scope="module")
def thinker(tiny_dir):
    model, processor = load_backbone(tiny_dir)
    return model.eval(), processor


@pytest.fixture(scope="module")
def causal_lm(thinker, tmp_path_factory):
    model, processor = thinker
    folder = export_language_model(model, tmp_path_factory.mktemp("qwen2"), processor.tokenizer)
    lm, lm_processor = load_backbone(folder, kind="causal_lm")
    return lm.eval(), lm_processor


@pytest.fixture(scope="module")
def interpreter_with_lora(tiny_dir):
    torch.manual_seed(0)
    model, processor = load_backbone(tiny_dir, lora=LORA, camera_encoder=TINY_CAMERA)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:  # LoRA starts at B = 0; a trained adapter does not
                parameter.normal_(0.0, 0.05)
    return model.eval(), processor
