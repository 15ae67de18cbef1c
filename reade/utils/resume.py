"""Resuming an append-only JSONL output (construct's ledger, interpret's batch mode): which ids it
already holds, so a rerun continues after them without losing or repeating a row.

A file that is not what the run would have written is refused, never appended to: appending our
rows to someone else's file, or to one made for another input, would mix two outputs for good.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reade.data.jsonl import RowProblem
from reade.errors import DataError
from reade.utils.io import cut_torn_tail

# (field, message) when a row is not one this run would have written, else None.
RowCheck = Callable[[dict[str, Any]], "tuple[str, str] | None"]


def finished_ids(path: Path, wanted: set[str], *, row_kind: str, remedy: str,
                 check: RowCheck = lambda record: None) -> tuple[set[str], int]:
    """(ids in `path`, 1 if its last line was cut short by a kill and dropped, else 0).

    Refused with every problem named by file and line: a line that is not a JSON object (`row_kind`
    says what a line should be), an id missing, not a string or repeated, a row `check` objects to,
    and ids `wanted` (the input's) lacks, which mean the file belongs to another input. `remedy`
    ends the error's first line."""
    path = Path(path)
    if not path.exists():
        return set(), 0
    torn = cut_torn_tail(path)
    ids: set[str] = set()
    problems, foreign = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            identifier = record.get("id")
        except (json.JSONDecodeError, AttributeError):
            problems.append(RowProblem(path, number, "row", f"not {row_kind}; the file was edited or is not ours"))
            continue
        objection = check(record)
        if not isinstance(identifier, str) or identifier in ids:
            problems.append(RowProblem(path, number, "id", f"{identifier!r} is missing, not a string or repeated"))
        elif objection is not None:
            problems.append(RowProblem(path, number, *objection))
        elif identifier not in wanted:
            foreign.append(identifier)
        ids.add(identifier)
    if foreign:
        problems.append(RowProblem(path, 0, "id", f"{len(foreign)} id(s) the input lacks, e.g. {foreign[:3]}: "
                                                  "the file belongs to another input"))
    if problems:
        raise DataError(f"{path}: cannot resume from this file; {remedy}", problems)
    return ids, torn
