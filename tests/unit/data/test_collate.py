"""Rows → batches: describe-the-reference rows replace instruction and target with what the
conditions show; rows that cannot say it keep theirs."""

from __future__ import annotations

import random

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from reade.config.data import DataConfig
from reade.data.collate import InterpreterCollator, describable
from reade.lit.sft import SFTDataModule
from reade.models.processing import IGNORE_INDEX, InterpreterProcessor
from reade.models.prompt import DESCRIBE_INSTRUCTION, describe_target
from tests.conftest import compose_train


@pytest.fixture(scope="module")
def processor(tiny_dir):
    return InterpreterProcessor.from_pretrained(tiny_dir)


@pytest.fixture()
def image(tmp_path) -> str:
    path = tmp_path / "id0.png"
    Image.fromarray(np.full((56, 56, 3), 200, dtype=np.uint8)).save(path)
    return str(path)


def row(conditions, instruction="A dog runs on a beach.", target="<think>\nx\n</think>"):
    return {"id": "r", "instruction": instruction, "conditions": conditions, "target": target}


def labelled(batch, processor, index: int) -> str:
    labels = batch["labels"][index]
    return processor.tokenizer.decode(labels[labels != IGNORE_INDEX].tolist())


def test_the_describe_target_labels_each_condition_as_the_prompt_does():
    assert describe_target(["identity", "identity", "audio"], ["a white dog", "a girl.", "steady rain"]) == (
        "Identity reference 1: a white dog.\nIdentity reference 2: a girl.\nAudio: steady rain.")


def test_a_described_row_becomes_a_describe_row(processor, image):
    conditions = [{"kind": "identity", "path": image, "description": "a white dog with a red harness"}]
    collator = InterpreterCollator(processor, with_targets=True, describe_fraction=0.999)
    random.seed(0)
    batch = collator([row(conditions)])
    assert labelled(batch, processor, 0).startswith("Identity reference 1: a white dog with a red harness.")
    prompt = processor.tokenizer.decode(batch["input_ids"][0].tolist())
    assert DESCRIBE_INSTRUCTION in prompt and "A dog runs on a beach." not in prompt


@pytest.mark.parametrize("conditions", [[], [{"kind": "identity", "path": "PATH", "description": None}]],
                         ids=["no conditions", "no description"])
def test_a_row_that_cannot_say_what_its_conditions_show_keeps_its_target(processor, image, conditions):
    conditions = [{**c, "path": image} for c in conditions]
    assert not describable(row(conditions))
    collator = InterpreterCollator(processor, with_targets=True, describe_fraction=0.999)
    batch = collator([row(conditions)])
    assert labelled(batch, processor, 0).startswith("<think>")


def test_only_training_batches_describe(processor, tmp_path):
    settings = compose_train(["stage=sft", "stage.instruction_dropout=0.0", "stage.describe_fraction=0.3"], tmp_path).stage
    datamodule = SFTDataModule(settings=OmegaConf.to_object(settings),
                               data=DataConfig(name="test", train_file="train.jsonl", max_length=64), kinds=["identity"],
                               processor=processor)
    assert datamodule.collator(with_targets=True, train=True).describe_fraction == 0.3
    assert datamodule.collator(with_targets=True, train=False).describe_fraction == 0.0


@pytest.mark.parametrize("name", ["instruction_dropout", "describe_fraction"])
@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_fractions_outside_zero_to_one_are_refused(processor, name, value):
    with pytest.raises(ValueError, match=name):
        InterpreterCollator(processor, with_targets=True, **{name: value})
