"""Baselines without a model, and provenance from the generator through validate to evaluate: the
gold caption finds every inferable element, the copied instruction finds what the text states and
not what the conditions carry, one fixed caption finds what a guess finds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reade.baselines import baseline_outputs, instruction_output, most_common_caption
from reade.data.validate import main as validate_main
from reade.errors import ConfigError, DataError
from reade.evaluate import evaluate
from reade.schema import StructuredCaption, parse_output
from tests.conftest import ROOT, compose_config

# seed 5: a split nobody tuned the generator or the judge on
DATA = ["data.synthesize.n_train=48", "data.synthesize.n_val=2", "data.synthesize.n_test=48", "data.synthesize.seed=5",
        "judge=lexical", "logger=csv"]


def caption(**parts) -> StructuredCaption:
    base = {p: "x" for p in ("dense", "main_object", "background", "movement", "style", "camera")}
    return StructuredCaption(**{**base, **parts})


def test_the_most_common_caption_is_made_of_the_most_common_words():
    captions = [caption(camera="A slow pan left."), caption(camera="A slow pan right."), caption(camera="A slow pan left.")]
    assert most_common_caption(captions).camera == "A slow pan left."  # pan 3 + slow 3 + left 2 beats right's 1
    with pytest.raises(ValueError, match="at least one"):
        most_common_caption([])


def test_the_instruction_fills_every_part_on_one_line():
    parsed = parse_output("<think>x</think>\n" + instruction_output("Dog,\n beach"))
    assert parsed.caption == caption(**{p: "Dog, beach" for p in ("dense", "main_object", "background", "movement",
                                                                  "style", "camera")})
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_outputs("oracle", [], [])


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("baselines")
    metrics = {}
    for name in ("gold", "instruction", "constant"):
        cfg = compose_config("evaluate", [*DATA, f"paths.root_dir={root}", f"baseline={name}"], root / name)
        metrics[name] = evaluate(cfg)
    metrics["root"] = root
    return metrics


def test_the_generated_split_validates_with_its_provenance(scored, capsys):
    test_file = next(scored["root"].rglob("test.jsonl"))
    assert validate_main([str(test_file), "--for", "grpo"]) == 0
    assert "key elements by provenance: {'condition:" in capsys.readouterr().err


def test_gold_finds_every_inferable_element(scored):
    gold = scored["gold"]
    for key in ("acc_inferable_dense", "acc_text", "acc_condition", "acc_derived",
                *(f"acc_inferable_{a}" for a in ("main_object", "background", "action", "style", "camera"))):
        assert gold[f"eval/{key}"] == 1.0, key
    assert gold["eval/acc_dense"] < 0.9  # the free draws the dense part leaves to the other parts
    modes = {key.split("acc_derived_")[1] for key in gold if key.startswith("eval/acc_derived_") and "_ci_" not in key}
    assert {"riddle", "context", "transformation", "match"} <= modes  # per reasoning mode too
    assert all(gold[f"eval/acc_derived_{mode}"] == gold[f"eval/acc_inferable_dense_{mode}"] == 1.0 for mode in modes)
    assert gold["eval/format_rate"] == 1.0 and gold["eval/samples"] == 48


def test_the_instruction_finds_the_text_and_not_the_conditions(scored):
    instruction = scored["instruction"]
    assert instruction["eval/acc_text"] >= 0.95
    assert instruction["eval/acc_condition"] <= 0.1
    assert instruction["eval/acc_inferable_dense"] < scored["gold"]["eval/acc_inferable_dense"]
    assert instruction["eval/acc_derived_riddle"] <= 0.1  # the riddle's thing and its look are in no word of it


def test_one_fixed_caption_finds_little(scored):
    constant = scored["constant"]
    assert constant["eval/acc_inferable_dense"] <= 0.3 and constant["eval/acc_camera"] <= 0.3
    outputs = [json.loads(line)["output"] for line in (scored["root"] / "constant" / "eval_samples.jsonl").open()]
    assert len(set(outputs)) == 1


def test_a_runs_eval_samples_are_reade_score_input(scored, tmp_path):
    """The README's recipe, verbatim but for the paths: each sample row carries its key elements."""
    samples, out = scored["root"] / "gold" / "eval_samples.jsonl", tmp_path / "scores.jsonl"
    result = subprocess.run([sys.executable, "-m", "reade.score", f"input={samples}", "prediction_field=output",
                             f"output={out}", "judge=lexical", f"paths.root_dir={tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 48 and all(row["format"] == 1.0 and row["r_user"] is not None for row in rows)


def test_every_accuracy_has_its_interval(scored):
    metrics = scored["instruction"]
    accuracies = [k for k in metrics if k.startswith("eval/acc_") and "_ci_" not in k]
    assert len(accuracies) >= 6 + 6 + 3
    for key in accuracies:
        assert metrics[f"{key}_ci_low"] <= metrics[key] <= metrics[f"{key}_ci_high"], key


def test_a_baseline_with_a_checkpoint_is_refused(tmp_path):
    cfg = compose_config("evaluate", [*DATA, f"paths.root_dir={tmp_path}", "baseline=gold", f"checkpoint={tmp_path}"],
                         tmp_path)
    with pytest.raises(ConfigError, match="baseline and checkpoint exclude each other"):
        evaluate(cfg)
    cfg = compose_config("evaluate", [*DATA, f"paths.root_dir={tmp_path}", "baseline=oracle"], tmp_path)
    with pytest.raises(ConfigError, match="baseline=oracle: expected one of"):
        evaluate(cfg)


def test_a_broken_training_file_is_named_before_the_constant_caption(scored, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        source = next(scored["root"].rglob(f"{split}.jsonl"))
        lines = source.read_text().splitlines()
        if split == "train":
            lines[3] = lines[3].replace('"caption": {', '"caption": {"colour": "red", ', 1)
        (data / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    (data / "assets").symlink_to(next(scored["root"].rglob("assets")))
    cfg = compose_config("evaluate", ["data=jsonl", f"data.train_file={data / 'train.jsonl'}",
                                      f"data.test_file={data / 'test.jsonl'}", "judge=lexical", "logger=csv",
                                      f"paths.root_dir={tmp_path}", "baseline=constant"], tmp_path / "run")
    with pytest.raises(DataError, match=rf"{data / 'train.jsonl'}: 1 problem") as error:
        evaluate(cfg)
    assert f"{data / 'train.jsonl'}:4: caption: unknown parts ['colour']" in str(error.value)
