"""Turn dataset rows into model batches, reading condition files when a batch first needs them."""

from __future__ import annotations

import random
from typing import Any

from reade.data.condition_files import EncodedConditions
from reade.errors import DataError
from reade.models.prompt import DESCRIBE_INSTRUCTION, describe_target


def describable(row: dict[str, Any]) -> bool:
    """A row can become a describe-the-reference row when it has conditions and each says what it shows."""
    return bool(row["conditions"]) and all(c.get("description") for c in row["conditions"])


def describe_row(row: dict[str, Any]) -> dict[str, str]:
    """A describable row's describe-the-reference `instruction` and `target`: `DESCRIBE_INSTRUCTION`,
    and one line per condition saying what it shows (`describe_target`)."""
    return {"instruction": DESCRIBE_INSTRUCTION,
            "target": describe_target([c["kind"] for c in row["conditions"]], [c["description"] for c in row["conditions"]])}


class InterpreterCollator:
    """Rows → processor batch.

    `instruction_dropout` (paper Table 10: 0.4) blanks the textual instruction of a sample that has
    conditions, so the interpreter learns to read what the conditions show instead of copying the
    text. A sample without conditions always keeps its instruction: there would be nothing left.

    `describe_fraction` turns that share of the describable rows (`describable`) into
    describe-the-reference rows: the instruction becomes `DESCRIBE_INSTRUCTION` and the target one
    line per condition saying what it shows. Every token of such a target comes from the
    conditions, so the towers get a gradient no text can short-cut; dropping the instruction but
    keeping a caption the text decides would ask the model to guess what only the text says.

    Condition files are laid out once and kept up to `condition_cache_mb` (`EncodedConditions`).
    """

    def __init__(self, processor, *, with_targets: bool, instruction_dropout: float = 0.0,
                 describe_fraction: float = 0.0, max_length: int | None = None, condition_cache_mb: int = 0):
        for name, value in (("instruction_dropout", instruction_dropout), ("describe_fraction", describe_fraction)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {value}")
        self.processor = processor
        self.with_targets = with_targets
        self.instruction_dropout = instruction_dropout
        self.describe_fraction = describe_fraction
        self.max_length = max_length
        self.conditions = EncodedConditions(processor, condition_cache_mb)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        instructions, conditions, targets = [], [], []
        for row in rows:
            payloads = self.conditions.row(row)
            conditions.append(payloads)
            if self.with_targets and describable(row) and random.random() < self.describe_fraction:
                described = describe_row(row)
                instructions.append(described["instruction"])
                targets.append(described["target"])
                continue
            drop = payloads and random.random() < self.instruction_dropout
            instructions.append("" if drop else row["instruction"])
            targets.append(row.get("target"))
        targets = targets if self.with_targets else None
        try:
            batch = dict(self.processor(instructions, conditions, targets=targets, max_length=self.max_length))
        except ValueError as error:
            ids = [row["id"] for row in rows]
            raise DataError(f"batch of samples {ids}: {error} (see data.max_length)") from error
        if not self.with_targets:
            batch["ids"] = [row["id"] for row in rows]
            batch["instructions"] = [row["instruction"] for row in rows]
        return batch
