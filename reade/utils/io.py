"""Write a folder next to its destination, then move it into place with a rename; datasets once per manifest.

A crash or a kill while writing leaves only a hidden `.name-*` sibling, never a half-written model,
tokenizer or checkpoint at the destination, because a rename on one file system is atomic.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any


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


MANIFEST_NAME = "manifest.json"


def write_dataset_once(out_dir: Path, manifest: dict[str, Any], write: Callable[[Path], None]) -> bool:
    """Make `out_dir` a dataset whose `manifest.json` equals `manifest`, calling `write(staging)` to
    fill a staged folder only when it is not one already; True when it wrote.

    The manifest holds a generator's name, version and arguments, so a second call with the same
    arguments is free and a call with other arguments replaces the stale dataset. A non-empty folder
    without a manifest is refused rather than overwritten: it is not ours. One that a concurrent
    writer published meanwhile is kept.
    """
    if _manifest_matches(out_dir, manifest):
        return False
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST_NAME).exists():
        raise FileExistsError(f"{out_dir}: exists, is not empty and has no {MANIFEST_NAME}; refusing to replace it")
    with staged_folder(out_dir, replace=out_dir.exists()) as staging:
        write(staging)
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return True


def _manifest_matches(out_dir: Path, manifest: dict[str, Any]) -> bool:
    try:
        return json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8")) == manifest
    except (OSError, json.JSONDecodeError):
        return False


def write_settings(settings: Any, file: str | Path) -> None:
    """A settings dataclass as indented JSON, the form `read_settings` checks on the way back."""
    Path(file).write_text(json.dumps(asdict(settings), indent=2) + "\n")


def read_settings(file: str | Path, what: str) -> dict[str, Any]:
    """The fields saved by `write_settings` for dataclass `what`, refusing keys it does not have: a
    checkpoint written by another version fails with the file and the keys named, not deep in `__init__`."""
    raw = json.loads(Path(file).read_text())
    unknown = set(raw) - {f.name for f in fields(what)}
    if unknown:
        raise ValueError(f"{file}: unknown {what.__name__} settings {sorted(unknown)}")
    return raw


def cut_torn_tail(path: Path) -> int:
    """Truncate a last line that lacks its newline (a run killed mid-write); 1 if there was one.
    An append-only JSONL then continues at a line boundary."""
    data = Path(path).read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    with Path(path).open("rb+") as handle:
        handle.truncate(data.rfind(b"\n") + 1)
    return 1
