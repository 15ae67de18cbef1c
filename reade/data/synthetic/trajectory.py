"""Camera trajectories for the named motions, as world-to-camera matrices in OpenCV axes
(x right, y down, z forward), the RealEstate10K / CameraCtrl convention.

The camera starts at the origin looking down +z. Pan left turns the viewing direction toward -x,
tilt up toward -y (up, since y points down), dolly in moves the centre along +z, zoom changes only
the focal length, and orbit circles a point three units ahead while keeping it centred.
"""

from __future__ import annotations

import math

import numpy as np

from reade.data.conditions.camera import CameraTrajectory

FOCAL = 1.0  # normalised by image width and height
TURN = math.radians(20)
DOLLY = 1.0
ZOOM = 0.5
ORBIT_RADIUS, ORBIT_TURN = 3.0, math.radians(30)


def _yaw(angle: float) -> np.ndarray:
    """Rotation about the y axis; a positive angle turns +z toward +x."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _pitch(angle: float) -> np.ndarray:
    """Rotation about the x axis; a positive angle turns +z toward -y, i.e. up."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def camera_pose(motion: str, p: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(camera-to-world rotation, camera centre, focal) at progress p in [0, 1]."""
    rotation, centre, focal = np.eye(3), np.zeros(3), FOCAL
    if motion in ("pan left", "pan right"):
        rotation = _yaw(-TURN * p if motion == "pan left" else TURN * p)
    elif motion in ("tilt up", "tilt down"):
        rotation = _pitch(TURN * p if motion == "tilt up" else -TURN * p)
    elif motion in ("dolly in", "dolly out"):
        centre = np.array([0.0, 0.0, DOLLY * p if motion == "dolly in" else -DOLLY * p])
    elif motion in ("zoom in", "zoom out"):
        focal = FOCAL * (1 + ZOOM * p) if motion == "zoom in" else FOCAL / (1 + ZOOM * p)
    elif motion == "orbit":
        rotation = _yaw(ORBIT_TURN * p)
        target = np.array([0.0, 0.0, ORBIT_RADIUS])
        centre = target - rotation @ np.array([0.0, 0.0, ORBIT_RADIUS])
    return rotation, centre, focal


def camera_trajectory(motion: str, frames: int) -> CameraTrajectory:
    intrinsics = np.zeros((frames, 4), dtype=np.float32)
    w2c = np.zeros((frames, 3, 4), dtype=np.float32)
    for t, p in enumerate(np.linspace(0.0, 1.0, frames)):
        rotation, centre, focal = camera_pose(motion, float(p))
        intrinsics[t] = (focal, focal, 0.5, 0.5)
        w2c[t, :, :3] = rotation.T
        w2c[t, :, 3] = -rotation.T @ centre
    return CameraTrajectory(intrinsics=intrinsics, w2c=w2c)
