"""What every stage's DataModule shares: its JSONL splits, loaded and checked before anything else runs;
and the test rows the caption metrics score (`test_rows`: reade.train and reade.evaluate)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable

import lightning as L
from omegaconf import DictConfig

from reade.data.jsonl import REQUIRED_FIELDS, load_split, report_summary
from reade.data.synthesize import synthesize
from reade.errors import ConfigError


class SplitsDataModule(L.LightningDataModule):
    """Loads and checks every split in `load()`, before the backbone loads and the Trainer starts,
    so a broken dataset stops the job with one message per problem instead of a traceback from
    inside Lightning. `consumer` names the fields a row must have (`REQUIRED_FIELDS`).

    With `synthesize` (a `data.synthesize`-style node of generator arguments), `load()` first writes
    the synthetic splits into the (first) split file's folder with `synthesizer` (once: the writers keep a
    manifest), so a stage writes only the data it reads."""

    consumer: str
    synthesizer: Callable[..., Any] = staticmethod(synthesize)

    def __init__(self, files: dict[str, str | None], kinds: list[str], on_error: str, synthesize: Any = None):
        super().__init__()
        self.files = files
        self.kinds = list(kinds)
        self.on_error = on_error
        self.synthesize = None if synthesize is None else asdict(synthesize) if is_dataclass(synthesize) else dict(synthesize)
        self.splits: dict[str, Any] = {}
        self.reports: dict[str, Any] = {}

    def load(self) -> None:
        if self.synthesize is not None and not self.splits:
            folder = Path(next(path for path in self.files.values() if path is not None)).parent
            self.synthesizer(folder, **self.synthesize)
        for split, path in self.files.items():
            if path is None or split in self.splits:
                continue
            self.splits[split], self.reports[split] = load_split(
                Path(path), kinds=self.kinds, on_error=self.on_error, require=REQUIRED_FIELDS[self.consumer]
            )

    def setup(self, stage: str | None = None) -> None:
        self.load()

    def data_summary(self) -> dict[str, float]:
        return report_summary(self.reports)


class TestSplit(SplitsDataModule):
    consumer = "evaluate"


def test_rows(data: DictConfig, kinds: list[str], *, only_condition_rows: bool, limit: int) -> tuple[list[dict], dict]:
    """The checked test rows to score, and the data counts a reviewer needs (rows dropped and why)."""
    if not data.test_file:
        raise ConfigError("data.test_file is not set: evaluation needs a held-out split")
    split = TestSplit({"test": data.test_file}, kinds, data.on_error, data.synthesize)
    split.load()
    rows = list(split.splits["test"])
    summary = dict(split.data_summary())
    if only_condition_rows and kinds:
        kept = [row for row in rows if row["conditions"]]
        summary["data/test_rows_without_kind"] = len(rows) - len(kept)
        rows = kept
    return (rows[:limit] if limit > 0 else rows), summary
