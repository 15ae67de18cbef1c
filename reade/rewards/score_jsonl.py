"""Score a JSONL of predictions: what `python -m reade.score` runs, importable without Hydra.

Input rows are `{"id", "prediction", "key_elements"}` (the raw output may sit in another field:
`prediction_field="output"` reads a run's `eval_samples*.jsonl`, whose rows carry their key elements);
every row is checked before anything is judged, and all problems are reported at once with file, line
and field. Output rows are
`{"id", "format", "r_user", "r_detail", "r_supp", "r_contra", "content", "reward", "judge", "weights"}`
(a score is null where the judge gave no verdict), appended and flushed batch by batch. `judge` is the
judge's identity (what keys its verdict cache) and `weights` the reward weights: every row says what
made it, so a file can be read on its own and never averages two judges or two weightings.

Re-running with the same judge and weights skips the rows already scored completely, re-scores rows
with a null (the judge may answer now), and drops a line cut short by a crash; with the judge's
verdict cache, nothing judged before is asked again. Re-running onto an output made by another judge,
other weights or another input is refused before anything is written. A run in which the judge gave
no verdict for any row it scored (a dead server) is an error that names the count.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from reade.data.jsonl import RowProblem
from reade.errors import DataError, ReadeError
from reade.rewards.assigner import RewardAssigner
from reade.rewards.content import SCORE_FIELDS
from reade.schema import SampleKeyElements, SchemaError

log = logging.getLogger(__name__)

SETTINGS_FIELDS = ("judge", "weights")


@dataclass(frozen=True)
class Prediction:
    id: str
    prediction: str
    key_elements: SampleKeyElements


def read_predictions(path: Path, prediction_field: str = "prediction") -> list[Prediction]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows, problems, seen = [], [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row, problem = _parse_row(line, path, number, prediction_field)
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
    input_path: Path, output_path: Path, assigner: RewardAssigner, batch_size: int = 64, progress: bool = True,
    prediction_field: str = "prediction",
) -> dict[str, float]:
    """Score every row not yet scored; returns counts, the rows without a verdict and the mean of each
    field over the whole output. `prediction_field` names the field that holds the raw model output."""
    rows = read_predictions(input_path, prediction_field)
    settings = output_settings(assigner)
    output_path = Path(output_path)
    done = _finished_rows(output_path, {r.id for r in rows}, settings)
    todo = [r for r in rows if r.id not in done]
    log.info("%s: %d rows, %d already scored, %d to score", input_path, len(rows), len(done), len(todo))
    output_path.parent.mkdir(parents=True, exist_ok=True)
    scored = []
    with output_path.open("a", encoding="utf-8") as out, tqdm(total=len(todo), desc="scoring", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            scores = assigner.score([r.prediction for r in batch], [r.key_elements for r in batch])
            for row, score in zip(batch, scores):
                record = {"id": row.id, **score.to_dict(), **settings}
                out.write(json.dumps(record) + "\n")
                done[row.id] = record
                scored.append(record)
            out.flush()
            os.fsync(out.fileno())
            bar.update(len(batch))
    _check_some_verdicts(scored, assigner, output_path)
    return _summary(list(done.values()), skipped=len(rows) - len(todo))


def output_settings(assigner: RewardAssigner) -> dict[str, Any]:
    """What every output row records of the run that made it, as JSON gives it back."""
    return json.loads(json.dumps({"judge": assigner.judge.identity(), "weights": asdict(assigner.weights)}))


def _parse_row(line: str, path: Path, number: int, prediction_field: str) -> tuple[Prediction | None, RowProblem | None]:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        return None, RowProblem(path, number, "row", f"invalid JSON ({error.msg})")
    if not isinstance(raw, dict):
        return None, RowProblem(path, number, "row", f"expected an object, got {type(raw).__name__}")
    missing = [f for f in ("id", prediction_field, "key_elements") if f not in raw]
    if missing:
        return None, RowProblem(path, number, missing[0], "missing")
    if not isinstance(raw["id"], str) or not raw["id"]:
        return None, RowProblem(path, number, "id", "must be a non-empty string")
    if not isinstance(raw[prediction_field], str):
        return None, RowProblem(path, number, prediction_field,
                                f"must be a string, got {type(raw[prediction_field]).__name__}")
    try:
        key_elements = SampleKeyElements.from_dict(raw["key_elements"])
    except SchemaError as error:
        return None, RowProblem(path, number, error.field, str(error).removeprefix(f"{error.field}: "))
    return Prediction(raw["id"], raw[prediction_field], key_elements), None


def _finished_rows(path: Path, wanted: set[str], settings: dict[str, Any]) -> dict[str, dict]:
    """Rows of an earlier run that are complete; the file is rewritten without the others.

    An output that holds ids the input lacks belongs to another input, and one whose rows were made
    by another judge or other weights belongs to another run: both are refused, never overwritten.
    """
    if not path.exists():
        return {}
    records, unreadable = _records(path)
    foreign = [r["id"] for r in records if r["id"] not in wanted]
    if foreign:
        raise DataError(f"{path} holds {len(foreign)} ids that the input does not, e.g. {foreign[0]!r}: choose another output")
    other = [r for r in records if {f: r.get(f) for f in SETTINGS_FIELDS} != settings]
    if other:
        raise DataError(
            f"{path}: {len(other)} of its {len(records)} rows were scored with other settings "
            f"({_differences(other[0], settings)}); one output holds one judge and one weighting: "
            "choose another output, or delete this one to score it again"
        )
    kept = {r["id"]: r for r in records if _complete(r)}
    dropped = unreadable + len(records) - len(kept)
    if dropped:
        log.warning("%s: %d earlier rows incomplete or cut short; they are scored again", path, dropped)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept.values()), encoding="utf-8")
        os.replace(tmp, path)
    return kept


def _records(path: Path) -> tuple[list[dict], int]:
    """The output's rows that carry an id, and the number of non-empty lines that do not (cut short)."""
    records, unreadable = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            records.append(record)
        elif line.strip():
            unreadable += 1
    return records, unreadable


def _differences(record: dict, settings: dict[str, Any], shown: int = 2) -> str:
    """What differs between a row's settings and this run's, field by field (the first `shown` of each)."""
    changes = []
    for field, now in settings.items():
        then = record.get(field)
        if not isinstance(then, dict):
            changes.append(f"{field} not recorded in the file, {now} now")
            continue
        differ = [f"{field}.{key} {then.get(key)!r} in the file, {now.get(key)!r} now"
                  for key in sorted(set(then) | set(now)) if then.get(key) != now.get(key)]
        changes += differ[:shown] + ([f"{len(differ) - shown} more {field} fields"] if len(differ) > shown else [])
    return "; ".join(changes)


def _check_some_verdicts(scored: list[dict], assigner: RewardAssigner, path: Path) -> None:
    """A run in which the judge answered for none of its rows scored nothing: an error, not a file of nulls."""
    if not scored or any(_complete(record) for record in scored):
        return
    stats = assigner.judge.stats
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(stats.reasons.items())) or "no reason recorded"
    raise ReadeError(
        f"the {assigner.judge.backend} judge gave no complete verdict for any of the {len(scored)} rows it scored "
        f"({stats.failed} failed verdicts: {reasons}); they are kept in {path} with nulls and scored again "
        "by a rerun onto the same output"
    )


def _complete(record: dict) -> bool:
    return all(record.get(f) is not None for f in SCORE_FIELDS)


def _summary(records: list[dict], skipped: int) -> dict[str, float]:
    incomplete = sum(not _complete(r) for r in records)
    summary: dict[str, float] = {"rows": len(records), "skipped": skipped, "nan_rows": incomplete,
                                 "nan_share": incomplete / max(len(records), 1)}
    for name in SCORE_FIELDS:
        values = [r[name] for r in records if r[name] is not None]
        summary[f"{name}_mean"] = sum(values) / len(values) if values else math.nan
        summary[f"{name}_missing"] = len(records) - len(values)
    return summary
