"""Camera trajectories in the RealEstate10K / CameraCtrl convention.

Text: one line per frame, `fx fy cx cy` (normalised by image size) then the 3x4 world-to-camera
matrix row-major: 16 numbers. Also accepted: 17 numbers (a leading timestamp) and 19 numbers (the
original RealEstate10K layout: timestamp, fx fy cx cy, two unused zeros, the 12 matrix entries).
`#` lines and blank lines are ignored, and so is a first line that is not numeric (RealEstate10K
files open with the video URL). JSON: `{"frames": [{"intrinsics": [fx, fy, cx, cy], "w2c": [[4], [4], [4]]}]}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reade.data.conditions.errors import ConditionError, require_file

MIN_FRAMES = 2
# Entries of R R^T may differ from the identity by this much: six printed decimals lose ~1e-6.
ORTHONORMAL_TOLERANCE = 1e-3


@dataclass(frozen=True)
class CameraTrajectory:
    intrinsics: np.ndarray  # float32 [T, 4]: fx, fy, cx, cy, normalised
    w2c: np.ndarray  # float32 [T, 3, 4]: world-to-camera, OpenCV axes (x right, y down, z forward)


def read_camera(path: Path) -> CameraTrajectory:
    require_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConditionError(path, f"not UTF-8 text ({error.reason})") from None
    if text.lstrip().startswith("{"):
        rows, places = _rows_from_json(path, text)
    else:
        rows, places = _rows_from_text(path, text)
    if len(rows) < MIN_FRAMES:
        raise ConditionError(path, f"needs at least {MIN_FRAMES} frames, found {len(rows)}")
    table = np.asarray(rows, dtype=np.float64)
    intrinsics, w2c = table[:, :4], table[:, 4:].reshape(-1, 3, 4)
    for place, row_intrinsics, matrix in zip(places, intrinsics, w2c):
        _check_frame(path, place, row_intrinsics, matrix)
    return CameraTrajectory(intrinsics=intrinsics.astype(np.float32), w2c=w2c.astype(np.float32))


def _rows_from_text(path: Path, text: str) -> tuple[list[list[float]], list[str]]:
    rows, places = [], []
    seen_content = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        try:
            values = [float(field) for field in fields]
        except ValueError:
            if not seen_content:
                seen_content = True
                continue
            raise ConditionError(path, f"line {number}: not a list of numbers: {stripped[:60]!r}") from None
        seen_content = True
        if len(values) == 16:
            rows.append(values)
        elif len(values) == 17:
            rows.append(values[1:])
        elif len(values) == 19:
            rows.append(values[1:5] + values[7:])
        else:
            raise ConditionError(path, f"line {number}: expected 16, 17 or 19 numbers, got {len(values)}")
        places.append(f"line {number}")
    return rows, places


def _rows_from_json(path: Path, text: str) -> tuple[list[list[float]], list[str]]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConditionError(path, f"line {error.lineno}: invalid JSON ({error.msg})") from None
    frames = raw.get("frames") if isinstance(raw, dict) else None
    if not isinstance(frames, list):
        raise ConditionError(path, "JSON camera files need a top-level 'frames' list")
    rows, places = [], []
    for i, frame in enumerate(frames):
        place = f"frames[{i}]"
        if not isinstance(frame, dict) or set(frame) != {"intrinsics", "w2c"}:
            raise ConditionError(path, f"{place}: needs exactly the keys 'intrinsics' and 'w2c'")
        intrinsics, w2c = frame["intrinsics"], frame["w2c"]
        if not _numbers(intrinsics, 4):
            raise ConditionError(path, f"{place}: intrinsics must be 4 numbers [fx, fy, cx, cy]")
        if not isinstance(w2c, list) or len(w2c) != 3 or not all(_numbers(row, 4) for row in w2c):
            raise ConditionError(path, f"{place}: w2c must be 3 rows of 4 numbers")
        rows.append([float(v) for v in intrinsics] + [float(v) for row in w2c for v in row])
        places.append(place)
    return rows, places


def _numbers(value: Any, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == count
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _check_frame(path: Path, place: str, intrinsics: np.ndarray, matrix: np.ndarray) -> None:
    if not (np.isfinite(intrinsics).all() and np.isfinite(matrix).all()):
        raise ConditionError(path, f"{place}: NaN or inf value")
    if (intrinsics[:2] <= 0).any():
        raise ConditionError(path, f"{place}: focal lengths fx, fy must be positive, got {intrinsics[:2].tolist()}")
    rotation = matrix[:, :3]
    deviation = float(np.abs(rotation @ rotation.T - np.eye(3)).max())
    if deviation > ORTHONORMAL_TOLERANCE:
        raise ConditionError(
            path, f"{place}: rotation part of w2c is not orthonormal (|R R^T - I| = {deviation:.2g})"
        )
    if np.linalg.det(rotation) < 0:
        raise ConditionError(path, f"{place}: rotation part of w2c is a reflection (determinant -1)")


def write_camera(path: Path, trajectory: CameraTrajectory) -> None:
    """The 16-number text layout, six decimals, one line per frame and nothing else."""
    lines = []
    for intrinsics, w2c in zip(trajectory.intrinsics, trajectory.w2c):
        values = [*intrinsics.tolist(), *w2c.reshape(-1).tolist()]
        lines.append(" ".join(f"{v:.6f}" for v in values))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
