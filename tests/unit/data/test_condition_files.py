"""Condition files laid out once per job: the batches are the batches read afresh, the memory stays
within its budget, and a bad file still stops the job naming the sample and the file."""

from __future__ import annotations

import random
import wave

import numpy as np
import pytest
import torch

from reade.data.collate import InterpreterCollator
from reade.data.condition_files import MEGABYTE, EncodedConditions, nbytes
from reade.data.jsonl import load_split
from reade.errors import DataError
from reade.models.backbone import load_backbone
from reade.models.interpreter import target_loss
from reade.models.processing import InterpreterProcessor


@pytest.fixture(scope="module")
def processor(camera_backbone):
    return InterpreterProcessor.from_pretrained(camera_backbone)


@pytest.fixture(scope="module")
def rows(synthetic_dir):
    """The training rows as a stage loads them, every kind among them."""
    dataset, _ = load_split(synthetic_dir / "train.jsonl", kinds=["identity", "depth", "pose", "audio", "camera"],
                            on_error="raise", require=())
    found = list(dataset)
    assert {c["kind"] for row in found for c in row["conditions"]} == {"identity", "depth", "pose", "audio", "camera"}
    return found


def same_batches(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        if key == "camera_maps":
            if len(value) != len(b[key]) or not all(torch.equal(x, y) for x, y in zip(value, b[key])):
                return False
        elif not torch.equal(value, b[key]):
            return False
    return True


def test_batches_from_kept_files_are_the_batches_read_afresh(processor, rows):
    afresh = InterpreterCollator(processor, with_targets=True, describe_fraction=0.3)
    kept = InterpreterCollator(processor, with_targets=True, describe_fraction=0.3, condition_cache_mb=64)
    for epoch in range(2):
        for start in range(0, len(rows), 8):
            random.seed(epoch * 100 + start)
            want = afresh(rows[start:start + 8])
            random.seed(epoch * 100 + start)
            assert same_batches(kept(rows[start:start + 8]), want), (epoch, start)
    files = sum(len(row["conditions"]) for row in rows)
    assert (kept.conditions.misses, kept.conditions.hits) == (files, files)
    assert (afresh.conditions.misses, afresh.conditions.hits, afresh.conditions.used) == (2 * files, 0, 0)


def arrays(item: object) -> list[torch.Tensor]:
    """Copies of the arrays and tensors in an encoded condition."""
    if isinstance(item, (np.ndarray, torch.Tensor)):
        return [torch.as_tensor(item).clone()]
    return [t for part in item for t in arrays(part)] if isinstance(item, (tuple, list)) else []


def test_a_training_step_leaves_the_kept_files_as_they_were(camera_backbone, processor, rows):
    model, _ = load_backbone(camera_backbone)
    collator = InterpreterCollator(processor, with_targets=True, condition_cache_mb=64)
    batch = collator([row for row in rows if any(c["kind"] == "camera" for c in row["conditions"])][:4])
    before = {key: arrays(encoded.item) for key, encoded in collator.conditions._kept.items()}
    assert {kind for kind, _ in before} >= {"camera", "identity"}
    target_loss(model, **batch).backward()
    for key, encoded in collator.conditions._kept.items():
        assert all(torch.equal(a, b) for a, b in zip(arrays(encoded.item), before[key], strict=True)), key


def test_the_least_recently_used_file_goes_first_and_the_budget_holds(processor, rows):
    conditions = EncodedConditions(processor, budget_mb=1)
    order = []
    for row in rows:
        conditions.row(row)
        order += [(c["kind"], c["path"]) for c in row["conditions"]]
    kept = list(conditions._kept)
    assert 0 < conditions.used <= MEGABYTE
    assert conditions.used == sum(nbytes(e.item) for e in conditions._kept.values())
    assert order[0] not in kept and kept[-1] == order[-1]
    first_kept = kept[0]
    conditions.row({"id": "again", "conditions": [{"kind": first_kept[0], "path": first_kept[1]}]})
    assert list(conditions._kept)[-1] == first_kept


def test_a_zero_budget_keeps_nothing_and_a_negative_one_is_refused(processor, rows):
    conditions = EncodedConditions(processor, budget_mb=0)
    conditions.row(rows[0])
    conditions.row(rows[0])
    assert (conditions.hits, conditions.used, len(conditions._kept)) == (0, 0, 0)
    with pytest.raises(ValueError, match="data.condition_cache_mb must be >= 0"):
        EncodedConditions(processor, budget_mb=-1)


def test_a_file_that_changed_names_the_sample(processor, rows, tmp_path):
    image = tmp_path / "id0.png"
    image.write_text("not an image")
    with pytest.raises(DataError, match="sample broken: a condition file changed.*not an image"):
        EncodedConditions(processor, budget_mb=8).row({"id": "broken", "conditions": [{"kind": "identity", "path": str(image)}]})


def test_a_file_the_processor_refuses_names_the_sample_and_the_file(processor, tmp_path):
    clip = tmp_path / "short.wav"
    with wave.open(str(clip), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(np.zeros(200, dtype=np.int16).tobytes())
    conditions = EncodedConditions(processor, budget_mb=8)
    with pytest.raises(DataError, match=f"sample short: audio condition {clip}: audio too short"):
        conditions.row({"id": "short", "conditions": [{"kind": "audio", "path": str(clip)}]})
    assert conditions.used == 0
