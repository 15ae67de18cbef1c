"""Stage select: the RL training set of paper 3.2.2, chosen from GRPO-ready rows without a teacher.

The paper does not sample its 8.3K RL rows at random: it balances instruction complexity, by textual
type and by the number of non-textual conditions, and keeps only rows whose structured caption and
key elements the reward needs. Here, in this order:

1. Load. Every row must carry think, caption and key_elements; every problem of the input or of an
   eval file is named by file, line and field, and nothing is written while any remains.
2. Deduplicate. Two rows are the same RL prompt when the policy would see the same thing: the same
   normalised instruction (`similarity.words`) and, with `match_conditions` (default), the same
   condition files, compared by kind and content hash (sha256), not by path, so that a copy of a
   test asset under another folder still counts. A near-duplicate has a word-shingle Jaccard
   similarity >= `near_threshold` over the instruction (and the same conditions, likewise). Rows are
   read in input order against every eval row and every row kept so far; a row that matches is
   dropped, naming the row it matched (the most similar; ties: eval rows, then the earliest).
   Overlap with eval rows is `eval_overlap` / `eval_near_overlap`, within the input `duplicate` /
   `near_duplicate`. `match_conditions=false` compares instructions alone (stricter: the same text
   over other identity images or trajectories is dropped too).
3. Balance. A stratum is (instruction type, number of non-text conditions). The type is the
   teacher's `meta.construct.operation` (create/add/modify/remove, written by stage cot), else
   `meta.instruction_kind` (the synthetic data's plain/ambiguous/edit/reasoning), else "unknown".
   `target` rows (None: all) are shared by water-filling (`water_fill`): every stratum gets
   min(its size, the fair share), and what the small strata cannot use is shared again among the
   others. Within a stratum, the rows are a sample seeded by (`seed`, stratum), so one stratum's
   choice does not depend on the others'. Rows left out are dropped with reason `balance`.

Every input row ends in `selected.jsonl` (rows in input order, as the loader reads them, condition
paths made relative to it) or in `dropped.jsonl` (id and reason; for a duplicate also the id and file
it collided with and the similarity, for `balance` its stratum). `summary.json` counts them by
reason and stratum, and `statistics.md` holds the tables of the paper's Tables 11 and 12. Outputs
are staged and renamed into place (see `_publish`); rerunning the same command writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from reade.construct.run import relative_paths
from reade.construct.similarity import NearIndex, shingles, token_frequency, words
from reade.data.jsonl import REQUIRED_FIELDS, check_samples
from reade.errors import ConfigError, DataError
from reade.schema import CONDITION_KINDS, Sample

log = logging.getLogger(__name__)

SELECTED, DROPPED, SUMMARY, STATISTICS = "selected.jsonl", "dropped.jsonl", "summary.json", "statistics.md"
TEXT_ONLY = "text only"
REQUIRE = tuple(dict.fromkeys(REQUIRED_FIELDS["sft"] + REQUIRED_FIELDS["grpo"]))  # think, caption, key_elements
EVAL_REASONS = {"duplicate": "eval_overlap", "near_duplicate": "eval_near_overlap"}
K = TypeVar("K")


@dataclass(frozen=True)
class Selection:
    """`target`: rows to keep (None: every row that survives deduplication); `seed`: the draw within
    strata; `near_threshold`: the Jaccard similarity from which two instructions are near-duplicates;
    `shingle`: words per shingle; `match_conditions`: duplicates must also share their condition files."""

    name: ClassVar[str] = "select"

    target: int | None = None
    seed: int = 0
    near_threshold: float = 0.8
    shingle: int = 3
    match_conditions: bool = True

    def check(self) -> None:
        """Raises ConfigError; called by `select`, not on construction, where Hydra would wrap the error."""
        if not 0.0 < self.near_threshold <= 1.0:
            raise ConfigError(f"stage.near_threshold must be in (0, 1], got {self.near_threshold}")
        if self.shingle < 1:
            raise ConfigError(f"stage.shingle must be >= 1, got {self.shingle}")
        if self.target is not None and self.target < 1:
            raise ConfigError(f"stage.target must be >= 1 or null (all rows), got {self.target}")


@dataclass(frozen=True)
class Prompt:
    """One row as deduplication compares it: where it is from, its instruction, its conditions."""

    id: str
    file: Path
    text: str  # the normalised instruction
    shingles: frozenset
    conditions: tuple[tuple[str, str], ...]  # sorted (kind, sha256) pairs


def select(selection: Selection, input_path: Path, out_dir: Path, eval_files: list[Path],
           progress: bool = True) -> tuple[dict[str, Any], str]:
    """Run the stage; returns the summary and the statistics (markdown), both also written to out_dir."""
    selection.check()
    input_path, out_dir = Path(input_path), Path(out_dir)
    if input_path.resolve() in {Path(p).resolve() for p in eval_files}:
        raise ConfigError(f"{input_path} is also in eval_files: every row would overlap itself")
    samples = _load(input_path, REQUIRE, progress)
    evals = {Path(p): _load(Path(p), (), progress) for p in eval_files}
    hashes = _ContentHashes()
    prompts = [_prompt(s, input_path, selection.shingle, hashes) for s in samples]
    eval_prompts = [_prompt(s, path, selection.shingle, hashes) for path, rows in evals.items() for s in rows]
    kept_ids, dropped = deduplicate(prompts, eval_prompts, selection.near_threshold, selection.match_conditions)
    kept = [s for s in samples if s.id in kept_ids]

    sizes = Counter(stratum(s) for s in kept)
    quotas = water_fill(sizes, len(kept) if selection.target is None else selection.target)
    chosen = _draw(kept, quotas, selection.seed)
    for s in kept:
        if s.id not in chosen:
            dropped[s.id] = {"id": s.id, "reason": "balance", "stratum": _name(stratum(s))}
    if selection.target is not None and selection.target > len(kept):
        log.warning("stage.target=%d but only %d rows survive deduplication; all are kept",
                    selection.target, len(kept))

    selected = [s for s in kept if s.id in chosen]
    records = [dropped[s.id] for s in samples if s.id in dropped]
    summary = {
        "stage": selection.name,
        "input": str(input_path),
        "eval_files": [str(p) for p in eval_files],
        "rows": len(samples),
        "eval_rows": len(eval_prompts),
        "deduplicated": len(kept),
        "target": selection.target,
        "selected": len(selected),
        "dropped": dict(sorted(Counter(r["reason"] for r in records).items())),
        "strata": {_name(k): {"available": sizes[k], "selected": quotas[k]} for k in sorted(sizes)},
        "settings": asdict(selection),
    }
    statistics = statistics_markdown({"input": samples, "deduplicated": kept, "selected": selected}, hashes)
    _publish(out_dir, {
        SELECTED: "".join(_line(relative_paths(s.to_dict(), out_dir)) for s in selected),
        DROPPED: "".join(_line(r) for r in records),
        STATISTICS: statistics,
        SUMMARY: json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
    })
    return summary, statistics


def deduplicate(prompts: list[Prompt], eval_prompts: list[Prompt], threshold: float,
                match_conditions: bool) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """The ids of `prompts` kept, and a drop record per id dropped (see the module docstring)."""
    frequency = token_frequency(p.shingles for p in [*eval_prompts, *prompts])
    exact: dict[tuple, Prompt] = {}
    near: dict[tuple, NearIndex] = {}
    kept, dropped = set(), {}

    def group(p: Prompt) -> tuple:
        return p.conditions if match_conditions else ()

    def remember(p: Prompt) -> None:
        exact.setdefault((group(p), p.text), p)
        near.setdefault(group(p), NearIndex(threshold, frequency)).add(p, p.shingles)

    for p in eval_prompts:
        remember(p)
    for p in prompts:
        found = exact.get((group(p), p.text))
        if found is not None:
            kind, other, similarity = "duplicate", found, 1.0
        elif group(p) in near and (nearest := near[group(p)].best(p.shingles)) is not None:
            kind, (other, similarity) = "near_duplicate", nearest
        else:
            kept.add(p.id)
            remember(p)
            continue
        reason = kind if other.file == p.file else EVAL_REASONS[kind]
        dropped[p.id] = {"id": p.id, "reason": reason, "with": other.id, "in": str(other.file),
                         "similarity": round(similarity, 4)}
    return kept, dropped


def instruction_type(sample: Sample) -> str:
    """The teacher's operation (stage cot), else the synthetic instruction kind, else "unknown"."""
    construct = sample.meta.get("construct")
    for value in (construct.get("operation") if isinstance(construct, dict) else None,
                  sample.meta.get("instruction_kind")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "unknown"


def stratum(sample: Sample) -> tuple[str, int]:
    return instruction_type(sample), len(sample.conditions)


def water_fill(sizes: Mapping[K, int], target: int) -> dict[K, int]:
    """How many rows each stratum gives so that `target` rows (at most all) are spread as evenly as
    the sizes allow: visiting strata from the smallest, each takes min(size, remaining // strata
    left); once every stratum left is larger than its share, each takes the share and the r rows that
    do not divide evenly go one each to the first r of them in key order."""
    quotas: dict[K, int] = {}
    remaining = min(target, sum(sizes.values()))
    order = sorted(sizes, key=lambda key: (sizes[key], key))
    for i, key in enumerate(order):
        share = remaining // (len(order) - i)
        if sizes[key] <= share:
            quotas[key] = sizes[key]
            remaining -= sizes[key]
            continue
        rest = sorted(order[i:])
        extra = remaining - share * len(rest)
        quotas.update({k: share + (j < extra) for j, k in enumerate(rest)})
        break
    return {key: quotas[key] for key in sorted(quotas)}


def _draw(samples: list[Sample], quotas: Mapping[tuple[str, int], int], seed: int) -> set[str]:
    """The ids chosen: per stratum, a sample of its quota seeded by (seed, stratum)."""
    by_stratum: dict[tuple[str, int], list[str]] = {}
    for s in samples:
        by_stratum.setdefault(stratum(s), []).append(s.id)
    return {i for key, ids in by_stratum.items()
            for i in random.Random(f"{seed}/{_name(key)}").sample(ids, quotas[key])}


def _name(key: tuple[str, int]) -> str:
    return f"{key[0]}/{key[1]}"


class _ContentHashes(dict):
    """sha256 of each condition file, read once however many rows share it."""

    def __missing__(self, path: str) -> str:
        self[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return self[path]


def _prompt(sample: Sample, file: Path, n: int, hashes: _ContentHashes) -> Prompt:
    tokens = words(sample.instruction)
    conditions = tuple(sorted((c.kind, hashes[c.path]) for c in sample.conditions))
    return Prompt(sample.id, file, " ".join(tokens), shingles(tokens, n), conditions)


def _load(path: Path, require: tuple[str, ...], progress: bool) -> list[Sample]:
    samples, problems, rows = check_samples(path, require, progress)
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s) in {rows} row(s); nothing was selected:", problems)
    return samples


def statistics_markdown(sets: Mapping[str, list[Sample]], hashes: Mapping[str, str]) -> str:
    """Instances per condition kind, instruction type and condition count for each set (Table 11),
    then, for the last set, instances, unique conditions and mean lengths in words per kind (Table 12)."""
    first, last = next(iter(sets.values())), list(sets)[-1]
    kinds = [k for k in CONDITION_KINDS if any(c.kind == k for s in first for c in s.conditions)]
    columns = [*kinds, TEXT_ONLY]

    def holds(s: Sample, column: str) -> bool:
        return any(c.kind == column for c in s.conditions) or (column == TEXT_ONLY and not s.conditions)

    def per(value_of, values) -> str:
        body = [[name, *(sum(value_of(s) == v for s in rows) for v in values), len(rows)]
                for name, rows in sets.items()]
        return _table(["rows", *map(str, values), "total"], body)

    by_kind = [[name, *(sum(holds(s, c) for s in rows) for c in columns), len(rows)] for name, rows in sets.items()]
    lengths = []
    for column in [*columns, "all"]:
        rows = [s for s in sets[last] if column == "all" or holds(s, column)]
        unique = {hashes[c.path] for s in rows for c in s.conditions if column in ("all", c.kind)}
        lengths.append([column, len(rows), len(unique), _mean(len(words(s.instruction)) for s in rows),
                        _mean(sum(len(words(part)) for part in s.caption.to_dict().values()) for s in rows)])
    return "\n\n".join([
        "### Instances per condition kind (a row counts under each kind it has; paper Table 11)",
        _table(["rows", *columns, "total"], by_kind),
        "### Instances per instruction type",
        per(instruction_type, sorted({instruction_type(s) for s in first})),
        "### Instances per number of non-text conditions",
        per(lambda s: len(s.conditions), sorted({len(s.conditions) for s in first})),
        f"### The {last} rows per condition kind (paper Table 12; lengths in words)",
        _table(["condition", "#Inst.", "#Condi.", "Instruction (#Avg. Len.)", "Structured Cap. (#Avg. Len.)"],
               lengths),
    ]) + "\n"


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _mean(values) -> str:
    values = list(values)
    return f"{sum(values) / len(values):.2f}" if values else "-"


def _table(header: list[str], rows: list[list]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def _publish(out_dir: Path, files: dict[str, str]) -> None:
    """Write every file to a hidden folder in out_dir, then rename each over its destination.

    Not `reade.utils.io.staged_folder`: out_dir is shared (Hydra's `.hydra/` and log are in it, and
    perhaps the input), so the files are swapped one by one, never the folder. summary.json, the last
    of `files`, is removed first and renamed last: where it exists, the files beside it are complete
    and belong to one run.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SUMMARY).unlink(missing_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".select-", dir=out_dir))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        for name in files:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
