"""Depth and pose sequences that follow the scene's action and camera motion.

Both render from one analytic layout: the main subject is placed by its action at progress p in
[0, 1] (walking drifts left to right, jumping lifts off, sitting sinks...), the others stand still,
and the camera motion shifts or scales the whole image (pan, tilt, zoom, dolly) or moves the
background behind the subject (orbit), so both files show the motion the caption names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reade.data.conditions.pose import PoseSequence
from reade.data.synthetic.scene import Scene, Subject
from reade.data.synthetic.vocab import CHILD_NOUNS

FAR_DEPTH, NEAR_GROUND_DEPTH, HORIZON = 10.0, 3.0, 0.45
MAIN_DEPTH, EXTRA_DEPTH = 2.0, 3.4
MAIN_FOOT, EXTRA_FOOT = 0.92, 0.86  # where feet touch the ground, fraction of the height
CONFIDENCE = 0.9
# Footprint (width, height) as fractions of the image, per category.
_FOOTPRINTS = {"person": (0.16, 0.5), "animal": (0.3, 0.22), "vehicle": (0.45, 0.26), "creature": (0.16, 0.16)}
_EXTRA_X = (0.15, 0.85)


@dataclass(frozen=True)
class Placement:
    x: float  # horizontal centre, fraction of the width
    lift: float  # height above the ground, fraction of the image height
    squash: float  # height factor (sitting sinks)
    approach: float  # how much nearer than its rest depth


def place_main(action: str, p: float) -> Placement:
    wave = math.sin(2 * math.pi * p)
    if action in ("walking", "driving"):
        return Placement(0.25 + 0.5 * p if action == "walking" else 0.15 + 0.7 * p, 0.0, 1.0, 0.0)
    if action == "running":
        return Placement(0.15 + 0.7 * p, 0.04 * abs(math.sin(3 * math.pi * p)), 1.0, 0.0)
    if action == "jumping":
        return Placement(0.5, 0.2 * abs(wave), 1.0, 0.0)
    if action == "sitting":
        return Placement(0.5, 0.0, 1.0 - 0.35 * p, 0.0)
    if action in ("dancing", "swaying"):
        return Placement(0.5 + (0.06 if action == "dancing" else 0.03) * math.sin(4 * math.pi * p), 0.0, 1.0, 0.0)
    if action == "turning":
        return Placement(0.5, 0.0, 1.0 + 0.3 * p, 0.8 * p)
    if action == "flying":
        return Placement(0.2 + 0.6 * p, 0.25 + 0.08 * math.sin(4 * math.pi * p), 1.0, 0.0)
    return Placement(0.5, 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class View:
    """Image-space effect of the camera at progress p; `background_dx` only moves what is behind."""

    dx: float = 0.0
    dy: float = 0.0
    zoom: float = 1.0
    dz: float = 0.0
    background_dx: float = 0.0


def camera_view(motion: str, p: float) -> View:
    return {
        "pan left": View(dx=0.15 * p),
        "pan right": View(dx=-0.15 * p),
        "tilt up": View(dy=0.15 * p),
        "tilt down": View(dy=-0.15 * p),
        "dolly in": View(zoom=1 + 0.2 * p, dz=-0.8 * p),
        "dolly out": View(zoom=1 / (1 + 0.2 * p), dz=0.8 * p),
        "zoom in": View(zoom=1 + 0.5 * p),
        "zoom out": View(zoom=1 / (1 + 0.5 * p)),
        "orbit": View(background_dx=0.2 * p),
    }.get(motion, View())


def progress(frames: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, frames)


def depth_sequence(scene: Scene, size: int, frames: int) -> np.ndarray:
    """float32 [T, H, W] distances: a far wall, a ground plane that nears toward the bottom, and one
    rounded blob per subject, the main one moving with the action."""
    grid = (np.arange(size) + 0.5) / size
    ys, xs = np.meshgrid(grid, grid, indexing="ij")
    out = np.empty((frames, size, size), dtype=np.float32)
    for t, p in enumerate(progress(frames)):
        view = camera_view(scene.camera, float(p))
        u = (xs - 0.5) / view.zoom + 0.5 - view.dx
        v = (ys - 0.5) / view.zoom + 0.5 - view.dy
        ground = NEAR_GROUND_DEPTH + (FAR_DEPTH - NEAR_GROUND_DEPTH) * np.clip((1 - v) / (1 - HORIZON), 0, 1)
        depth = np.where(v < HORIZON, FAR_DEPTH, ground)
        for index, subject in enumerate(scene.subjects):
            if index == 0:
                blob = _blob(subject, place_main(scene.action, float(p)), MAIN_DEPTH, MAIN_FOOT, u, v, scene.action, p)
            else:
                standing = Placement(_EXTRA_X[(index - 1) % 2], 0.0, 1.0, 0.0)
                blob = _blob(subject, standing, EXTRA_DEPTH, EXTRA_FOOT, u - view.background_dx, v, "", p)
            depth = np.minimum(depth, blob)
        out[t] = np.maximum(depth + view.dz, 0.1)
    return out


def _blob(subject: Subject, at: Placement, rest: float, foot: float, u: np.ndarray, v: np.ndarray,
          action: str, p: float) -> np.ndarray:
    width, height = _FOOTPRINTS[subject.category]
    if subject.noun in CHILD_NOUNS:
        width, height = width * 0.8, height * 0.8
    height *= at.squash
    centre_y = foot - at.lift - height / 2
    r2 = ((u - at.x) / (width / 2)) ** 2 + ((v - centre_y) / (height / 2)) ** 2
    near = rest - at.approach
    blob = np.where(r2 <= 1, near + 0.3 * r2, np.inf)
    if action == "waving":
        hand_x = at.x - width * 0.6 + 0.04 * math.sin(4 * math.pi * p)
        hand = ((u - hand_x) / 0.04) ** 2 + ((v - (foot - height * 1.05)) / 0.06) ** 2
        blob = np.minimum(blob, np.where(hand <= 1, near + 0.1, np.inf))
    return blob


# COCO-17 keypoints of a standing figure facing the camera, body units: x right, y up from the feet,
# height 1. The person's left side appears on the image's right.
_STANDING = np.array([
    (0.0, 0.93), (0.02, 0.95), (-0.02, 0.95), (0.05, 0.93), (-0.05, 0.93),
    (0.1, 0.8), (-0.1, 0.8), (0.13, 0.65), (-0.13, 0.65), (0.14, 0.5), (-0.14, 0.5),
    (0.06, 0.5), (-0.06, 0.5), (0.06, 0.27), (-0.06, 0.27), (0.06, 0.03), (-0.06, 0.03),
])
_UPPER = slice(0, 11)
L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 7, 8, 9, 10, 11, 12, 13, 14, 15, 16


def body_pose(action: str, p: float) -> np.ndarray:
    """[17, 2] body-unit keypoints of one person at progress p."""
    body = _STANDING.copy()
    phase = math.sin(4 * math.pi * p)
    if action in ("walking", "running"):
        stride = 0.08 if action == "walking" else 0.14
        body[L_ANKLE, 0] += stride * phase
        body[R_ANKLE, 0] -= stride * phase
        body[L_KNEE, 0] += stride * phase / 2
        body[R_KNEE, 0] -= stride * phase / 2
        body[L_WRIST, 0] -= stride * phase / 2
        body[R_WRIST, 0] += stride * phase / 2
        if action == "running":
            body[[L_WRIST, R_WRIST], 1] = 0.62
    elif action == "jumping":
        airborne = abs(math.sin(2 * math.pi * p))
        body[[L_WRIST, R_WRIST]] += airborne * (np.array([(0.06, 0.55), (-0.06, 0.55)]))
        body[[L_ELBOW, R_ELBOW]] += airborne * (np.array([(0.03, 0.28), (-0.03, 0.28)]))
    elif action == "sitting":
        body[_UPPER, 1] -= 0.22 * p
        body[[L_HIP, R_HIP], 1] -= 0.22 * p
        body[[L_KNEE, R_KNEE], 0] += np.array([0.06, -0.06]) * p
    elif action == "waving":
        body[R_ELBOW] = (-0.2, 0.88)
        body[R_WRIST] = (-0.24 + 0.06 * phase, 1.05)
    elif action == "dancing":
        body[L_ELBOW], body[R_ELBOW] = (0.18, 0.9 + 0.04 * phase), (-0.18, 0.9 - 0.04 * phase)
        body[L_WRIST], body[R_WRIST] = (0.2, 1.05 + 0.05 * phase), (-0.2, 1.05 - 0.05 * phase)
    return body


def pose_sequence(scene: Scene, size: int, frames: int, fps: float) -> PoseSequence:
    """Every person in the scene, the main one performing the action, the others standing."""
    people = [(index, s) for index, s in enumerate(scene.subjects) if s.category == "person"]
    keypoints = np.zeros((frames, len(people), 17, 3), dtype=np.float32)
    for t, p in enumerate(progress(frames)):
        view = camera_view(scene.camera, float(p))
        for slot, (index, subject) in enumerate(people):
            if index == 0:
                at, foot, body = place_main(scene.action, float(p)), MAIN_FOOT, body_pose(scene.action, float(p))
            else:
                at = Placement(_EXTRA_X[(index - 1) % 2] + view.background_dx, 0.0, 1.0, 0.0)
                foot, body = EXTRA_FOOT, _STANDING
            height = _FOOTPRINTS["person"][1] * (0.8 if subject.noun in CHILD_NOUNS else 1.0)
            u = at.x + body[:, 0] * height
            v = foot - at.lift - body[:, 1] * height
            keypoints[t, slot, :, 0] = ((u + view.dx - 0.5) * view.zoom + 0.5) * size
            keypoints[t, slot, :, 1] = ((v + view.dy - 0.5) * view.zoom + 0.5) * size
            keypoints[t, slot, :, 2] = CONFIDENCE
    return PoseSequence(keypoints=keypoints, width=size, height=size, fps=fps)
