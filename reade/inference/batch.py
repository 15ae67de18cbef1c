"""Batch mode over a JSONL of rows in the data contract (`python -m reade.interpret input=... output=...`).

Every row is checked before anything is decoded, and output lines are appended and fsynced batch by
batch, so a rerun after a kill neither loses nor repeats a row.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

from tqdm.auto import tqdm

from reade.data.jsonl import REQUIRED_FIELDS, RowProblem, check_samples
from reade.errors import ConfigError, DataError
from reade.inference.interpreter import Interpreter, RowError
from reade.utils.resume import finished_ids

log = logging.getLogger(__name__)


# ---- batch mode over a JSONL -----------------------------------------------------------------------


def interpret_jsonl(
    interpreter: Interpreter,
    input_path: Path,
    output_path: Path,
    *,
    batch_size: int = 8,
    on_error: str = "raise",
    sample: bool = False,
    seed: int | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """One output line per usable input row, `{"id", ...Interpretation.to_dict()}`; returns counts.

    Rows (id, instruction, conditions; the other contract fields may be there and are ignored) and
    their condition files are all checked first, and so is whether the checkpoint can read each
    condition kind. `on_error=raise`: any problem stops the run before decoding, every problem
    listed as file:line: field. `skip`: bad rows are logged, counted and left out. A row that only
    the processor refuses (audio too short for one token) is named the same way when its batch
    comes; under `skip` the rest of the batch is decoded without it. With `sample` and `seed`, the
    batch starting at position i of this run's rows draws from seed + i.
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    input_path, output_path = Path(input_path), Path(output_path)
    samples, problems, rows = check_samples(input_path, REQUIRED_FIELDS["inference"], progress=progress)
    if rows == 0 and not problems:
        problems.append(RowProblem(input_path, 0, "file", "contains no rows"))
    line_of: dict[str, int] = {}
    usable = []
    for sample_row in samples:
        for index, condition in enumerate(sample_row.conditions):
            problem = interpreter.unreadable(condition.kind)
            if problem is not None:
                line_of = line_of or _line_numbers(input_path)
                problems.append(RowProblem(input_path, line_of[sample_row.id], f"conditions[{index}].kind", problem))
                break
        else:
            usable.append(sample_row)
    if any(p.field == "file" for p in problems) or (problems and on_error == "raise"):
        raise DataError(f"{input_path}: {len(problems)} problem(s) in {rows} row(s) (on_error={on_error}), nothing "
                        "interpreted:", problems)
    for problem in problems:
        log.warning("skipped %s", problem)
    done = _finished_ids(output_path, {s.id for s in usable}, interpreter)
    todo = [s for s in usable if s.id not in done]
    log.info("%s: %d rows, %d skipped, %d already in %s, %d to interpret", input_path, rows, len(problems), len(done),
             output_path, len(todo))
    output_path.parent.mkdir(parents=True, exist_ok=True)
    written, answered, longest, failed = 0, 0, 0, 0
    with output_path.open("a", encoding="utf-8") as out, tqdm(total=len(todo), desc="interpreting",
                                                              disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            batch_seed = None if seed is None else seed + start
            results, refused = _interpret_rows(interpreter, batch, input_path, sample, batch_seed, on_error)
            for sample_row, result in results:
                out.write(json.dumps({"id": sample_row.id, **result.to_dict()}, ensure_ascii=False) + "\n")
                answered += result.caption is not None
                longest = max(longest, result.prompt_tokens)
            out.flush()
            os.fsync(out.fileno())
            written += len(results)
            failed += refused
            bar.update(len(batch))
    return {
        "rows": rows,
        "skipped": len(problems) + failed,
        "resumed": len(done),
        "written": written,
        "answer_rate": answered / written if written else math.nan,
        "prompt_tokens_max": longest,
        "budget": interpreter.prompter.budget,
    }


def _interpret_rows(interpreter: Interpreter, batch: list, input_path: Path, sample: bool, seed: int | None,
                    on_error: str) -> tuple[list, int]:
    """(row, interpretation) pairs of a batch and the number of rows refused; a row the interpreter
    refuses stops the run (raise) or is taken out and the rest decoded again (skip)."""
    pending, refused = list(batch), 0
    while pending:
        try:
            results = interpreter.interpret_batch(
                [row.instruction for row in pending], [[(c.kind, c.path) for c in row.conditions] for row in pending],
                sample=sample, seed=seed, batch_size=len(pending))
            return list(zip(pending, results)), refused
        except RowError as error:
            row = pending.pop(error.row)
            problem = RowProblem(input_path, _line_numbers(input_path)[row.id], error.field, error.problem)
            if on_error == "raise":
                raise DataError(f"{input_path}: a row the interpreter cannot read; rows before it are written:",
                                [problem]) from None
            log.warning("skipped %s", problem)
            refused += 1
    return [], refused


def _line_numbers(path: Path) -> dict[str, int]:
    """Line of each id of a checked input (only asked when a row turns out to be unusable)."""
    numbers = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # blank, or a broken row that check_samples reported already
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            numbers.setdefault(row["id"], number)
    return numbers


def _finished_ids(path: Path, wanted: set[str], interpreter: Interpreter) -> set[str]:
    """Ids an earlier run wrote to `path` (a last line cut short by a kill is dropped first). Rows
    made with another checkpoint or generator are refused, as `finished_ids` refuses what is not ours."""
    made_by = (interpreter.checkpoint, interpreter.prompter.profile.name)

    def origin(record: dict) -> tuple[str, str] | None:
        try:
            made = (record["checkpoint"], record["generator"]["name"])
        except (KeyError, TypeError):
            return "row", "not an interpretation row; the file was edited or is not ours"
        if made != made_by:
            return "checkpoint", f"made with checkpoint {made[0]} and generator {made[1]}, not {made_by[0]} and {made_by[1]}"
        return None

    ids, torn = finished_ids(path, wanted, row_kind="an interpretation row", remedy="choose another output", check=origin)
    if torn:
        log.warning("%s: dropped a last line cut short by an interrupted run; that row is interpreted again", path)
    return ids
