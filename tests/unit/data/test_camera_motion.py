"""The analytic camera describer on constructed trajectories and on every synthetic motion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reade.camera_vocab import SCENE_MOTIONS
from reade.data.conditions.camera import CameraTrajectory
from reade.data.conditions.camera_motion import CameraMotion, describe_camera
from reade.data.synthetic.scene import camera_phrase
from reade.data.synthetic.trajectory import camera_trajectory


def _rotation(yaw=0.0, pitch=0.0, roll=0.0):
    """Camera-to-world, degrees: yaw turns the view right, pitch up, roll the camera's top right."""
    a, b, c = (math.radians(angle) for angle in (yaw, pitch, roll))
    about_y = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    about_x = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    about_z = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return about_y @ about_x @ about_z


def _trajectory(poses, focals=None):
    """CameraTrajectory from (camera-to-world rotation, centre) pairs and per-frame focal lengths."""
    focals = focals if focals is not None else [1.0] * len(poses)
    w2c = np.stack([np.concatenate([r.T, -r.T @ np.asarray(c, float)[:, None]], axis=1) for r, c in poses])
    intrinsics = np.array([[f, f, 0.5, 0.5] for f in focals])
    return CameraTrajectory(intrinsics=intrinsics.astype(np.float32), w2c=w2c.astype(np.float32))


def _linear(frames=9, yaw=0.0, pitch=0.0, roll=0.0, shift=(0, 0, 0), zoom=1.0):
    """Every quantity moves linearly from rest to its final value."""
    progress = np.linspace(0, 1, frames)
    poses = [(_rotation(yaw * p, pitch * p, roll * p), p * np.asarray(shift, float)) for p in progress]
    return _trajectory(poses, [zoom**p for p in progress])


def _orbit(degrees, radius=3.0, end_radius=None, frames=9):
    """Circle a point `radius` ahead, turning `degrees` (positive: view turns right, camera goes left)."""
    end_radius = radius if end_radius is None else end_radius
    target = np.array([0.0, 0.0, radius])
    poses = []
    for p in np.linspace(0, 1, frames):
        rotation = _rotation(yaw=degrees * p)
        poses.append((rotation, target - rotation @ [0, 0, radius + (end_radius - radius) * p]))
    return _trajectory(poses)


SINGLE_MOTIONS = [
    (_linear(yaw=-20), "a slow pan left"),
    (_linear(yaw=60), "a moderate pan right"),
    (_linear(yaw=-100), "a fast pan left"),
    (_linear(pitch=20), "a slow tilt up"),
    (_linear(pitch=-45), "a moderate tilt down"),
    (_linear(roll=20), "a slow roll clockwise"),
    (_linear(roll=-90), "a fast roll counterclockwise"),
    (_linear(shift=(0, 0, 1)), "a slow dolly in"),
    (_linear(shift=(0, 0, -2)), "a moderate dolly out"),
    (_linear(shift=(0, 0, 4)), "a fast dolly in"),
    (_linear(shift=(1, 0, 0)), "a slow truck right"),
    (_linear(shift=(-2, 0, 0)), "a moderate truck left"),
    (_linear(shift=(0, -1, 0)), "a slow pedestal up"),  # y points down
    (_linear(shift=(0, 3.5, 0)), "a fast pedestal down"),
    (_linear(zoom=1.5), "a slow zoom in"),
    (_linear(zoom=1 / 2.5), "a moderate zoom out"),
    (_linear(zoom=4), "a fast zoom in"),
    (_orbit(30), "a slow orbit left"),
    (_orbit(-60), "a moderate orbit right"),
    (_orbit(-120, radius=2), "a fast orbit right"),
]


@pytest.mark.parametrize(("trajectory", "text"), SINGLE_MOTIONS, ids=[text for _, text in SINGLE_MOTIONS])
def test_single_motions(trajectory, text):
    assert describe_camera(trajectory).text == text


COMBINATIONS = [
    (_linear(yaw=-20, pitch=15), ("pan left", "tilt up"), "a slow pan left and tilt up"),
    (_linear(yaw=20, shift=(0, 0, 4)), ("pan right", "dolly in"), "a slow pan right and a fast dolly in"),
    (
        _linear(pitch=-20, shift=(0, -1, 0), zoom=1.5),
        ("tilt down", "pedestal up", "zoom in"),
        "a slow tilt down, pedestal up and zoom in",
    ),
    # Turning toward the side the camera moves to: the optical axes part, nothing stays centred.
    (_linear(yaw=20, shift=(1, 0, 0)), ("pan right", "truck right"), "a slow pan right and truck right"),
    (_orbit(30, radius=3, end_radius=2), ("orbit left", "dolly in"), "a slow orbit left and dolly in"),
    (_linear(yaw=30, pitch=50, roll=10), ("pan right", "tilt up", "roll clockwise"),
     "a slow pan right, a moderate tilt up and a slow roll clockwise"),
]


@pytest.mark.parametrize(("trajectory", "names", "text"), COMBINATIONS, ids=[text for *_, text in COMBINATIONS])
def test_combinations(trajectory, names, text):
    description = describe_camera(trajectory)
    assert (description.names, description.text) == (names, text)


def test_truck_then_turn_is_not_an_orbit():
    """Same first and last frames as an orbit-like arc, but the point ahead leaves the centre on the way."""
    trajectory = _trajectory([(_rotation(), [0, 0, 0]), (_rotation(), [1, 0, 0]), (_rotation(yaw=-20), [1, 0, 0])])
    assert describe_camera(trajectory).names == ("pan left", "truck right")


@pytest.mark.parametrize("seed", range(5))
def test_static_with_numeric_noise_stays_static(seed):
    rng = np.random.default_rng(seed)
    still = _linear(frames=16)
    noisy = CameraTrajectory(
        intrinsics=still.intrinsics + rng.normal(0, 1e-3, still.intrinsics.shape).astype(np.float32),
        w2c=still.w2c + rng.normal(0, 1e-3, still.w2c.shape).astype(np.float32),
    )
    description = describe_camera(noisy)
    assert (description.motions, description.names, description.text) == ((), ("static",), "the camera stays static")


def test_motion_is_read_in_the_first_cameras_axes_not_the_worlds():
    """The same pan, with the whole scene turned and moved, is still a pan left."""
    world = _rotation(yaw=70, pitch=-25, roll=40)
    offset = np.array([5.0, -2.0, 7.0])
    poses = [(world @ _rotation(yaw=-20 * p), offset) for p in np.linspace(0, 1, 5)]
    assert describe_camera(_trajectory(poses)).motions == (CameraMotion("pan", "left", "slow"),)


# The synthetic labels carry no orbit direction; the synthetic orbit moves the camera to its left.
SYNTHETIC_NAMES = {**{motion: (motion,) for motion in SCENE_MOTIONS}, "orbit": ("orbit left",)}


@pytest.mark.parametrize("frames", [2, 5, 16, 49])
@pytest.mark.parametrize("motion", SCENE_MOTIONS)
def test_describer_agrees_with_every_synthetic_label(motion, frames):
    description = describe_camera(camera_trajectory(motion, frames))
    assert description.names == SYNTHETIC_NAMES[motion]
    assert all(m.speed == "slow" for m in description.motions)  # synthetic captions all say "a slow ..."
    if motion not in ("static", "orbit"):
        assert description.text == camera_phrase(motion)
