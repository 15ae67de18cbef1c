"""Unit-test fixtures: one tiny thinker per test session, built offline like `backbone=tiny` does, and small condition payloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from transformers.utils import logging as hf_logging

from reade.models.tiny import TinyDims, materialize_tiny

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
