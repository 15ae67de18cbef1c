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

from reade.data.jsonl import REQUIRED_FIELDS, RowProblem, check_lines
from reade.errors import ConfigError, DataError
from reade.inference.runner import Interpreter, RowError
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
    their condition files are all checked first (`check_lines`), and then each row as the checkpoint
    would take it (`Interpreter.check_row`: condition kinds it can read, what its processor refuses,
    the model's context). `on_error=raise`: any problem stops the run before decoding, every problem
    listed as file:line: field. `skip`: bad rows are logged, counted and left out. With `sample` and
    `seed`, the batch starting at position i of this run's rows draws from seed + i.
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    input_path, output_path = Path(input_path), Path(output_path)
    numbered, problems, rows = check_lines(input_path, REQUIRED_FIELDS["inference"], progress=progress)
    usable = []
    for line, sample_row in numbered:
        try:
            interpreter.check_row(sample_row.instruction, [(c.kind, c.path) for c in sample_row.conditions])
        except RowError as error:
            problems.append(RowProblem(input_path, line, error.field, error.problem))
            continue
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
    written, answered, longest = 0, 0, 0
    with output_path.open("a", encoding="utf-8") as out, tqdm(total=len(todo), desc="interpreting",
                                                              disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            batch_seed = None if seed is None else seed + start
            results = interpreter.interpret_batch(
                [row.instruction for row in batch], [[(c.kind, c.path) for c in row.conditions] for row in batch],
                sample=sample, seed=batch_seed, batch_size=len(batch))
            for sample_row, result in zip(batch, results):
                out.write(json.dumps({"id": sample_row.id, **result.to_dict()}, ensure_ascii=False) + "\n")
                answered += result.caption is not None
                longest = max(longest, result.prompt_tokens)
            out.flush()
            os.fsync(out.fileno())
            written += len(results)
            bar.update(len(batch))
    return {
        "rows": rows,
        "skipped": len(problems),
        "resumed": len(done),
        "written": written,
        "answer_rate": answered / written if written else math.nan,
        "prompt_tokens_max": longest,
        "budget": interpreter.prompter.budget,
    }


def _finished_ids(path: Path, wanted: set[str], interpreter: Interpreter) -> set[str]:
    """Ids an earlier run wrote to `path` (a last line cut short by a kill is dropped first). Rows
    made with another checkpoint or generator are refused, as `finished_ids` refuses what is not ours."""
    made_by = (interpreter.checkpoint, interpreter.prompter.generator.name)

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
