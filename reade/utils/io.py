"""Write a folder next to its destination, then move it into place with a rename.

A crash or a kill while writing leaves only a hidden `.name-*` sibling, never a half-written model,
tokenizer or checkpoint at the destination, because a rename on one file system is atomic.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folder(target: Path, replace: bool) -> Iterator[Path]:
    """Yield an empty sibling of `target`; when the block succeeds it becomes `target`.

    `replace=False` keeps a `target` that exists by then (a concurrent builder of the same content
    won the race); `replace=True` swaps the old folder out.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache or checkpoint from other users
    try:
        yield staging
        if target.exists() and replace:
            retired = target.with_name(f"{staging.name}-retired")
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired)
        elif not target.exists():
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
