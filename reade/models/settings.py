"""How conditions become tensors, saved beside the model so a checkpoint always reloads with its own sizes.

The tiny model's sizes are small (56 px frames, a few seconds of audio); a real Qwen2.5-Omni
checkpoint without our settings file gets Qwen's own defaults, read from its preprocessor config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from reade.models.prompt import SYSTEM_PROMPT
from reade.models.tokenizer import reserved_problem
from reade.utils.io import read_settings, write_settings

SETTINGS_FILE = "reade_processor.json"

# Qwen2.5-Omni's video defaults: not in its preprocessor_config.json but in Qwen2_5OmniProcessor
# (videos_kwargs size, fps hard-coded to 2.0) and qwen-omni-utils (768 frames at most).
QWEN_VIDEO_MIN_PIXELS = 128 * 28 * 28
QWEN_VIDEO_MAX_PIXELS = 768 * 28 * 28
QWEN_VIDEO_FPS = 2.0
QWEN_MAX_FRAMES = 768


@dataclass(frozen=True)
class ProcessorSettings:
    """`video_fps` is the frame rate that depth/pose frame arrays are assumed to have (they carry none)."""

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    image_min_pixels: int = 56 * 56
    image_max_pixels: int = 56 * 56
    video_min_pixels: int = 56 * 56
    video_max_pixels: int = 56 * 56
    max_frames: int = 8
    video_fps: float = 2.0
    max_audio_seconds: float = 4.0
    sampling_rate: int = 16000
    num_mel_bins: int = 128
    hop_length: int = 160
    n_fft: int = 400
    image_mean: tuple[float, float, float] = tuple(OPENAI_CLIP_MEAN)
    image_std: tuple[float, float, float] = tuple(OPENAI_CLIP_STD)
    text_only: bool = False
    # The system turn of every prompt. A checkpoint keeps the one it was trained with; a constant turn
    # tells a model trained from random weights nothing, so the tiny default leaves it empty
    # (TinyDims.system_prompt) and spends no compute on it.
    system_prompt: str = SYSTEM_PROMPT

    def __post_init__(self):
        if self.max_frames < self.temporal_patch_size:
            raise ValueError(f"max_frames {self.max_frames} < temporal_patch_size {self.temporal_patch_size}")
        if self.max_audio_seconds <= 0:
            raise ValueError(f"max_audio_seconds must be positive, got {self.max_audio_seconds}")
        problem = reserved_problem(self.system_prompt)
        if problem:  # `<|im_end|>` in the system turn would end it early and shift every prompt
            raise ValueError(f"system_prompt {problem}")

    def save(self, folder: str | Path) -> None:
        write_settings(self, Path(folder) / SETTINGS_FILE)

    @classmethod
    def load(cls, file: str | Path) -> ProcessorSettings:
        raw = read_settings(file, cls)
        for key in ("image_mean", "image_std"):
            if key in raw:
                raw[key] = tuple(raw[key])
        return cls(**raw)

    @classmethod
    def from_qwen_preprocessor(cls, config: dict[str, Any]) -> ProcessorSettings:
        """Settings for a real Qwen2.5-Omni folder from its `preprocessor_config.json` (image + Whisper keys)."""
        size = config.get("size") or {}
        n_samples = config.get("n_samples")
        sampling_rate = config.get("sampling_rate", 16000)
        chunk_seconds = config.get("chunk_length") or (n_samples / sampling_rate if n_samples else 300)
        return cls(
            patch_size=config.get("patch_size", 14),
            temporal_patch_size=config.get("temporal_patch_size", 2),
            merge_size=config.get("merge_size", 2),
            image_min_pixels=config.get("min_pixels") or size.get("shortest_edge", 56 * 56),
            image_max_pixels=config.get("max_pixels") or size.get("longest_edge", 28 * 28 * 1280),
            video_min_pixels=QWEN_VIDEO_MIN_PIXELS,
            video_max_pixels=QWEN_VIDEO_MAX_PIXELS,
            max_frames=QWEN_MAX_FRAMES,
            video_fps=QWEN_VIDEO_FPS,
            max_audio_seconds=float(chunk_seconds),
            sampling_rate=sampling_rate,
            num_mel_bins=config.get("feature_size", 128),
            hop_length=config.get("hop_length", 160),
            n_fft=config.get("n_fft", 400),
            image_mean=tuple(config.get("image_mean", OPENAI_CLIP_MEAN)),
            image_std=tuple(config.get("image_std", OPENAI_CLIP_STD)),
        )

    @property
    def audio_chunk_seconds(self) -> int:
        """Whisper's extractor wants whole seconds; clips are cut to `max_audio_seconds` before it anyway."""
        return math.ceil(self.max_audio_seconds)
