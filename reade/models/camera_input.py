"""How a camera trajectory becomes the camera encoder's input: the frame budget and render size.

`camera_maps` turns a trajectory of any length into packed Plücker maps `[T', 96, H/4, W/4]`:

1. Poses are made relative to the first camera (its w2c becomes [I | 0]), as CameraCtrl does and
   as `reade.data.conditions.camera_motion` reads a trajectory: a clip's world frame (SfM's, or
   wherever a synthetic path starts) says nothing about how the camera moves.
2. More than `max_frames` frames are subsampled evenly, first and last kept (the net motion is
   unchanged); fewer are used as they are (at least two, the reader's minimum).
3. Rays through every pixel of a `height` x `width` frame (normalised intrinsics, so any clip
   renders at any size), packed 4 x 4 into 96 channels (`pack_plucker`).

The processor counts `<|camera_pad|>` tokens from the same three numbers (`num_tokens`), before
any map is built. Defaults are the paper-sized encoder's: CameraCtrl's 16 frames at 256 x 384,
which is 3 x 2 merged patches of 128 px a frame pair, 48 tokens a trajectory. Saved beside the
encoder (`camera_input.json`) so a checkpoint always reloads with the sizes it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from reade.data.conditions.camera import MIN_FRAMES, CameraTrajectory
from reade.data.conditions.plucker import pack_plucker, plucker_rays
from reade.models.camera_encoder import CameraEncoderConfig, num_camera_tokens
from reade.utils.io import read_settings, write_settings

INPUT_FILE = "camera_input.json"


@dataclass(frozen=True)
class CameraInputSettings:
    """Frame budget and render size (pixels) of the Plücker maps; height and width must be
    multiples of the encoder's `frame_multiple` (16 for `CameraEncoderConfig.tiny()`, 128 for the paper's)."""

    max_frames: int = 16
    height: int = 256
    width: int = 384

    def __post_init__(self):
        if self.max_frames < MIN_FRAMES:
            raise ValueError(f"camera max_frames must be at least {MIN_FRAMES}, got {self.max_frames}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"camera render size must be positive, got {self.height}x{self.width}")

    def check(self, config: CameraEncoderConfig) -> None:
        """Raise unless frames of this size tile the encoder's patch grid."""
        side = config.frame_multiple
        if self.height % side or self.width % side:
            raise ValueError(
                f"camera render size {self.height}x{self.width} is not a multiple of the encoder's "
                f"frame_multiple {side} (pack factor x patch_size x merge_size)"
            )

    def num_frames(self, frames: int) -> int:
        return min(frames, self.max_frames)

    def num_tokens(self, config: CameraEncoderConfig, frames: int) -> int:
        """`<|camera_pad|>` tokens for a trajectory of `frames` frames (before subsampling)."""
        return num_camera_tokens(config, self.num_frames(frames), self.height, self.width)

    def save(self, folder: str | Path) -> None:
        write_settings(self, Path(folder) / INPUT_FILE)

    @classmethod
    def load(cls, file: str | Path) -> CameraInputSettings:
        return cls(**read_settings(file, cls))


def frame_indices(frames: int, max_frames: int) -> np.ndarray:
    """Evenly spaced indices of at most `max_frames` frames, always the first and the last."""
    if frames <= max_frames:
        return np.arange(frames)
    return np.round(np.linspace(0, frames - 1, max_frames)).astype(int)


def relative_to_first(w2c: np.ndarray) -> np.ndarray:
    """[T, 3, 4] world-to-camera matrices re-expressed in the first camera's frame (its own becomes [I | 0])."""
    w2c = w2c.astype(np.float64)
    first_c2w = np.eye(4)
    first_c2w[:3, :3] = w2c[0, :, :3].T
    first_c2w[:3, 3] = -w2c[0, :, :3].T @ w2c[0, :, 3]
    full = np.concatenate([w2c, np.broadcast_to([[[0.0, 0.0, 0.0, 1.0]]], (len(w2c), 1, 4))], axis=1)  # [T, 4, 4]
    return (full @ first_c2w)[:, :3, :]


def camera_maps(trajectory: CameraTrajectory, settings: CameraInputSettings, pack_factor: int) -> Tensor:
    """[T', 6 * pack_factor**2, height / pack_factor, width / pack_factor] float32 packed Plücker maps."""
    keep = frame_indices(len(trajectory.w2c), settings.max_frames)
    w2c = relative_to_first(trajectory.w2c)[keep].astype(np.float32)  # composed in float64, rays in float32
    intrinsics = trajectory.intrinsics[keep].astype(np.float32)
    rays = plucker_rays(torch.from_numpy(intrinsics), torch.from_numpy(w2c), settings.height, settings.width)
    return pack_plucker(rays, pack_factor).contiguous()  # [T', 96, h, w]
