"""Plücker ray maps against rays worked out by hand, and the 96-channel packing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reade.data.conditions.camera import CameraTrajectory
from reade.data.conditions.plucker import pack_plucker, plucker_rays, trajectory_plucker
from reade.data.synthetic.trajectory import camera_trajectory

YAW_90 = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]  # camera-to-world: forward +z -> world +x
ROOT_1_125 = math.sqrt(1.125)


def _camera(intrinsics, c2w_rotation, centre):
    """([1, 4], [1, 3, 4]) tensors for one camera given as camera-to-world rotation and centre."""
    rotation = torch.tensor(c2w_rotation, dtype=torch.float32).T  # world-to-camera
    translation = -rotation @ torch.tensor(centre, dtype=torch.float32)
    w2c = torch.cat([rotation, translation[:, None]], dim=1)
    return torch.tensor([intrinsics], dtype=torch.float32), w2c[None]


# (case, intrinsics, c2w rotation, centre, height, width, pixel (row, col), moment, direction)
HAND_RAYS = [
    ("identity, centre pixel", [1, 1, 0.5, 0.5], np.eye(3), [0, 0, 0], 3, 3, (1, 1), [0, 0, 0], [0, 0, 1]),
    # pixel centre (0.5, 0.5), fx = 2 px, cx = 1 px: K^-1 [u, v, 1] = (-0.25, -0.25, 1)
    (
        "translated, top-left pixel", [1, 1, 0.5, 0.5], np.eye(3), [1, 2, 3], 2, 2, (0, 0),
        # (1, 2, 3) x (-0.25, -0.25, 1) = (2 + 0.75, -0.75 - 1, -0.25 + 0.5)
        [2.75 / ROOT_1_125, -1.75 / ROOT_1_125, 0.25 / ROOT_1_125],
        [-0.25 / ROOT_1_125, -0.25 / ROOT_1_125, 1 / ROOT_1_125],
    ),
    # (0, 0, 2) x (1, 0, 0) = (0, 2, 0)
    ("yawed 90, centre pixel", [1, 1, 0.5, 0.5], YAW_90, [0, 0, 2], 3, 3, (1, 1), [0, 2, 0], [1, 0, 0]),
    # fx = 1/3 of width 3 = 1 px, cx = 1.5 px: pixel centre u = 2.5 gives (1, 0, 1), camera x is world -z
    (
        "yawed 90, right pixel", [1 / 3, 1, 0.5, 0.5], YAW_90, [0, 0, 2], 1, 3, (0, 2),
        [0, 2 / math.sqrt(2), 0], [1 / math.sqrt(2), 0, -1 / math.sqrt(2)],
    ),
]


@pytest.mark.parametrize(
    ("intrinsics", "rotation", "centre", "height", "width", "pixel", "moment", "direction"),
    [case[1:] for case in HAND_RAYS],
    ids=[case[0] for case in HAND_RAYS],
)
def test_rays_match_hand_computed_ones(intrinsics, rotation, centre, height, width, pixel, moment, direction):
    rays = plucker_rays(*_camera(intrinsics, rotation, centre), height, width)
    assert rays.shape == (1, 6, height, width)
    row, col = pixel
    torch.testing.assert_close(rays[0, :3, row, col], torch.tensor(moment, dtype=torch.float32))
    torch.testing.assert_close(rays[0, 3:, row, col], torch.tensor(direction, dtype=torch.float32))


@pytest.mark.parametrize("motion", ["static", "pan left", "tilt down", "dolly in", "zoom out", "orbit"])
def test_directions_are_unit_and_orthogonal_to_moments(motion):
    trajectory = camera_trajectory(motion, 5)
    rays = trajectory_plucker(trajectory, 8, 12)
    assert rays.shape == (5, 6, 8, 12) and rays.dtype == torch.float32
    moment, direction = rays[:, :3], rays[:, 3:]
    torch.testing.assert_close(direction.norm(dim=1), torch.ones(5, 8, 12))
    torch.testing.assert_close((moment * direction).sum(dim=1), torch.zeros(5, 8, 12), atol=1e-5, rtol=0)


def test_trajectory_plucker_reads_the_numpy_arrays():
    trajectory = CameraTrajectory(
        intrinsics=np.array([[0.8, 1.2, 0.4, 0.6]] * 2, dtype=np.float32),
        w2c=np.array([np.eye(3, 4), np.eye(3, 4) + np.array([[0, 0, 0, 1.0]] * 3)], dtype=np.float32),
    )
    expected = plucker_rays(torch.from_numpy(trajectory.intrinsics), torch.from_numpy(trajectory.w2c), 4, 6)
    torch.testing.assert_close(trajectory_plucker(trajectory, 4, 6), expected)


@pytest.mark.parametrize(("height", "width", "factor"), [(8, 12, 4), (4, 4, 4), (6, 4, 2), (3, 5, 1)])
def test_pack_matches_an_explicit_loop_and_unpacks(height, width, factor):
    rays = torch.randn(2, 6, height, width, generator=torch.Generator().manual_seed(0))
    packed = pack_plucker(rays, factor)
    expected = torch.empty(2, 6 * factor * factor, height // factor, width // factor)
    for c in range(6):
        for i in range(factor):
            for j in range(factor):
                expected[:, c * factor * factor + i * factor + j] = rays[:, c, i::factor, j::factor]
    torch.testing.assert_close(packed, expected, rtol=0, atol=0)
    torch.testing.assert_close(torch.nn.functional.pixel_unshuffle(rays, factor), packed, rtol=0, atol=0)
    torch.testing.assert_close(torch.nn.functional.pixel_shuffle(packed, factor), rays, rtol=0, atol=0)


def test_default_packing_gives_the_encoders_96_channels():
    rays = trajectory_plucker(camera_trajectory("orbit", 3), 32, 48)
    assert pack_plucker(rays).shape == (3, 96, 8, 12)


@pytest.mark.parametrize(("height", "width"), [(30, 32), (32, 30), (2, 2)])
def test_pack_rejects_sizes_the_factor_does_not_divide(height, width):
    with pytest.raises(ValueError, match=f"height {height} and width {width} must both be divisible by factor 4"):
        pack_plucker(torch.zeros(1, 6, height, width))
