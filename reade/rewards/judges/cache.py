"""Judge verdicts on disk, keyed by (judge identity, input) hash.

SQLite because it is in the standard library, survives a crash mid-write (each batch is one
transaction) and lets the ranks of a multi-process run share one file (writers wait on its lock).
Re-scoring a prediction with the same judge is free; changing anything that can change a verdict
(model, prompt version, temperature, threshold) changes the identity and so the key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Mapping

LOCK_TIMEOUT_S = 60.0


def verdict_key(identity: Mapping[str, Any], kind: str, payload: Any) -> str:
    blob = json.dumps({"judge": identity, "kind": kind, "input": payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class VerdictCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, value REAL NOT NULL)")
        self._db.commit()

    def get_many(self, keys: Iterable[str]) -> dict[str, float]:
        keys = list(dict.fromkeys(keys))
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT key, value FROM verdicts WHERE key IN ({marks})", chunk))
        return found

    def put_many(self, verdicts: Mapping[str, float]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO verdicts (key, value) VALUES (?, ?)", verdicts.items())

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]

    def close(self) -> None:
        self._db.close()
