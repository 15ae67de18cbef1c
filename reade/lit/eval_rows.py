"""The held-out rows every rank decoded, as one list: what the test loops' metrics and sample files use
(`write_samples`: `<run>/eval_samples<tag>.jsonl`).

Under several ranks Lightning's DistributedSampler deals the test split out round robin (row i to
rank i mod W) and pads the shares to one length by repeating the first rows. Counts summed over
ranks then count the repeats, and rank 0's own rows are 1/W of the outputs; the merged list holds
each row once, in the split's order.
"""

from __future__ import annotations

import json
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any

import torch.distributed as dist

Row = dict[str, Any]


def merge_shares(shares: list[list[Row]]) -> list[Row]:
    """Rank shares (share r holding rows r, r + W, ...) back in the split's order, each id once."""
    merged: dict[Any, Row] = {}
    for row in chain.from_iterable(zip_longest(*shares)):
        if row is not None:
            merged.setdefault(row["id"], row)
    return list(merged.values())


def all_rows(rows: list[Row]) -> list[Row]:
    """Every rank's rows (a collective: every rank calls it), merged as `merge_shares`, on every rank."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return merge_shares([rows])
    shares: list[list[Row] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(shares, rows)
    return merge_shares(shares)


def write_samples(output_dir: Path | None, tag: str, rows: list[Row]) -> Path | None:
    """`rows` as `<output_dir>/eval_samples<tag>.jsonl`, one JSON line each; None without a run folder."""
    if output_dir is None:
        return None
    path = output_dir / f"eval_samples{tag}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
