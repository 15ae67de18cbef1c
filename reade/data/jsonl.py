"""Read a JSONL dataset row by row, so that every problem is reported with its file, line and field.

A broken row (bytes that are not UTF-8, bad JSON, a break of the data contract, a condition file
that does not read, a chat or modality control token in any of its strings) never surfaces as a
crash deep inside a stage: it becomes a `RowProblem`, and the caller decides (`on_error=raise|skip`). The usable rows become a `datasets.Dataset` whose
condition paths are absolute; condition files are read and checked once here, and read again
lazily by the collator when a batch needs them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import datasets
from tqdm.auto import tqdm

from reade.data.conditions import ConditionError, read_condition
from reade.errors import DataError
from reade.models.tokenizer import reserved_problem
from reade.schema import Sample, SchemaError

log = logging.getLogger(__name__)

# The fields each consumer needs beyond the always-required id and instruction.
REQUIRED_FIELDS = {
    "inference": (),
    "sft": ("think", "caption"),
    "sft_answer": ("caption",),  # SFT on the answer alone, without the reasoning trace
    "grpo": ("key_elements",),
    "camera_pretrain": (),  # the target is the describer's caption of the row's trajectory
    "evaluate": ("key_elements",),  # the gold caption, when a row has one, sorts objects into aspects
}


@dataclass(frozen=True)
class RowProblem:
    file: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field or 'row'}: {self.message}"


@dataclass
class LoadReport:
    """What happened to a file: rows read and kept, every problem, conditions left out by kind."""

    file: Path
    rows: int = 0
    kept: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    dropped_conditions: Counter = field(default_factory=Counter)

    @property
    def skipped(self) -> int:
        return self.rows - self.kept


def check_samples(path: Path, require: tuple[str, ...] = (), progress: bool = True) -> tuple[list[Sample], list[RowProblem], int]:
    """Parse and check every row; returns the good samples (condition paths made absolute),
    the problems, and the number of non-blank rows."""
    numbered, problems, rows = check_lines(path, require, progress)
    return [sample for _, sample in numbered], problems, rows


def check_lines(path: Path, require: tuple[str, ...] = (), progress: bool = True) -> tuple[list[tuple[int, Sample]], list[RowProblem], int]:
    """`check_samples` with each good sample's line number, for checks that come later (token
    lengths, what a checkpoint can read) and must name the line too. A missing file, and a file
    without a row, are one problem each."""
    path = Path(path)
    if not path.is_file():
        return [], [RowProblem(path, 0, "file", "no such file")], 0
    base = path.parent
    numbered, problems, rows, seen_ids = [], [], 0, {}
    lines = path.read_bytes().splitlines(keepends=True)
    offset = 0
    for number, raw in enumerate(tqdm(lines, desc=f"checking {path.name}", disable=not progress, leave=False), start=1):
        text, problem = _decode_line(raw, path, number, offset)
        offset += len(raw)
        if problem is not None:
            rows += 1
            problems.append(problem)
            continue
        if not text.strip():
            continue
        rows += 1
        sample, row_problems = _check_row(text, path, number, base, require)
        if row_problems:
            problems.extend(row_problems)
            continue
        if sample.id in seen_ids:
            problems.append(RowProblem(path, number, "id", f"{sample.id!r} repeats line {seen_ids[sample.id]}"))
            continue
        seen_ids[sample.id] = number
        numbered.append((number, sample))
    if rows == 0:
        problems.append(RowProblem(path, 0, "file", "contains no rows"))
    return numbered, problems, rows


def _decode_line(raw: bytes, path: Path, number: int, offset: int) -> tuple[str, RowProblem | None]:
    """The line as text, or the problem of its first byte that is not UTF-8 (JSON text is UTF-8)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as error:
        byte = raw[error.start]
        return "", RowProblem(path, number, "encoding", f"not UTF-8: byte 0x{byte:02x} at byte offset {error.start} "
                                                        f"of the line ({offset + error.start} of the file)")


def _check_row(text: str, path: Path, number: int, base: Path, require: tuple[str, ...]) -> tuple[Sample | None, list[RowProblem]]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [RowProblem(path, number, "json", f"not valid JSON: {error.msg.removesuffix(' at')} at column {error.colno}")]
    try:
        sample = Sample.from_dict(raw)
    except SchemaError as error:
        return None, [RowProblem(path, number, error.field, str(error).removeprefix(f"{error.field}: "))]
    problems = [
        RowProblem(path, number, name, f"sample {sample.id} has no {name}, which this stage needs")
        for name in require
        if getattr(sample, name) is None
    ]
    problems += [RowProblem(path, number, name, problem) for name, problem in _reserved_problems(raw)]
    conditions = []
    for i, condition in enumerate(sample.conditions):
        absolute = replace(condition, path=str((base / condition.path).resolve()))
        try:
            read_condition(condition.kind, Path(absolute.path))
        except ConditionError as error:
            problems.append(RowProblem(path, number, f"conditions[{i}].path", str(error)))
        conditions.append(absolute)
    return replace(sample, conditions=tuple(conditions)), problems


def _reserved_problems(value: Any, field: str = "") -> Iterator[tuple[str, str]]:
    """(field, problem) for every string of a row, at any depth, that holds a control token
    (`reserved_problem`): `caption.dense`, `key_elements.user.objects[0].name`, `meta.gold_caption`."""
    if isinstance(value, str):
        problem = reserved_problem(value)
        if problem is not None:
            yield field or "row", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _reserved_problems(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _reserved_problems(item, f"{field}[{index}]")


def load_split(path: Path, *, kinds: list[str], on_error: str, require: tuple[str, ...]) -> tuple[datasets.Dataset, LoadReport]:
    """Load one split for training or evaluation, applying `on_error` and the condition kinds in use."""
    if on_error not in ("raise", "skip"):
        raise DataError(f"data.on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path)
    numbered, problems, rows = check_lines(path, require)
    report = LoadReport(file=path, rows=rows, problems=problems)
    fatal = [p for p in problems if p.field == "file"]
    if fatal or (problems and on_error == "raise"):
        raise DataError(f"{path}: {len(problems)} problem(s) in {rows} row(s) (data.on_error={on_error}):", problems)
    for problem in problems:
        log.warning("skipped %s", problem)
    kept_rows = []
    for line, sample in numbered:
        kept = tuple(c for c in sample.conditions if c.kind in kinds)
        report.dropped_conditions.update(c.kind for c in sample.conditions if c.kind not in kinds)
        kept_rows.append(dataset_row(replace(sample, conditions=kept), require, line))
    report.kept = len(kept_rows)
    if not kept_rows:
        raise DataError(f"{path}: every one of {rows} row(s) was skipped", problems)
    log.info(
        "%s: %d rows kept, %d skipped%s",
        path,
        report.kept,
        report.skipped,
        "".join(f"; {n} {kind} condition(s) left out (condition.kinds={kinds})" for kind, n in sorted(report.dropped_conditions.items())),
    )
    return datasets.Dataset.from_list(kept_rows), report


def dataset_row(sample: Sample, require: tuple[str, ...], line: int) -> dict:
    """A checked sample as a row of the `datasets.Dataset` stages read, with its line in the file."""
    return {
        "id": sample.id,
        "line": line,
        "instruction": sample.instruction,
        # every key in every row: arrow infers one struct for the whole column
        "conditions": [{"kind": c.kind, "path": c.path, "description": c.description} for c in sample.conditions],
        "target": sample.target(reasoning="think" in require) if "caption" in require else None,
        # JSON text: arrow would otherwise merge the nested key-element sets into one inferred schema
        "key_elements": json.dumps(sample.key_elements.to_dict()) if "key_elements" in require else None,
        "caption": json.dumps(sample.caption.to_dict()) if sample.caption is not None else None,
        "think": sample.think,
        "reasoning": sample.meta.get("reasoning") if isinstance(sample.meta.get("reasoning"), str) else None,
    }


def report_summary(reports: dict[str, LoadReport]) -> dict[str, float]:
    """Counts a reviewer needs to trust a run: rows kept and skipped, conditions left out, per split."""
    summary = {}
    for split, report in reports.items():
        summary[f"data/{split}_rows"] = report.kept
        summary[f"data/{split}_skipped"] = report.skipped
        for kind, n in report.dropped_conditions.items():
            summary[f"data/{split}_dropped_{kind}"] = n
    return summary
