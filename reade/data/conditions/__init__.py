"""Readers for the five non-textual condition kinds; each validates and names the file on failure.

Each kind's module owns its file format (reader and writer side by side), so the synthetic
generator and every loader agree on it by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reade.data.conditions.audio import AudioClip, read_audio, write_audio
from reade.data.conditions.camera import CameraTrajectory, read_camera, write_camera
from reade.data.conditions.depth import depth_frames, read_depth, write_depth
from reade.data.conditions.errors import ConditionError
from reade.data.conditions.identity import read_identity, write_identity
from reade.data.conditions.pose import PoseSequence, pose_frames, read_pose, write_pose
from reade.schema import CONDITION_KINDS

__all__ = [
    "AudioClip",
    "CameraTrajectory",
    "ConditionError",
    "PoseSequence",
    "VIDEO_KINDS",
    "condition_frames",
    "condition_payload",
    "read_condition",
    "write_audio",
    "write_camera",
    "write_depth",
    "write_identity",
    "write_pose",
]

_READERS: dict[str, Callable[[Path], Any]] = {
    "identity": read_identity,
    "depth": read_depth,
    "pose": read_pose,
    "camera": read_camera,
    "audio": read_audio,
}

# Kinds that reach the model as a video through the thinker's vision tower.
VIDEO_KINDS = ("depth", "pose")


def read_condition(kind: str, path: Path) -> np.ndarray | PoseSequence | CameraTrajectory | AudioClip:
    """identity: uint8 [H, W, 3]; depth: float32 [T, H, W]; pose: PoseSequence;
    camera: CameraTrajectory; audio: AudioClip."""
    if kind not in _READERS:
        raise ValueError(f"unknown condition kind {kind!r}; expected one of {list(CONDITION_KINDS)}")
    return _READERS[kind](Path(path))


def condition_frames(kind: str, loaded: np.ndarray | PoseSequence) -> np.ndarray:
    """uint8 [T, H, W, 3] video frames for the kinds in VIDEO_KINDS."""
    if kind == "depth":
        return depth_frames(loaded)
    if kind == "pose":
        return pose_frames(loaded)
    raise ValueError(f"condition kind {kind!r} does not reach the model as video; video kinds are {list(VIDEO_KINDS)}")


def condition_payload(kind: str, loaded: Any) -> Any:
    """What the interpreter's processor takes for one condition: the image, the video frames,
    the (waveform, sample_rate) clip, or the CameraTrajectory (for the camera encoder)."""
    if kind in VIDEO_KINDS:
        return condition_frames(kind, loaded)
    if kind in ("identity", "audio", "camera"):
        return loaded
    raise ValueError(f"condition kind {kind!r} has no interpreter input yet; it needs its own encoder")
