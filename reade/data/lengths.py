"""Rows against the token limit of the batches they go into, counted with the stage's processor.

The collator refuses a batch whose prompt + target exceed `data.max_length` (GRPO: a prompt over
`stage.max_prompt_length`). A row fails only in a batch that keeps its instruction, so with
instruction dropout the failing step is random. Counting every row as written, instruction kept,
with the processor the stage will use finds them all before any model loads: `reade.train` and
`reade.data.validate` both count with `count_lengths`, and training keeps the counts for
length-grouped batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from reade.data.condition_files import read_payloads
from reade.data.jsonl import LoadReport, RowProblem
from reade.errors import DataError
from reade.models.processing import InterpreterProcessor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenLimit:
    """`max_length` tokens per row, as the setting named `setting` (`data.max_length`) sets it."""

    processor: InterpreterProcessor
    max_length: int
    setting: str


@dataclass
class LengthCount:
    """Rows counted against a `TokenLimit` (`count_lengths`)."""

    tokens: list[int]  # each row's prompt (+ target) tokens, in row order; 0 for a row the processor refuses
    problems: list[RowProblem]  # a row over the limit (field `tokens`) or refused (field `row`)
    uncounted: set[str]  # condition kinds left out of the count: the processor cannot lay them out


def count_lengths(path: Path, rows: Iterable[dict[str, Any]], limit: TokenLimit, *,
                  with_targets: bool = True) -> LengthCount:
    """Each row's tokens as its batch lays it out, instruction kept; a problem for each row over the
    limit and for each the processor refuses; and the condition kinds left out of the count because
    the processor cannot lay them out (a camera trajectory without a camera encoder:
    `reade.data.validate` with the tiny default's processor). Rows are `dataset_row`s (line,
    instruction, conditions, target); the target counts when `with_targets` and the row has one."""
    count = LengthCount([], [], set())
    for row in rows:
        payloads = []
        for kind, payload in read_payloads(row):
            if limit.processor.unreadable(kind) is None:
                payloads.append((kind, payload))
            else:
                count.uncounted.add(kind)
        target = row["target"] if with_targets else None
        try:
            prompt, target_tokens = limit.processor.lengths(row["instruction"], payloads, target)
        except ValueError as error:
            count.tokens.append(0)
            count.problems.append(RowProblem(path, row["line"], "row", str(error)))
            continue
        count.tokens.append(prompt + target_tokens)
        if prompt + target_tokens > limit.max_length:
            count.problems.append(RowProblem(path, row["line"], "tokens", _over(row, prompt, target_tokens, limit)))
    return count


def length_problems(path: Path, rows: Iterable[dict[str, Any]], limit: TokenLimit, *,
                    with_targets: bool = True) -> tuple[list[RowProblem], set[str]]:
    """`count_lengths`' problems and uncounted kinds."""
    count = count_lengths(path, rows, limit, with_targets=with_targets)
    return count.problems, count.uncounted


def _over(row: dict[str, Any], prompt: int, target: int, limit: TokenLimit) -> str:
    instruction = len(limit.processor.tokenizer.encode(row["instruction"], add_special_tokens=False))
    counted = f"{prompt} prompt + {target} target tokens" if target else f"{prompt} prompt tokens"
    return f"{counted} exceed {limit.setting}={limit.max_length} (the instruction alone is {instruction})"


def within_limit(dataset: datasets.Dataset, report: LoadReport, limit: TokenLimit, *, on_error: str,
                 with_targets: bool) -> datasets.Dataset:
    """A loaded split without its rows over the limit, each row's count in a `tokens` column (what
    length-grouped batches sort by, `stage.group_by_length`): `on_error=raise` stops with every one
    named (file:line), `skip` drops and counts them in `report` as `load_split` does its own."""
    count = count_lengths(report.file, dataset, limit, with_targets=with_targets)
    problems = count.problems
    if "tokens" in dataset.column_names:  # counted before: the new counts replace the old
        dataset = dataset.remove_columns("tokens")
    dataset = dataset.add_column("tokens", count.tokens)
    if not problems:
        return dataset
    if on_error == "raise":
        raise DataError(f"{report.file}: {len(problems)} row(s) the stage's batches would refuse "
                        f"(data.on_error={on_error}):", problems)
    for problem in problems:
        log.warning("skipped %s", problem)
    bad = {problem.line for problem in problems}
    report.problems.extend(problems)
    report.kept -= len(bad)
    if report.kept == 0:
        raise DataError(f"{report.file}: every one of {report.rows} row(s) was skipped", report.problems)
    return dataset.select([index for index, line in enumerate(dataset["line"]) if line not in bad])
