"""The output and rejects files of a construction run: append-only, one flushed line per row.

Every input row ends in exactly one of the two files. A row is written in one `write` call, flushed
and fsynced before the next row is, so a killed job loses at most the rows in flight. On restart,
the ids in either file are done and are skipped; a last line without its newline (the job died
mid-write) is cut off first, so that row is built again instead of being read half or duplicated.
A file that holds ids the input lacks belongs to another input and is refused, never appended to.
`retry_rejects` takes the rejected rows out of the rejects file so that they are asked again (after
a server outage, a prompt fix or a larger `max_tokens`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reade.errors import DataError
from reade.utils.resume import finished_ids


class Ledger:
    def __init__(self, out_path: Path, rejects_path: Path):
        self.out_path, self.rejects_path = Path(out_path), Path(rejects_path)
        self.done: set[str] = set()  # ids in out_path
        self.rejected: set[str] = set()  # ids in rejects_path
        self.torn = 0  # cut-off last lines dropped on opening
        self._out = self._rejects = None

    def open(self, wanted: set[str], retry_rejects: bool = False) -> Ledger:
        """Read what an earlier run finished; `wanted` is the set of the input's ids."""
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        self.done = self._finished(self.out_path, wanted)
        self.rejected = self._finished(self.rejects_path, wanted)
        both = self.done & self.rejected
        if both:
            raise DataError(f"{self.out_path} and {self.rejects_path} both hold ids {sorted(both)[:5]}; "
                            "they are not the output of one run")
        if retry_rejects and self.rejected:
            _rewrite_without(self.rejects_path, self.rejected)
            self.rejected = set()
        self._out = self.out_path.open("a", encoding="utf-8")
        self._rejects = self.rejects_path.open("a", encoding="utf-8")
        return self

    def write(self, row: dict[str, Any]) -> None:
        self._append(self._out, row)
        self.done.add(row["id"])

    def reject(self, record: dict[str, Any]) -> None:
        self._append(self._rejects, record)
        self.rejected.add(record["id"])

    def close(self) -> None:
        for handle in (self._out, self._rejects):
            if handle is not None:
                handle.close()
        self._out = self._rejects = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _append(handle, record: dict[str, Any]) -> None:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

    def _finished(self, path: Path, wanted: set[str]) -> set[str]:
        ids, torn = finished_ids(path, wanted, row_kind="a JSON object", remedy="choose another out_dir")
        self.torn += torn
        return ids


def _rewrite_without(path: Path, ids: set[str]) -> None:
    """Atomically drop the lines of `ids` (a rename, so a kill leaves the old file or the new one)."""
    kept = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.strip() and json.loads(line)["id"] not in ids]
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text("".join(kept), encoding="utf-8")
    os.replace(staging, path)
