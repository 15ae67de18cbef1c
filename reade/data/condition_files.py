"""A dataset row's condition files: read (`read_payloads`), or read and laid out for the towers
once per job instead of once per visit (`EncodedConditions`).

A stage meets every training row many times (the tiny SFT: 3000 steps of 8 rows over 4096 rows),
and each visit read the row's files from disk and laid them out again: on the tiny default, 18 % of
a camera step, 21 % of a grounding step and 9 % of an SFT step (experiments/condition_cache).
Reading and laying out are deterministic, so serving a file's layout from memory changes no batch.

The memory is bounded (`data.condition_cache_mb`) and the least recently used file goes first:
a dataset larger than the budget loses hits, not the job its memory. 0 turns it off. Files are
assumed not to change while a job runs; the dataset check at load time is what guards them.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reade.data.conditions import ConditionError, condition_payload, read_condition
from reade.errors import DataError
from reade.models.processing import EncodedCondition, InterpreterProcessor

MEGABYTE = 2**20


def read_payload(sample: str, kind: str, path: str | Path) -> object:
    """The processor payload of one condition file of sample `sample`."""
    try:
        return condition_payload(kind, read_condition(kind, Path(path)))
    except ConditionError as error:
        raise DataError(f"sample {sample}: a condition file changed since the dataset was checked: {error}") from error


def read_payloads(row: dict[str, Any]) -> list[tuple[str, object]]:
    """(kind, processor payload) for each condition of a dataset row."""
    return [(c["kind"], read_payload(row["id"], c["kind"], c["path"])) for c in row["conditions"]]


def nbytes(item: object) -> int:
    """Bytes of the arrays and tensors in an encoded condition (nested tuples and lists)."""
    if isinstance(item, np.ndarray):
        return item.nbytes
    if isinstance(item, torch.Tensor):
        return item.numel() * item.element_size()
    if isinstance(item, (tuple, list)):
        return sum(nbytes(part) for part in item)
    return 0


class EncodedConditions:
    """(kind, `EncodedCondition`) for each condition of a dataset row, kept per file up to a budget."""

    def __init__(self, processor: InterpreterProcessor, budget_mb: int):
        if budget_mb < 0:
            raise ValueError(f"data.condition_cache_mb must be >= 0, got {budget_mb}")
        self.processor = processor
        self.budget = budget_mb * MEGABYTE
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._kept: OrderedDict[tuple[str, str], EncodedCondition] = OrderedDict()

    def row(self, row: dict[str, Any]) -> list[tuple[str, EncodedCondition]]:
        """The row's conditions in its order; a DataError naming the sample and the file for one
        that cannot be read or laid out."""
        return [(c["kind"], self._encoded(row["id"], c["kind"], str(c["path"]))) for c in row["conditions"]]

    def _encoded(self, sample: str, kind: str, path: str) -> EncodedCondition:
        key = (kind, path)
        if key in self._kept:
            self.hits += 1
            self._kept.move_to_end(key)
            return self._kept[key]
        self.misses += 1
        payload = read_payload(sample, kind, path)
        try:
            encoded = self.processor.encode_condition(kind, payload)
        except ValueError as error:
            raise DataError(f"sample {sample}: {kind} condition {path}: {error}") from error
        self._keep(key, encoded)
        return encoded

    def _keep(self, key: tuple[str, str], encoded: EncodedCondition) -> None:
        size = nbytes(encoded.item)
        if size > self.budget:
            return
        self._kept[key] = encoded
        self.used += size
        while self.used > self.budget:
            _, dropped = self._kept.popitem(last=False)
            self.used -= nbytes(dropped.item)
