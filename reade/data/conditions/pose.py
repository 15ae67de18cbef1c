"""Human-pose sequences: COCO-17 keypoints per person per frame, in pixels, stored as JSON.

`{"width": W, "height": H, "fps": f, "keypoint_format": "coco17",
  "frames": [[[[x, y, conf] x 17] per person] per frame]}`; every frame holds the same people.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from reade.data.conditions.errors import ConditionError, require_file

KEYPOINT_FORMAT = "coco17"
NUM_KEYPOINTS = 17
# COCO-17 limbs as keypoint index pairs (nose/eyes/ears, arms, torso, legs).
SKELETON = (
    (0, 1), (0, 2), (1, 3), (2, 4),
    (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 6), (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16),
)
_LIMB_COLOURS = tuple(
    (int(127 + 127 * math.cos(2 * math.pi * i / len(SKELETON))),
     int(127 + 127 * math.cos(2 * math.pi * i / len(SKELETON) - 2.1)),
     int(127 + 127 * math.cos(2 * math.pi * i / len(SKELETON) + 2.1)))
    for i in range(len(SKELETON))
)
# Below this confidence a keypoint counts as not detected and its limbs are not drawn.
MIN_CONFIDENCE = 0.1


@dataclass(frozen=True)
class PoseSequence:
    keypoints: np.ndarray  # float32 [T, P, 17, 3]: x, y in pixels, confidence in [0, 1]
    width: int
    height: int
    fps: float


def read_pose(path: Path) -> PoseSequence:
    require_file(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConditionError(path, f"not UTF-8 text ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise ConditionError(path, f"line {error.lineno}: invalid JSON ({error.msg})") from None
    return _parse(path, raw)


def _parse(path: Path, raw: Any) -> PoseSequence:
    if not isinstance(raw, dict):
        raise ConditionError(path, "top level must be a JSON object")
    missing = {"width", "height", "fps", "keypoint_format", "frames"} - set(raw)
    if missing:
        raise ConditionError(path, f"missing keys {sorted(missing)}")
    width, height, fps = raw["width"], raw["height"], raw["fps"]
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConditionError(path, f"{name} must be a positive integer, got {value!r}")
    if not _is_number(fps) or not math.isfinite(fps) or fps <= 0:
        raise ConditionError(path, f"fps must be a positive number, got {fps!r}")
    if raw["keypoint_format"] != KEYPOINT_FORMAT:
        raise ConditionError(path, f"keypoint_format must be {KEYPOINT_FORMAT!r}, got {raw['keypoint_format']!r}")
    frames = raw["frames"]
    if not isinstance(frames, list) or not frames:
        raise ConditionError(path, "frames must be a non-empty list")
    people = None
    for t, frame in enumerate(frames):
        if not isinstance(frame, list) or not frame:
            raise ConditionError(path, f"frames[{t}] must be a non-empty list of people")
        if people is None:
            people = len(frame)
        elif len(frame) != people:
            raise ConditionError(
                path, f"frames[{t}] has {len(frame)} people but frames[0] has {people}; every frame needs the same count"
            )
        for p, person in enumerate(frame):
            _check_person(path, person, f"frames[{t}][{p}]")
    keypoints = np.asarray(frames, dtype=np.float32)
    if not np.isfinite(keypoints).all():
        t, p = (int(i) for i in np.argwhere(~np.isfinite(keypoints))[0][:2])
        raise ConditionError(path, f"frames[{t}][{p}] has a non-finite value")
    confidence = keypoints[..., 2]
    if (confidence < 0).any() or (confidence > 1).any():
        t, p = (int(i) for i in np.argwhere((confidence < 0) | (confidence > 1))[0][:2])
        raise ConditionError(path, f"frames[{t}][{p}] has a confidence outside [0, 1]")
    return PoseSequence(keypoints=keypoints, width=width, height=height, fps=float(fps))


def _check_person(path: Path, person: Any, where: str) -> None:
    if not isinstance(person, list) or len(person) != NUM_KEYPOINTS:
        count = len(person) if isinstance(person, list) else type(person).__name__
        raise ConditionError(path, f"{where} must hold {NUM_KEYPOINTS} keypoints, got {count}")
    for k, point in enumerate(person):
        if not isinstance(point, list) or len(point) != 3 or not all(_is_number(v) for v in point):
            raise ConditionError(path, f"{where}[{k}] must be [x, y, confidence] numbers, got {point!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_pose(path: Path, pose: PoseSequence) -> None:
    """Two decimals are sub-pixel and keep the file small and byte-stable."""
    frames = [
        [[[round(float(v), 2) for v in point] for point in person] for person in frame] for frame in pose.keypoints
    ]
    document = {
        "width": pose.width,
        "height": pose.height,
        "fps": pose.fps,
        "keypoint_format": KEYPOINT_FORMAT,
        "frames": frames,
    }
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")


def pose_frames(pose: PoseSequence) -> np.ndarray:
    """uint8 [T, H, W, 3]: coloured stick figures on black, the way pose-conditioned video models see them."""
    line_width = max(1, round(min(pose.width, pose.height) / 64))
    radius = line_width
    frames = []
    for frame in pose.keypoints:
        canvas = Image.new("RGB", (pose.width, pose.height))
        draw = ImageDraw.Draw(canvas)
        for person in frame:
            for (a, b), colour in zip(SKELETON, _LIMB_COLOURS):
                if person[a, 2] >= MIN_CONFIDENCE and person[b, 2] >= MIN_CONFIDENCE:
                    draw.line([tuple(person[a, :2]), tuple(person[b, :2])], fill=colour, width=line_width)
            for x, y, confidence in person:
                if confidence >= MIN_CONFIDENCE:
                    draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 255, 255))
        frames.append(np.asarray(canvas, dtype=np.uint8))
    return np.stack(frames)
