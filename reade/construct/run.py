"""Run one construction stage over a JSONL file: what `python -m reade.construct` does, without Hydra.

Every input row is checked first (file, line and field for each problem; nothing is asked of the
teacher while any row is broken), then the rows that neither `out.jsonl` nor `rejects.jsonl` holds
yet are built, `concurrency` rows at a time, and each lands in one of the two files as soon as it is
done (`reade.construct.ledger`). At the end a summary (rows, rejects by step, tokens, cost) is
logged and written to `summary.json` beside them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from reade.construct.ledger import Ledger
from reade.construct.teacher import Endpoints, Rejected
from reade.data.jsonl import RowProblem, check_lines
from reade.errors import DataError
from reade.schema import Sample

log = logging.getLogger(__name__)

OUT_FILE, REJECTS_FILE, SUMMARY_FILE = "out.jsonl", "rejects.jsonl", "summary.json"


class Stage(Protocol):
    name: str
    require: tuple[str, ...]

    def problem(self, sample: Sample) -> tuple[str, str] | None: ...

    async def row(self, sample: Sample, endpoints: Endpoints) -> dict[str, Any]: ...


def construct(
    stage: Stage,
    input_path: Path,
    out_dir: Path,
    endpoints: Endpoints,
    concurrency: int = 8,
    retry_rejects: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    if concurrency < 1:
        raise DataError(f"concurrency must be >= 1, got {concurrency}")
    started = time.monotonic()
    samples = read_input(Path(input_path), stage, progress)
    out_dir = Path(out_dir)
    with Ledger(out_dir / OUT_FILE, out_dir / REJECTS_FILE).open({s.id for s in samples}, retry_rejects) as ledger:
        skipped = len(ledger.done) + len(ledger.rejected)
        todo = [s for s in samples if s.id not in ledger.done and s.id not in ledger.rejected]
        log.info("%s: %d rows, %d done or rejected before, %d to build (stage %s)",
                 input_path, len(samples), skipped, len(todo), stage.name)
        built, reasons = asyncio.run(_build_all(stage, todo, endpoints, ledger, out_dir, concurrency, progress))
        summary = {
            "stage": stage.name,
            "input": str(input_path),
            "rows": len(samples),
            "built": built,
            "rejected": sum(reasons.values()),
            "skipped_already_done": skipped,
            "torn_lines_dropped": ledger.torn,
            "out_rows": len(ledger.done),
            "rejects_rows": len(ledger.rejected),
            "rejected_by_step": dict(sorted(reasons.items())),
            **_usage(endpoints),
            "seconds": round(time.monotonic() - started, 2),
        }
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def read_input(path: Path, stage: Stage, progress: bool = True) -> list[Sample]:
    """The rows of `path`, condition files read and checked, condition paths made absolute."""
    numbered, problems, rows = check_lines(path, stage.require, progress)
    for line, sample in numbered:
        problem = stage.problem(sample)
        if problem is not None:
            problems.append(RowProblem(path, line, *problem))
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s) in {rows} row(s); nothing was sent to the teacher:", problems)
    return [sample for _, sample in numbered]


async def _build_all(stage: Stage, todo: list[Sample], endpoints: Endpoints, ledger: Ledger, out_dir: Path,
                     concurrency: int, progress: bool) -> tuple[int, Counter]:
    queue: asyncio.Queue[Sample] = asyncio.Queue()
    for sample in todo:
        queue.put_nowait(sample)
    built, reasons = 0, Counter()
    bar = tqdm(total=len(todo), desc=f"construct {stage.name}", unit="row", disable=not progress)

    async def worker() -> None:
        nonlocal built
        while not queue.empty():
            sample = queue.get_nowait()
            try:
                row = await stage.row(sample, endpoints)
            except Rejected as rejection:
                ledger.reject(rejection.record(sample.id, stage.name))
                reasons[rejection.step] += 1
            except (OSError, ValueError) as error:  # a condition file that changed since it was checked
                log.warning("row %s: %s: %s", sample.id, type(error).__name__, error)
                ledger.reject({"id": sample.id, "stage": stage.name, "step": "input",
                               "reason": f"{type(error).__name__}: {error}"})
                reasons["input"] += 1
            else:
                ledger.write(relative_paths(row, out_dir))
                built += 1
            bar.update()
            bar.set_postfix(built=built, rejected=sum(reasons.values()), refresh=False)

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo)))))
    finally:
        bar.close()
        for endpoint in endpoints.distinct():
            await endpoint.aclose()
    return built, reasons


def relative_paths(row: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Condition paths relative to the output file, as the data contract wants (the input's are absolute here)."""
    base = out_dir.resolve()
    return {**row, "conditions": [{k: v for k, v in c.items() if v is not None} | {"path": os.path.relpath(c["path"], base)}
                             for c in row["conditions"]]}


def _usage(endpoints: Endpoints) -> dict[str, Any]:
    per_endpoint = [endpoint.usage_summary() for endpoint in endpoints.distinct()]
    costs = [entry["cost"] for entry in per_endpoint]
    return {
        "prompt_tokens": sum(entry["prompt_tokens"] for entry in per_endpoint),
        "completion_tokens": sum(entry["completion_tokens"] for entry in per_endpoint),
        "requests": sum(entry["requests"] for entry in per_endpoint),
        "cost": None if any(cost is None for cost in costs) else round(sum(costs), 6),
        "endpoints": per_endpoint,
    }
