"""Random camera trajectories for camera-encoder pretraining: every move the describer names, at random
amounts, lengths, pacing and starting poses, alone or two at a time.

`reade.data.synthetic.trajectory` draws the scene generator's ten motions at one fixed amount each;
here the same construction (camera-to-world rotation `yaw @ pitch @ roll`, centre moved in the
first camera's axes, focal length scaled for zoom, orbit about a point ahead) takes every kind in
`reade.camera_vocab.KINDS` with an amount drawn across the describer's
slow/moderate/fast ranges, so a held-out trajectory is never a copy of a training one:

- rotations (pan, tilt, roll, orbit) 8-120 degrees (tilt below 90), an orbit at a radius of 1.5-5
  units; translations (dolly, truck, pedestal) 0.3-4.5 units; zoom 1.15-4x; each drawn inside the
  band of a speed word (`AMOUNTS`), and `kinds` / `speeds` can narrow the draw;
- 4-24 frames, linear or ease-in-out pacing, a little hand-held jitter far below the describer's
  thresholds, and a random world pose for the whole path (the processor makes poses relative to
  the first camera; the describer reads them that way).

`sample_trajectory` draws until `describe_camera` names exactly the intended moves, so the
describer's label always agrees with how the path was made (a pan with a truck that happens to keep a
point centred would read as an orbit and is drawn again).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reade.camera_vocab import DIRECTIONS, KINDS, SPEEDS
from reade.data.conditions.camera import CameraTrajectory
from reade.data.conditions.camera_motion import CameraDescription, describe_camera

# Amount bands per speed word, with gaps around the describer's thresholds (40/80 degrees, 1.5/3
# units, 2x/3x zoom) so that the speed in a caption is never a coin toss: degrees for pan, tilt,
# roll and orbit, world units for dolly, truck and pedestal, focal ratio for zoom.
ROTATION_BANDS = {"slow": (8.0, 36.0), "moderate": (44.0, 76.0), "fast": (84.0, 120.0)}
TRANSLATION_BANDS = {"slow": (0.3, 1.35), "moderate": (1.65, 2.85), "fast": (3.15, 4.5)}
AMOUNTS = {
    "pan": ROTATION_BANDS,
    # A fast tilt stays short of 90 degrees, where yaw and pitch stop being separable.
    "tilt": {**ROTATION_BANDS, "fast": (84.0, 88.0)},
    "roll": ROTATION_BANDS,
    "orbit": ROTATION_BANDS,
    "dolly": TRANSLATION_BANDS,
    "truck": TRANSLATION_BANDS,
    "pedestal": TRANSLATION_BANDS,
    "zoom": {"slow": (1.15, 1.9), "moderate": (2.1, 2.9), "fast": (3.1, 4.0)},
}
# Kinds that combine: an orbit already is a turn and a move together, so it only comes alone.
COMBINABLE = ("pan", "tilt", "roll", "dolly", "truck", "pedestal", "zoom")
MIN_FRAMES, MAX_FRAMES = 4, 24
JITTER_DEGREES, JITTER_UNITS = 0.2, 0.005
MAX_TRIES = 100


@dataclass(frozen=True)
class Move:
    kind: str  # a key of DIRECTIONS
    direction: str
    amount: float  # degrees (pan, tilt, roll, orbit), world units (dolly, truck, pedestal) or focal ratio (zoom)

    @property
    def name(self) -> str:
        return f"{self.kind} {self.direction}"


def _yaw(angle: float) -> np.ndarray:
    """About y; a positive angle turns the view right (+z toward +x)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _pitch(angle: float) -> np.ndarray:
    """About x; a positive angle turns the view up (+z toward -y)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _roll(angle: float) -> np.ndarray:
    """About z; a positive angle turns the camera's top to the right (clockwise from behind)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def pose_at(moves: tuple[Move, ...], p: float, focal: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(camera-to-world rotation, centre, focal) at progress p in [0, 1], before the world pose; no orbit."""
    angles = {"pan": 0.0, "tilt": 0.0, "roll": 0.0}
    centre, zoom = np.zeros(3), 1.0
    for move in moves:
        sign = 1.0 if move.direction in ("right", "up", "clockwise", "in") else -1.0
        if move.kind in angles:
            angles[move.kind] = sign * math.radians(move.amount) * p
        elif move.kind == "dolly":
            centre[2] += sign * move.amount * p
        elif move.kind == "truck":
            centre[0] += sign * move.amount * p
        elif move.kind == "pedestal":
            centre[1] -= sign * move.amount * p  # y points down
        elif move.kind == "zoom":
            zoom = move.amount ** (sign * p)
        else:
            raise ValueError(f"pose_at: {move.kind!r} is not a pan/tilt/roll/dolly/truck/pedestal/zoom move")
    rotation = _yaw(angles["pan"]) @ _pitch(angles["tilt"]) @ _roll(angles["roll"])
    return rotation, centre, focal * zoom


def _orbit_pose(move: Move, radius: float, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Circle the point `radius` ahead, keeping it centred; "orbit left" moves the camera left."""
    sign = 1.0 if move.direction == "left" else -1.0
    rotation = _yaw(sign * math.radians(move.amount) * p)
    target = np.array([0.0, 0.0, radius])
    return rotation, target - rotation @ target


def build_trajectory(
    moves: tuple[Move, ...], frames: int, *, focal: float = 1.0, ease: bool = False, radius: float = 3.0,
    world: tuple[np.ndarray, np.ndarray] | None = None, rng: np.random.Generator | None = None,
) -> CameraTrajectory:
    """The path of `moves` over `frames` frames; `world` = (rotation, translation) places it anywhere,
    `rng` adds hand-held jitter."""
    intrinsics = np.zeros((frames, 4), dtype=np.float32)
    w2c = np.zeros((frames, 3, 4), dtype=np.float32)
    world_rotation, world_shift = world if world is not None else (np.eye(3), np.zeros(3))
    orbits = [m for m in moves if m.kind == "orbit"]
    if orbits and len(moves) > 1:
        raise ValueError("an orbit is a turn and a move already: it does not combine with other moves")
    for t, p in enumerate(np.linspace(0.0, 1.0, frames)):
        p = p * p * (3 - 2 * p) if ease else p
        if orbits:
            rotation, centre = _orbit_pose(moves[0], radius, float(p))
            f = focal
        else:
            rotation, centre, f = pose_at(moves, float(p), focal)
        if rng is not None and 0 < t:
            jitter = rng.normal(0.0, math.radians(JITTER_DEGREES), 3)
            rotation = rotation @ _yaw(jitter[0]) @ _pitch(jitter[1]) @ _roll(jitter[2])
            centre = centre + rng.normal(0.0, JITTER_UNITS, 3)
        rotation, centre = world_rotation @ rotation, world_rotation @ centre + world_shift
        intrinsics[t] = (f, f, 0.5, 0.5)
        w2c[t, :, :3] = rotation.T
        w2c[t, :, 3] = -rotation.T @ centre
    return CameraTrajectory(intrinsics=intrinsics, w2c=w2c)


def random_moves(
    rng: np.random.Generator, combined: bool, kinds: Sequence[str] = KINDS, speeds: Sequence[str] = SPEEDS
) -> tuple[Move, ...]:
    """One move of a kind in `kinds`, or two of different combinable ones, each at a speed in `speeds`."""
    if combined:
        pool = [k for k in kinds if k in COMBINABLE]
        if len(pool) < 2:
            raise ValueError(f"combined moves need two combinable kinds {COMBINABLE} among {list(kinds)}")
        chosen = rng.choice(pool, size=2, replace=False).tolist()
    else:
        chosen = [str(rng.choice(list(kinds)))]
    moves = []
    for kind in chosen:
        low, high = AMOUNTS[kind][str(rng.choice(list(speeds)))]
        moves.append(Move(kind, str(rng.choice(DIRECTIONS[kind])), float(rng.uniform(low, high))))
    return tuple(moves)


def sample_trajectory(
    rng: np.random.Generator, *, combined: bool = False, static: bool = False,
    kinds: Sequence[str] = KINDS, speeds: Sequence[str] = SPEEDS,
) -> tuple[CameraTrajectory, CameraDescription]:
    """A random trajectory and the describer's reading of it, which names exactly the drawn moves."""
    unknown = (set(kinds) - set(KINDS)) | (set(speeds) - set(SPEEDS))
    if unknown or not kinds or not speeds:
        raise ValueError(f"kinds must be among {list(KINDS)} and speeds among {list(SPEEDS)}; got {kinds}, {speeds}")
    for _ in range(MAX_TRIES):
        moves = () if static else random_moves(rng, combined, kinds, speeds)
        world = (_yaw(rng.uniform(-math.pi, math.pi)) @ _pitch(rng.uniform(-0.3, 0.3)), rng.normal(0.0, 2.0, 3))
        trajectory = build_trajectory(
            moves,
            int(rng.integers(MIN_FRAMES, MAX_FRAMES + 1)),
            focal=float(rng.uniform(0.7, 1.6)),
            ease=bool(rng.random() < 0.5),
            radius=float(rng.uniform(1.5, 5.0)),
            world=world,
            rng=rng,
        )
        description = describe_camera(trajectory)
        if sorted(description.names) == sorted(m.name for m in moves) or (not moves and not description.motions):
            return trajectory, description
    raise RuntimeError(f"no trajectory in {MAX_TRIES} draws that the describer reads as drawn; check AMOUNTS")
