"""Name the camera motion of a trajectory in words, from its geometry alone (no model).

The words are the camera vocabulary's (`reade.camera_vocab`): each kind with one of its two
direction words ("pan left", "roll clockwise", "zoom in"), or "static". The motion is the net change
from the first to the last frame, expressed in the first camera's axes (OpenCV: x right, y down,
z forward):

- rotation, as yaw (pan), pitch (tilt) and roll angles with R = yaw @ pitch @ roll, the order in
  which `reade.data.synthetic.trajectory` composes them, so a synthetic pan is pure yaw;
- translation of the camera centre along x (truck), y (pedestal) and z (dolly);
- the focal length ratio (zoom).

An orbit turns about the vertical while moving sideways so that one point ahead stays centred in
every frame. It is told from pan + truck by that point: the first and last optical axes must
meet ahead of both cameras, and the meeting point must stay within `CENTRED_DEGREES` of the image
centre in every frame. The orbit takes the yaw and the horizontal translation; a change in the
distance to the point is reported as a dolly beside it.

Net change misses a motion that comes back (pan left then right reads as static) and turns past
180 degrees; clips of a few seconds rarely do either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reade.camera_vocab import KINDS, STATIC
from reade.data.conditions.camera import CameraTrajectory

# Below these a change is noise, not a move; the rounding of six printed decimals stays far under.
MIN_DEGREES = 3.0
MIN_TRANSLATION = 0.1  # world units
MIN_ZOOM = 1.05  # focal length ratio, either way
CENTRED_DEGREES = 3.0
# Speed words, over the whole clip: slow below the first number, moderate below the second, else fast.
# Rotation in degrees; 40 keeps the synthetic 20-degree pans and 30-degree orbit slow.
ROTATION_SPEEDS = (40.0, 80.0)
# Translation in world units. RealEstate10K scale is arbitrary per clip (SfM), so these assume a
# scene a few units deep, as the synthetic one is (subject 3 units ahead, 1-unit dolly = slow).
TRANSLATION_SPEEDS = (1.5, 3.0)
# Zoom as the focal length ratio (>= 1, either way); the synthetic 1.5x zoom is slow.
ZOOM_SPEEDS = (2.0, 3.0)


@dataclass(frozen=True)
class CameraMotion:
    kind: str  # one of KINDS
    direction: str  # one of the kind's DIRECTIONS
    speed: str  # slow, moderate or fast

    @property
    def name(self) -> str:
        """The vocabulary's name for the motion, e.g. "pan left"."""
        return f"{self.kind} {self.direction}"


@dataclass(frozen=True)
class CameraDescription:
    motions: tuple[CameraMotion, ...]  # in KINDS order; empty when the camera is static

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.motions) or (STATIC,)

    @property
    def text(self) -> str:
        """One speed word for the lot when they share it: "a slow pan left and tilt up"."""
        if not self.motions:
            return "the camera stays static"
        if len({m.speed for m in self.motions}) == 1:
            return f"a {self.motions[0].speed} {_join(list(self.names))}"
        return _join([f"a {m.speed} {m.name}" for m in self.motions])


def describe_camera(trajectory: CameraTrajectory) -> CameraDescription:
    w2c = trajectory.w2c.astype(np.float64)
    rotations = w2c[:, :, :3]  # [T, 3, 3] world-to-camera
    centres = -np.einsum("tji,tj->ti", rotations, w2c[:, :, 3])  # [T, 3] world
    relative = rotations[0] @ rotations[-1].T  # last camera's axes in the first camera's axes
    yaw, pitch, roll = _yaw_pitch_roll(relative)
    shift = rotations[0] @ (centres[-1] - centres[0])  # [3] in the first camera's axes
    focal = trajectory.intrinsics[:, :2].astype(np.float64)
    zoom = math.sqrt(np.prod(focal[-1] / focal[0]))  # geometric mean of the fx and fy ratios

    found: dict[str, CameraMotion] = {}
    target = _orbit_target(w2c, centres, relative[:, 2], shift) if abs(yaw) >= MIN_DEGREES else None
    if target is not None:
        found["orbit"] = CameraMotion("orbit", "left" if shift[0] < 0 else "right", _rotation_speed(yaw))
        # How much nearer the target the camera ends: the orbit's own dolly.
        shift = np.array([0.0, shift[1], np.linalg.norm(target - centres[0]) - np.linalg.norm(target - centres[-1])])
    else:
        _add_rotation(found, "pan", yaw, "right", "left")
    _add_rotation(found, "tilt", pitch, "up", "down")
    _add_rotation(found, "roll", roll, "clockwise", "counterclockwise")
    _add_translation(found, "dolly", shift[2], "in", "out")
    if target is None:
        _add_translation(found, "truck", shift[0], "right", "left")
    _add_translation(found, "pedestal", -shift[1], "up", "down")  # y points down
    zoom_factor = max(zoom, 1 / zoom)
    if zoom_factor >= MIN_ZOOM:
        found["zoom"] = CameraMotion("zoom", "in" if zoom > 1 else "out", _speed(zoom_factor, ZOOM_SPEEDS))
    return CameraDescription(tuple(found[kind] for kind in KINDS if kind in found))


def _yaw_pitch_roll(rotation: np.ndarray) -> tuple[float, float, float]:
    """Degrees with rotation = yaw(about y) @ pitch(about x) @ roll(about z); positive yaw turns
    the view right, positive pitch turns it up, positive roll turns the camera's top to the right
    (clockwise as the operator behind the camera sees it)."""
    forward = rotation[:, 2]
    yaw = math.atan2(forward[0], forward[2])
    pitch = math.atan2(-forward[1], math.hypot(forward[0], forward[2]))
    roll = math.atan2(rotation[1, 0], rotation[1, 1])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def _orbit_target(w2c: np.ndarray, centres: np.ndarray, forward: np.ndarray, shift: np.ndarray) -> np.ndarray | None:
    """The world point that a turning camera circles while keeping it centred, or None.

    `forward` is the last viewing direction and `shift` the camera's move, in the first camera's axes.
    """
    if abs(shift[0]) < MIN_TRANSLATION:
        return None
    # Seen from above, where the last optical axis (shift + s * forward) crosses the first (x = 0).
    along_last = -shift[0] / forward[0]
    ahead = shift[2] + along_last * forward[2]
    if along_last <= 0 or ahead <= 0:
        return None
    target = centres[0] + ahead * w2c[0, 2, :3]  # world
    in_camera = np.einsum("tij,j->ti", w2c[:, :, :3], target) + w2c[:, :, 3]  # [T, 3]
    off_centre = np.degrees(np.arctan2(np.hypot(in_camera[:, 0], in_camera[:, 1]), in_camera[:, 2]))
    return target if off_centre.max() <= CENTRED_DEGREES else None


def _add_rotation(found: dict, kind: str, degrees: float, positive: str, negative: str) -> None:
    if abs(degrees) >= MIN_DEGREES:
        found[kind] = CameraMotion(kind, positive if degrees > 0 else negative, _rotation_speed(degrees))


def _add_translation(found: dict, kind: str, amount: float, positive: str, negative: str) -> None:
    if abs(amount) >= MIN_TRANSLATION:
        found[kind] = CameraMotion(kind, positive if amount > 0 else negative, _speed(abs(amount), TRANSLATION_SPEEDS))


def _rotation_speed(degrees: float) -> str:
    return _speed(abs(degrees), ROTATION_SPEEDS)


def _speed(amount: float, thresholds: tuple[float, float]) -> str:
    slow, moderate = thresholds
    return "slow" if amount < slow else "moderate" if amount < moderate else "fast"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
