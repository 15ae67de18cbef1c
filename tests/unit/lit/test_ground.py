"""stage=ground without training: how a held-out answer is read and scored (tables of hand-computed
examples), the describe-the-reference splits, and a split with nothing to describe."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reade.config.data import DataConfig
from reade.config.ground import GroundSettings
from reade.data.grouped_batches import LengthGroupedBatches
from reade.data.lengths import TokenLimit, within_limit
from reade.errors import ConfigError, DataError
from reade.lit.ground import GroundDataModule, describe_metrics, description_score, read_descriptions
from reade.models.processing import InterpreterProcessor
from reade.models.prompt import DESCRIBE_INSTRUCTION, describe_target
from tests.conftest import compose_train

ALL_KINDS = ["identity", "depth", "pose", "audio", "camera"]


@pytest.mark.parametrize(
    ("answer", "kinds", "expected"),
    [
        ("Identity reference 1: a white dog.\nAudio: steady rain.", ["identity", "audio"], ["a white dog", "steady rain"]),
        ("Audio: steady rain.\nIdentity reference 1: a white dog.", ["identity", "audio"], ["a white dog", "steady rain"]),
        ("Identity reference 1: a white dog.", ["identity", "audio"], ["a white dog", ""]),
        ("a white dog", ["identity"], [""]),
        ("Identity reference 1: a dog.\nIdentity reference 2: a cat.", ["identity", "identity"], ["a dog", "a cat"]),
        ("Identity reference 10: a cat.", ["identity"], [""]),  # the label's colon: reference 10 is not reference 1
        ("Depth sequence 1: near.\nDepth sequence 2: far.", ["depth", "depth"], ["near", "far"]),
        ("  Camera trajectory: a slow pan left.  ", ["camera"], ["a slow pan left"]),
    ],
    ids=["in order", "out of order", "a line missing", "no label", "numbered", "reference 10", "two of a kind", "spaces"],
)
def test_each_condition_is_read_from_its_labelled_line(answer, kinds, expected):
    assert read_descriptions(answer, kinds) == expected


@pytest.mark.parametrize(
    ("said", "gold", "exact", "recall"),
    [
        ("a white dog with a red harness", "a white dog with a red harness", 1.0, 1.0),
        ("A white dog with a red harness.", "a white dog with a red harness", 1.0, 1.0),
        ("a white dog with a blue harness", "a white dog with a red harness", 0.0, 0.75),  # white dog harness / 4
        ("a red harness on a white dog", "a white dog with a red harness", 0.0, 1.0),  # words, not their order
        ("a black cat", "a white dog with a red harness", 0.0, 0.0),
        ("", "one person jumping", 0.0, 0.0),
        ("one person waving", "one person jumping", 0.0, 0.5),  # 'one' is a function word: person / 2
        ("the", "a", 0.0, 0.0),  # no content word in the description: the exact match decides
        ("A.", "a", 1.0, 1.0),
    ],
)
def test_a_description_scores_word_for_word_and_by_its_content_words(said, gold, exact, recall):
    assert description_score(said, gold) == (exact, pytest.approx(recall))


def test_metrics_are_ratios_over_conditions_per_kind():
    rows = [{"kinds": ["identity", "audio"], "recall": [1.0, 0.5], "exact": [1.0, 0.0]},
            {"kinds": ["identity"], "recall": [0.0], "exact": [0.0]},
            {"kinds": ["depth"], "recall": [0.25], "exact": [0.0]}]
    metrics = describe_metrics(rows, "_before")
    expected = {"recall": 1.75 / 4, "recall_identity": 1.0 / 2, "recall_audio": 0.5, "recall_depth": 0.25,
                "exact": 1.0 / 4, "exact_identity": 1.0 / 2, "exact_audio": 0.0, "exact_depth": 0.0}
    assert {k: v for k, v in metrics.items() if "_ci_" not in k} == {
        f"eval/describe_{name}_before": pytest.approx(value) for name, value in expected.items()}
    for name in expected:
        assert metrics[f"eval/describe_{name}_before_ci_low"] <= metrics[f"eval/describe_{name}_before"] \
            <= metrics[f"eval/describe_{name}_before_ci_high"]
    assert "eval/describe_recall_pose_before" not in metrics  # a kind no row has


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> GroundSettings:
    """The tiny recipe with every describable row (its profile's identity filter off: tested below)."""
    overrides = ["stage=ground", "stage.eval.limit=0", "stage.train_rows_with=[]"]
    return OmegaConf.to_object(compose_train(overrides, tmp_path_factory.mktemp("run")).stage)


def datamodule(settings: GroundSettings, train_file: Path, kinds: list[str] = ALL_KINDS) -> GroundDataModule:
    return GroundDataModule(settings=settings, data=DataConfig(name="test", train_file=str(train_file)), kinds=kinds)


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_described_rows_become_describe_rows_and_the_others_are_counted(settings, synthetic_dir):
    module = datamodule(settings, synthetic_dir / "train.jsonl")
    module.load()
    module.load()  # Lightning's setup() loads again: nothing is filtered or rewritten twice
    rows = read_rows(synthetic_dir / "train.jsonl")
    described = [r for r in rows if r["conditions"] and all(c.get("description") for c in r["conditions"])]
    assert 0 < len(described) < len(rows)  # the synthetic split has rows without conditions
    split = module.splits["train"]
    assert len(split) == len(described) and module.not_described["train"] == len(rows) - len(described)
    assert module.data_summary()["data/train_not_described"] == len(rows) - len(described)
    first, gold = split[0], described[0]
    assert first["id"] == gold["id"] and first["instruction"] == DESCRIBE_INSTRUCTION
    assert first["target"] == describe_target([c["kind"] for c in gold["conditions"]],
                                              [c["description"] for c in gold["conditions"]])


def test_only_the_kinds_in_use_are_described(settings, synthetic_dir):
    module = datamodule(settings, synthetic_dir / "train.jsonl", kinds=["identity"])
    module.load()
    assert all(set(line.split(" ")[0] for line in row["target"].splitlines()) == {"Identity"} for row in module.splits["train"])


def test_a_split_without_described_conditions_is_refused_by_name(settings, synthetic_dir):
    rows = read_rows(synthetic_dir / "train.jsonl")
    bare = [{**r, "conditions": [{k: v for k, v in c.items() if k != "description"} for c in r["conditions"]]} for r in rows]
    path = synthetic_dir / "bare.jsonl"  # beside the original: condition paths are relative to it
    path.write_text("".join(json.dumps(row) + "\n" for row in bare))
    with pytest.raises(DataError, match=f"{path}: none of its {len(rows)} row"):
        datamodule(settings, path).load()
    with pytest.raises(DataError, match=r"condition.kinds=\[\]"):  # condition=text: nothing to describe
        datamodule(settings, synthetic_dir / "train.jsonl", kinds=[]).load()


def with_rows_of(kinds: list[str], tmp_path_factory) -> GroundSettings:
    overrides = ["stage=ground", "stage.eval.limit=0", f"stage.train_rows_with=[{','.join(kinds)}]"]
    return OmegaConf.to_object(compose_train(overrides, tmp_path_factory.mktemp("run")).stage)


def test_train_rows_with_keeps_the_training_rows_holding_that_kind_and_counts_the_rest(tmp_path_factory, synthetic_dir):
    """Part 10's setting: the training split keeps the describable rows with an identity reference,
    the others are counted; the held-out split is scored on every describable row as before."""
    train_file, test_file = synthetic_dir / "train.jsonl", synthetic_dir / "test.jsonl"
    data = DataConfig(name="test", train_file=str(train_file), test_file=str(test_file))
    module = GroundDataModule(settings=with_rows_of(["identity"], tmp_path_factory), data=data, kinds=ALL_KINDS)
    module.load()
    module.load()  # Lightning's setup() loads again: the count stays
    described = [r for r in read_rows(train_file) if r["conditions"] and all(c.get("description") for c in r["conditions"])]
    with_identity = [r["id"] for r in described if any(c["kind"] == "identity" for c in r["conditions"])]
    assert 0 < len(with_identity) < len(described)
    assert module.splits["train"]["id"] == with_identity
    assert module.data_summary()["data/train_without_kinds"] == len(described) - len(with_identity)
    held_out = [r for r in read_rows(test_file) if r["conditions"] and all(c.get("description") for c in r["conditions"])]
    assert len(module.splits["test"]) == len(held_out)  # identity-less held-out rows stay
    assert any("Identity" not in row["target"] for row in module.splits["test"])


def test_train_rows_with_refuses_an_unknown_kind_and_a_split_without_the_kind(tmp_path_factory, synthetic_dir):
    with pytest.raises(ConfigError, match=r"stage.train_rows_with: \['identiti'\] not condition kinds"):
        with_rows_of(["identiti"], tmp_path_factory)
    rows = read_rows(synthetic_dir / "train.jsonl")
    without_audio = [r for r in rows if all(c["kind"] != "audio" for c in r["conditions"])]
    path = synthetic_dir / "no_audio.jsonl"  # beside the original: condition paths are relative to it
    path.write_text("".join(json.dumps(row) + "\n" for row in without_audio))
    module = datamodule(with_rows_of(["audio"], tmp_path_factory), path)
    with pytest.raises(DataError, match=rf"{path}: none of its \d+ describable row\(s\) holds a condition of "
                                        r"stage.train_rows_with=\['audio'\]"):
        module.load()


def test_train_rows_with_ignores_the_kinds_the_condition_option_drops(tmp_path_factory, synthetic_dir):
    """One tiny profile serves every condition option: the kinds an option drops do not filter."""
    train_file = synthetic_dir / "train.jsonl"
    audio_only = datamodule(with_rows_of(["identity", "audio"], tmp_path_factory), train_file, kinds=["depth", "audio"])
    audio_only.load()
    assert all("Audio:" in row["target"] for row in audio_only.splits["train"])  # identity not in use: audio decides
    assert audio_only.data_summary()["data/train_without_kinds"] > 0
    none_in_use = datamodule(with_rows_of(["identity"], tmp_path_factory), train_file, kinds=["depth"])
    unfiltered = datamodule(with_rows_of([], tmp_path_factory), train_file, kinds=["depth"])
    none_in_use.load()
    unfiltered.load()
    assert none_in_use.splits["train"]["id"] == unfiltered.splits["train"]["id"]
    assert "data/train_without_kinds" not in none_in_use.data_summary()


def test_grouped_batches_sort_by_the_length_checks_counts(tmp_path_factory, tiny_dir, synthetic_dir):
    """stage.group_by_length: the loader groups the describe rows by the counts reade.train's length
    check kept (`within_limit`); a split that was never counted is refused by name."""
    grouped = OmegaConf.to_object(compose_train(["stage=ground", "stage.batch_size=4", "stage.group_by_length=true"],
                                                tmp_path_factory.mktemp("run")).stage)
    processor = InterpreterProcessor.from_pretrained(tiny_dir)
    train_file = synthetic_dir / "train.jsonl"
    module = datamodule(grouped, train_file, kinds=["identity", "depth", "pose", "audio"])
    module.load()
    module.processor = processor
    with pytest.raises(RuntimeError, match=f"the train rows of {train_file} have no token counts"):
        module.train_dataloader()
    module.splits["train"] = within_limit(module.splits["train"], module.reports["train"],
                                          TokenLimit(processor, 4096, "data.max_length"), on_error="raise", with_targets=True)
    loader = module.train_dataloader()
    assert isinstance(loader.sampler, LengthGroupedBatches) and loader.sampler.lengths == module.splits["train"]["tokens"]
    widths = Counter(int(width) for batch in loader for width in batch["attention_mask"].sum(dim=1))
    assert widths.total() == len(loader.sampler) and widths <= Counter(module.splits["train"]["tokens"])
