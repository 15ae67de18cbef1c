"""Rows against the token limit of their batches: counted as the collator lays them out with the
instruction kept, whatever the dropout does, and refused or skipped by file and line."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest

from reade.data.collate import InterpreterCollator
from reade.data.conditions import AudioClip, write_audio
from reade.data.jsonl import load_split
from reade.data.lengths import TokenLimit, length_problems, within_limit
from reade.errors import DataError
from reade.models.processing import InterpreterProcessor
from tests.unit.data.test_jsonl import edited_copy

KINDS = ["identity", "depth", "pose", "audio"]
LONG = "Garden, zoom in. " * 300  # 1799 tokens of the tiny tokenizer


@pytest.fixture(scope="module")
def processor(tiny_dir) -> InterpreterProcessor:
    return InterpreterProcessor.from_pretrained(tiny_dir)


@pytest.fixture()
def long_split(synthetic_dir, tmp_path):
    """The train split with a long instruction in its sixth row (line 6), loaded as training loads it."""
    path = edited_copy(synthetic_dir, tmp_path, lambda rows: rows[5].update(instruction=LONG))
    return load_split(path, kinds=KINDS, on_error="raise", require=("think", "caption"))


def test_counts_are_the_collators_with_the_instruction_kept(processor, long_split):
    dataset, report = long_split
    limit = TokenLimit(processor, 1024, "data.max_length")
    problems, uncounted = length_problems(report.file, dataset, limit)
    assert [(p.line, p.field) for p in problems] == [(6, "tokens")] and not uncounted
    assert "exceed data.max_length=1024 (the instruction alone is 1799)" in problems[0].message
    row = dataset[5]
    collator = InterpreterCollator(processor, with_targets=True, instruction_dropout=0.99, max_length=1024)
    random.seed(0)
    assert collator([row])["input_ids"].shape[1] < 1024  # the instruction dropped: this batch passes ...
    with pytest.raises(DataError, match="exceed max_length 1024"):
        InterpreterCollator(processor, with_targets=True, max_length=1024)([row])  # ... the one that keeps it fails
    prompt_only, _ = length_problems(report.file, dataset, TokenLimit(processor, 2000, "x"), with_targets=False)
    assert prompt_only == [] and len(length_problems(report.file, dataset, TokenLimit(processor, 2000, "x"))[0]) == 1


def test_raise_names_every_row_and_skip_drops_and_counts_them(processor, long_split, caplog):
    dataset, report = long_split
    limit = TokenLimit(processor, 1024, "data.max_length")
    with pytest.raises(DataError, match=rf"{report.file}:6: tokens: .* exceed data.max_length=1024"):
        within_limit(dataset, report, limit, on_error="raise", with_targets=True)
    caplog.set_level(logging.WARNING)
    kept = within_limit(dataset, report, limit, on_error="skip", with_targets=True)
    assert len(kept) == len(dataset) - 1 and dataset[5]["id"] not in kept["id"]
    assert (report.kept, report.skipped) == (len(dataset) - 1, 1)
    assert any(f"skipped {report.file}:6: tokens:" in r.getMessage() for r in caplog.records)
    with pytest.raises(DataError, match="every one of 24 row"):
        within_limit(kept, report, TokenLimit(processor, 8, "data.max_length"), on_error="skip", with_targets=True)


def test_a_row_the_processor_refuses_is_a_problem_too(processor, synthetic_dir, tmp_path):
    write_audio(tmp_path / "blip.wav", AudioClip(np.zeros(200, dtype=np.float32), 16000))  # too short for one token
    rows = [{"line": 3, "instruction": "A cat", "target": None, "id": "x",
             "conditions": [{"kind": "audio", "path": str(tmp_path / "blip.wav"), "description": None}]}]
    problems, _ = length_problems(tmp_path / "rows.jsonl", rows, TokenLimit(processor, 1024, "data.max_length"))
    assert [str(p) for p in problems] == [f"{tmp_path / 'rows.jsonl'}:3: row: audio too short (1 mel frames) to give one audio token"]


def test_kinds_the_processor_cannot_read_are_left_out_and_named(processor, synthetic_dir):
    dataset, report = load_split(synthetic_dir / "train.jsonl", kinds=[*KINDS, "camera"], on_error="raise", require=())
    problems, uncounted = length_problems(report.file, dataset, TokenLimit(processor, 1024, "data.max_length"))
    assert problems == [] and uncounted == {"camera"}


def test_the_kept_rows_carry_the_counts_their_batches_lay_out(processor, long_split):
    dataset, report = long_split
    kept = within_limit(dataset, report, TokenLimit(processor, 1024, "data.max_length"), on_error="skip", with_targets=True)
    collator = InterpreterCollator(processor, with_targets=True)
    assert len(kept["tokens"]) == len(kept)
    for row in kept.select(range(6)):
        assert collator([row])["input_ids"].shape[1] == row["tokens"]
