"""Identity reference images: any format PIL opens (PNG, JPEG, ...), always handed on as RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from reade.data.conditions.errors import ConditionError, require_file

# 8192 x 8192: far above what any processor keeps (Qwen2.5-Omni resizes to at most 12.8 M pixels),
# below PIL's own decompression-bomb threshold, so a huge file is refused from its header, before
# gigabytes are decoded.
MAX_PIXELS = 8192 * 8192


def read_identity(path: Path) -> np.ndarray:
    """uint8 [H, W, 3]; palette, grey and alpha images are converted so every tower sees RGB."""
    require_file(path)
    try:
        with Image.open(path) as image:
            _check_size(path, *image.size)
            image.load()
            rgb = image.convert("RGB")
    except ConditionError:
        raise
    except UnidentifiedImageError:
        raise ConditionError(path, "not an image PIL can read (expected PNG or JPEG)") from None
    except Image.DecompressionBombError:  # raised by Image.open itself, beyond twice PIL's own limit
        raise ConditionError(path, f"image of over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, "
                                   f"over the limit of {MAX_PIXELS:,}") from None
    except (OSError, ValueError) as error:
        raise ConditionError(path, f"unreadable image ({error})") from None
    array = np.asarray(rgb, dtype=np.uint8)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ConditionError(path, "image is empty")
    return array


def _check_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ConditionError(path, f"image of {width} x {height} = {width * height:,} pixels, "
                                   f"over the limit of {MAX_PIXELS:,}")


def write_identity(path: Path, image: np.ndarray) -> None:
    """PNG without metadata, so equal pixels give equal bytes."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"identity image must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
    Image.fromarray(image, mode="RGB").save(path, format="PNG", optimize=False)
