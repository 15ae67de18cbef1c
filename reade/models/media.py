"""Numpy/PIL preprocessing for frame sequences and waveforms.

transformers' Qwen2-VL video processor needs torchvision, which cannot sit beside the CPU build of
torch here, so depth and pose sequences are resized, normalised and patchified here into the exact
flattened layout the thinker's vision tower reads (the same layout as its image processor, which a
test checks). Audio only needs resampling before Whisper's feature extractor.
"""

from __future__ import annotations

import numpy as np
from einops import rearrange
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize


def sample_frames(frames: np.ndarray, max_frames: int) -> np.ndarray:
    """Evenly spaced frames, first and last included, so a long sequence keeps its whole time span."""
    num_frames = frames.shape[0]
    if num_frames <= max_frames:
        return frames
    index = np.round(np.linspace(0, num_frames - 1, max_frames)).astype(np.int64)
    return frames[index]


def video_patches(
    frames: np.ndarray,
    *,
    patch_size: int,
    temporal_patch_size: int,
    merge_size: int,
    min_pixels: int,
    max_pixels: int,
    max_frames: int,
    fps: float,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
) -> tuple[np.ndarray, tuple[int, int, int], float]:
    """uint8 frames [T, H, W, 3] at `fps` -> (patches [N, 3*tp*p*p], grid (t, h, w), seconds per temporal grid).

    Frames are resized like Qwen2-VL images (aspect kept, sides a multiple of patch*merge, area
    within [min_pixels, max_pixels]) with PIL bicubic, scaled to [0, 1], normalised, and padded to a
    multiple of `temporal_patch_size` by repeating the last frame, as Qwen2-VL's video processor does.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    if frames.shape[0] == 0:
        raise ValueError("a frame sequence needs at least one frame")
    num_input = frames.shape[0]
    frames = sample_frames(frames, max_frames)
    # Subsampling stretches the time between kept frames; the rope time axis must see real seconds.
    effective_fps = fps * frames.shape[0] / num_input
    height, width = smart_resize(
        frames.shape[1], frames.shape[2], factor=patch_size * merge_size, min_pixels=min_pixels, max_pixels=max_pixels
    )
    resized = np.stack(
        [np.asarray(Image.fromarray(f).resize((width, height), Image.Resampling.BICUBIC)) for f in frames]
    )  # [T, h, w, 3]
    pixels = (resized.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    if pad := -pixels.shape[0] % temporal_patch_size:
        pixels = np.concatenate([pixels, np.repeat(pixels[-1:], pad, axis=0)])
    patches = rearrange(
        pixels,
        "(gt tp) (gh mh ph) (gw mw pw) c -> (gt gh gw mh mw) (c tp ph pw)",
        tp=temporal_patch_size,
        mh=merge_size,
        mw=merge_size,
        ph=patch_size,
        pw=patch_size,
    )  # [N, 3*tp*p*p]
    grid = (pixels.shape[0] // temporal_patch_size, height // patch_size, width // patch_size)
    return np.ascontiguousarray(patches), grid, temporal_patch_size / effective_fps


def resample(waveform: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Linear interpolation to `target_rate`.

    No anti-alias filter: enough for conditioning audio (the mel features stop at 8 kHz), and it keeps
    scipy/torchaudio out of the dependencies.
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim == 2:  # [N, channels], the soundfile layout
        waveform = waveform.mean(axis=1)
    if waveform.ndim != 1:
        raise ValueError(f"audio must be a mono [N] or [N, channels] waveform, got shape {list(waveform.shape)}")
    if rate == target_rate:
        return waveform
    duration = waveform.shape[0] / rate
    target_times = np.arange(int(round(duration * target_rate))) / target_rate
    return np.interp(target_times, np.arange(waveform.shape[0]) / rate, waveform).astype(np.float32)
