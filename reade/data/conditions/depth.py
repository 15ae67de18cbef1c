"""Depth sequences: `.npz` with one float array `depth` [T, H, W] of distances (larger = farther)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from reade.data.conditions.errors import ConditionError, require_file

DEPTH_KEY = "depth"
# zipfile stamps members with the current time unless told otherwise; a fixed stamp keeps files reproducible.
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def read_depth(path: Path) -> np.ndarray:
    require_file(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ConditionError(path, f"unreadable or truncated npz ({error})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ConditionError(path, f"expected an .npz archive with key {DEPTH_KEY!r}, got a bare array")
    with loaded:
        if DEPTH_KEY not in loaded.files:
            raise ConditionError(path, f"no key {DEPTH_KEY!r} in the archive (keys: {sorted(loaded.files)})")
        try:
            depth = loaded[DEPTH_KEY]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ConditionError(path, f"unreadable or truncated npz member {DEPTH_KEY!r} ({error})") from None
    return _validated(path, depth)


def _validated(path: Path, depth: np.ndarray) -> np.ndarray:
    if depth.ndim != 3:
        raise ConditionError(path, f"depth must be [T, H, W], got shape {depth.shape}")
    if 0 in depth.shape:
        raise ConditionError(path, f"depth is empty (shape {depth.shape})")
    if not np.issubdtype(depth.dtype, np.floating):
        raise ConditionError(path, f"depth must be floating point, got {depth.dtype}")
    depth = depth.astype(np.float32)
    if not np.isfinite(depth).all():
        frame = int(np.argwhere(~np.isfinite(depth))[0][0])
        raise ConditionError(path, f"depth has NaN or inf values (first in frame {frame})")
    if (depth < 0).any():
        raise ConditionError(path, "depth has negative values; it must hold distances")
    return depth


def write_depth(path: Path, depth: np.ndarray) -> None:
    """Compressed npz with a fixed timestamp: np.savez would stamp the wall clock into the zip."""
    if depth.dtype != np.float32 or depth.ndim != 3:
        raise ValueError(f"depth must be float32 [T, H, W], got {depth.dtype} {depth.shape}")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(depth), allow_pickle=False)
    member = zipfile.ZipInfo(f"{DEPTH_KEY}.npy", date_time=_FIXED_ZIP_TIME)
    member.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, buffer.getvalue())


def depth_frames(depth: np.ndarray) -> np.ndarray:
    """uint8 [T, H, W, 3] grey frames, near = bright, scaled over the whole sequence so brightness is
    comparable between frames; a flat scene has no relief and renders mid grey."""
    near, far = float(depth.min()), float(depth.max())
    if far - near < 1e-6:
        grey = np.full(depth.shape, 128, dtype=np.uint8)
    else:
        grey = np.round((far - depth) / (far - near) * 255.0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)
