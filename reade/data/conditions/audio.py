"""Audio: 16-bit PCM WAV read with the stdlib, mixed to mono, so no audio library is needed."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np

from reade.data.conditions.errors import ConditionError, require_file

_PCM16_SCALE = 32768.0


class AudioClip(NamedTuple):
    """A named tuple so it also unpacks as the (waveform, sample_rate) pair audio processors take."""

    waveform: np.ndarray  # float32 [N], mono, in [-1, 1]
    sample_rate: int


def read_audio(path: Path) -> AudioClip:
    require_file(path)
    try:
        with wave.open(str(path), "rb") as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate, count = reader.getframerate(), reader.getnframes()
            payload = reader.readframes(count)
    except (wave.Error, EOFError) as error:
        raise ConditionError(path, f"not a readable PCM WAV file ({error})") from None
    if width != 2:
        raise ConditionError(path, f"expected 16-bit PCM, got {8 * width}-bit samples")
    if rate <= 0:
        raise ConditionError(path, f"sample rate must be positive, got {rate}")
    usable = len(payload) // (2 * channels)
    if usable == 0:
        raise ConditionError(path, "audio has no samples")
    if usable < count:
        raise ConditionError(path, f"truncated: header promises {count} frames, file holds {usable}")
    samples = np.frombuffer(payload[: usable * 2 * channels], dtype="<i2").reshape(usable, channels)
    waveform = samples.astype(np.float32).mean(axis=1) / _PCM16_SCALE
    return AudioClip(waveform=waveform.astype(np.float32), sample_rate=rate)


def write_audio(path: Path, clip: AudioClip) -> None:
    """Mono 16-bit PCM; values outside [-1, 1] are clipped rather than wrapped."""
    if clip.waveform.ndim != 1 or clip.waveform.size == 0:
        raise ValueError(f"waveform must be a non-empty 1-D array, got shape {clip.waveform.shape}")
    pcm = np.round(np.clip(clip.waveform, -1.0, 1.0) * (_PCM16_SCALE - 1)).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(clip.sample_rate)
        writer.writeframes(pcm.tobytes())
