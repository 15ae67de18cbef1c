"""Identity reference images: any format PIL opens (PNG, JPEG, ...), always handed on as RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from reade.data.conditions.errors import ConditionError, require_file


def read_identity(path: Path) -> np.ndarray:
    """uint8 [H, W, 3]; palette, grey and alpha images are converted so every tower sees RGB."""
    require_file(path)
    try:
        with Image.open(path) as image:
            image.load()
            rgb = image.convert("RGB")
    except UnidentifiedImageError:
        raise ConditionError(path, "not an image PIL can read (expected PNG or JPEG)") from None
    except (OSError, ValueError) as error:
        raise ConditionError(path, f"unreadable image ({error})") from None
    array = np.asarray(rgb, dtype=np.uint8)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ConditionError(path, "image is empty")
    return array


def write_identity(path: Path, image: np.ndarray) -> None:
    """PNG without metadata, so equal pixels give equal bytes."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"identity image must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
    Image.fromarray(image, mode="RGB").save(path, format="PNG", optimize=False)
