"""Score a JSONL of predictions: what `python -m reade.score` runs, importable without Hydra.

Input rows are `{"id", "prediction", "key_elements"}`; every row is checked before anything is
judged, and all problems are reported at once with file, line and field. Output rows are
`{"id", "format", "r_user", "r_detail", "r_supp", "r_contra", "content", "reward"}` (null where the
judge gave no verdict), appended and flushed batch by batch. Re-running skips the rows already
scored completely, re-scores rows with a null (the judge may answer now), and drops a line cut short
by a crash; with the judge's verdict cache, nothing judged before is asked again.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from reade.data.jsonl import RowProblem
from reade.errors import DataError
from reade.rewards.assigner import RewardAssigner
from reade.schema import SampleKeyElements, SchemaError

log = logging.getLogger(__name__)

SCORE_FIELDS = ("format", "r_user", "r_detail", "r_supp", "r_contra", "content", "reward")


@dataclass(frozen=True)
class Prediction:
    id: str
    prediction: str
    key_elements: SampleKeyElements


def read_predictions(path: Path) -> list[Prediction]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows, problems, seen = [], [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row, problem = _parse_row(line, path, number)
        if problem is None and row.id in seen:
            problem = RowProblem(path, number, "id", f"{row.id!r} repeats line {seen[row.id]}")
        if problem is not None:
            problems.append(problem)
            continue
        seen[row.id] = number
        rows.append(row)
    if problems:
        raise DataError(f"{path}: {len(problems)} unusable rows, nothing scored", problems)
    return rows


def score_jsonl(
    input_path: Path, output_path: Path, assigner: RewardAssigner, batch_size: int = 64, progress: bool = True
) -> dict[str, float]:
    """Score every row not yet scored; returns counts and the mean of each field over the whole output."""
    rows = read_predictions(input_path)
    done = _finished_rows(Path(output_path), {r.id for r in rows})
    todo = [r for r in rows if r.id not in done]
    log.info("%s: %d rows, %d already scored, %d to score", input_path, len(rows), len(done), len(todo))
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("a", encoding="utf-8") as out, tqdm(total=len(todo), desc="scoring", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            scores = assigner.score([r.prediction for r in batch], [r.key_elements for r in batch])
            for row, score in zip(batch, scores):
                record = {"id": row.id, **score.to_dict()}
                out.write(json.dumps(record) + "\n")
                done[row.id] = record
            out.flush()
            os.fsync(out.fileno())
            bar.update(len(batch))
    return _summary(list(done.values()), skipped=len(rows) - len(todo))


def _parse_row(line: str, path: Path, number: int) -> tuple[Prediction | None, RowProblem | None]:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        return None, RowProblem(path, number, "row", f"invalid JSON ({error.msg})")
    if not isinstance(raw, dict):
        return None, RowProblem(path, number, "row", f"expected an object, got {type(raw).__name__}")
    missing = [f for f in ("id", "prediction", "key_elements") if f not in raw]
    if missing:
        return None, RowProblem(path, number, missing[0], "missing")
    if not isinstance(raw["id"], str) or not raw["id"]:
        return None, RowProblem(path, number, "id", "must be a non-empty string")
    if not isinstance(raw["prediction"], str):
        return None, RowProblem(path, number, "prediction", f"must be a string, got {type(raw['prediction']).__name__}")
    try:
        key_elements = SampleKeyElements.from_dict(raw["key_elements"])
    except SchemaError as error:
        return None, RowProblem(path, number, error.field, str(error).removeprefix(f"{error.field}: "))
    return Prediction(raw["id"], raw["prediction"], key_elements), None


def _finished_rows(path: Path, wanted: set[str]) -> dict[str, dict]:
    """Rows of an earlier run that are complete; the file is rewritten without the others.

    An output that holds ids the input lacks belongs to another input: refused, never overwritten.
    """
    if not path.exists():
        return {}
    kept, dropped, foreign = {}, 0, []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            complete = all(record[f] is not None for f in SCORE_FIELDS)
            identifier = record["id"]
        except (json.JSONDecodeError, KeyError, TypeError):
            complete, identifier = False, None
        if identifier is not None and identifier not in wanted:
            foreign.append(identifier)
        elif complete:
            kept[identifier] = record
        elif line.strip():
            dropped += 1
    if foreign:
        raise DataError(f"{path} holds {len(foreign)} ids that the input does not, e.g. {foreign[0]!r}: choose another output")
    if dropped:
        log.warning("%s: %d earlier rows incomplete or cut short; they are scored again", path, dropped)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept.values()), encoding="utf-8")
        os.replace(tmp, path)
    return kept


def _summary(records: list[dict], skipped: int) -> dict[str, float]:
    summary: dict[str, float] = {"rows": len(records), "skipped": skipped}
    for name in SCORE_FIELDS:
        values = [r[name] for r in records if r[name] is not None]
        summary[f"{name}_mean"] = sum(values) / len(values) if values else math.nan
        summary[f"{name}_missing"] = len(records) - len(values)
    return summary
