"""Ambience audio: a few seconds of synthesised sound whose character identifies the ambience
(broadband hiss for rain, chirps for birds, a chord for music, a low buzz for an engine...)."""

from __future__ import annotations

import numpy as np

from reade.data.conditions.audio import AudioClip

SAMPLE_RATE = 16_000
PEAK = 0.8


def ambience_audio(ambience: str, seconds: float, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> AudioClip:
    t = np.arange(max(1, round(seconds * rate))) / rate
    noise = rng.standard_normal(t.size)
    if ambience == "rain":
        drops = (rng.random(t.size) < 0.002) * rng.uniform(0.5, 1.0, t.size)
        wave = 0.3 * noise + _smooth(drops, 8) * 4
    elif ambience == "birds":
        wave = 0.02 * noise
        for start in rng.uniform(0, max(seconds - 0.1, 0.01), size=max(1, round(4 * seconds))):
            chirp = (t >= start) & (t < start + 0.08)
            local = t[chirp] - start
            wave[chirp] += np.sin(2 * np.pi * (3000 * local + 9000 * local**2)) * np.hanning(local.size)
    elif ambience == "waves":
        wave = _smooth(noise, 40) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    elif ambience == "music":
        chord = sum(np.sin(2 * np.pi * f * t) for f in (440.0, 554.37, 659.25))
        wave = chord * (0.5 + 0.5 * (np.sin(2 * np.pi * 2 * t) > 0))
    elif ambience == "engine":
        saw = 2 * ((90 * t) % 1.0) - 1
        wave = (saw + 0.3 * np.sin(2 * np.pi * 180 * t)) * (0.8 + 0.2 * np.sin(2 * np.pi * 8 * t))
    elif ambience == "wind":
        wave = _smooth(noise, 200) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, np.pi)))
    else:
        raise ValueError(f"no sound for ambience {ambience!r}")
    peak = float(np.abs(wave).max())
    return AudioClip(waveform=(wave * (PEAK / peak if peak > 0 else 0.0)).astype(np.float32), sample_rate=rate)


def _smooth(signal: np.ndarray, width: int) -> np.ndarray:
    """Moving average: a cheap low-pass that turns white noise into rumble."""
    return np.convolve(signal, np.ones(width) / width, mode="same")
