"""Stage select (paper 3.2.2): similarity and water-filling against hand-computed tables, dedup
decisions, bad input and settings, byte-identical reruns, and the CLI on synthetic rows with
injected duplicates and evaluation overlaps."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException

import reade.construct.config  # noqa: F401  (registers the schemas)
from reade.construct import select as select_module
from reade.construct.select import Prompt, Selection, deduplicate, instruction_type, select, water_fill
from reade.construct.similarity import NearIndex, jaccard, shingles, token_frequency, words
from reade.data.jsonl import check_samples
from reade.errors import ConfigError, DataError
from reade.schema import Sample
from reade.utils.instantiate import build
from tests.conftest import CONF, ROOT

OUTPUTS = ("selected.jsonl", "dropped.jsonl", "summary.json", "statistics.md")


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_rows(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize("text, expected", [
    ("Man's  dog, RUNS!", ["man", "s", "dog", "runs"]),
    ("Zoom\tin…", ["zoom", "in"]),
    ("Ｆｕｌｌ-width ＴＥＸＴ", ["full", "width", "text"]),  # NFKC
    ("?!", []),
])
def test_words(text, expected):
    assert words(text) == expected


@pytest.mark.parametrize("a, b, n, expected", [
    ("a dog runs on the beach", "a dog runs on the beach", 3, 1.0),
    ("A dog runs on the beach.", "a dog runs on the beach at dusk", 3, 4 / 6),  # 4 shared of 6 trigrams
    ("a dog runs on the beach", "the beach on runs dog a", 3, 0.0),  # same words, no shared trigram
    ("a dog runs on the beach", "the beach on runs dog a", 1, 1.0),
    ("zoom in", "Zoom in!", 3, 1.0),  # shorter than n: the whole text is the one shingle
    ("zoom in", "zoom out", 3, 0.0),
    ("a b c d e", "a b c d f", 2, 3 / 5),  # ab bc cd shared; de, df apart
])
def test_shingle_jaccard_table(a, b, n, expected):
    assert jaccard(shingles(words(a), n), shingles(words(b), n)) == pytest.approx(expected)


def test_shingles_of_a_short_text_and_a_bad_size():
    assert shingles(["a", "b", "c", "d"], 3) == {("a", "b", "c"), ("b", "c", "d")}
    assert shingles([], 3) == {()}
    with pytest.raises(ValueError):
        shingles(["a"], 0)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.8, 1.0])
def test_the_prefix_filtered_index_finds_what_all_pairs_finds(threshold):
    rng = random.Random(threshold)
    sets = [frozenset(rng.sample(range(14), rng.randint(1, 10))) for _ in range(150)]
    index = NearIndex(threshold, token_frequency(sets))
    for i, query in enumerate(sets):
        scores = [jaccard(query, stored) for stored in sets[:i]]
        best = max(range(i), key=lambda j: (scores[j], -j), default=None)
        expected = (best, scores[best]) if best is not None and scores[best] >= threshold else None
        assert index.best(query) == expected, (i, threshold)
        index.add(i, query)


def test_the_index_refuses_a_threshold_outside_0_1():
    for bad in (0.0, 1.01):
        with pytest.raises(ValueError):
            NearIndex(bad, token_frequency([]))


@pytest.mark.parametrize("sizes, target, expected", [
    ({"a": 10, "b": 10, "c": 10}, 15, {"a": 5, "b": 5, "c": 5}),
    ({"a": 2, "b": 10, "c": 10}, 15, {"a": 2, "b": 7, "c": 6}),  # 13 left for 2: 6 each, the 1 over to b
    ({"a": 1, "b": 3, "c": 100}, 50, {"a": 1, "b": 3, "c": 46}),
    ({"a": 5, "b": 5, "c": 5}, 2, {"a": 1, "b": 1, "c": 0}),
    ({"a": 3, "b": 4}, 100, {"a": 3, "b": 4}),  # more than there is: all
    ({"x": 0, "y": 4}, 3, {"x": 0, "y": 3}),
    ({("plain", 0): 4, ("plain", 2): 9, ("edit", 1): 9}, 12, {("edit", 1): 4, ("plain", 0): 4, ("plain", 2): 4}),
    ({}, 5, {}),
])
def test_water_fill_table(sizes, target, expected):
    quotas = water_fill(sizes, target)
    assert quotas == expected and list(quotas) == sorted(expected)


@pytest.mark.parametrize("meta, expected", [
    ({"construct": {"operation": "modify"}, "instruction_kind": "edit"}, "modify"),
    ({"construct": {"operation": " "}, "instruction_kind": "edit"}, "edit"),
    ({"construct": "not an object", "instruction_kind": "plain"}, "plain"),
    ({"construct": {"prompt_version": 1}}, "unknown"),
    ({}, "unknown"),
])
def test_instruction_type(meta, expected):
    assert instruction_type(Sample("s", "x", meta=meta)) == expected


def prompt(identifier: str, text: str, file: str = "train.jsonl", conditions=()) -> Prompt:
    return Prompt(identifier, Path(file), " ".join(words(text)), shingles(words(text), 3), tuple(conditions))


def test_deduplicate_names_the_row_each_drop_collided_with():
    depth = (("depth", "d1"),)
    train = [
        prompt("t0", "a dog runs on the beach at dusk"),
        prompt("t1", "A dog runs on the beach at dusk!"),  # exact after normalising
        prompt("t2", "a dog runs on the beach at dusk today"),  # near t0: 6/7
        prompt("t3", "a dog runs on the beach at dusk", conditions=depth),  # other conditions: kept
        prompt("t4", "a cat sleeps in a sunny kitchen corner"),  # exact eval e0
        prompt("t5", "a cat sleeps in a sunny kitchen corner now", conditions=depth),  # near e1
    ]
    evals = [prompt("e0", "a cat sleeps in a sunny kitchen corner", "test.jsonl"),
             prompt("e1", "a cat sleeps in a sunny kitchen corner", "test.jsonl", depth)]
    kept, dropped = deduplicate(train, evals, 0.8, match_conditions=True)
    assert kept == {"t0", "t3"}
    assert {k: (v["reason"], v["with"], v["in"], v["similarity"]) for k, v in dropped.items()} == {
        "t1": ("duplicate", "t0", "train.jsonl", 1.0),
        "t2": ("near_duplicate", "t0", "train.jsonl", round(6 / 7, 4)),
        "t4": ("eval_overlap", "e0", "test.jsonl", 1.0),
        "t5": ("eval_near_overlap", "e1", "test.jsonl", round(6 / 7, 4)),
    }
    kept, dropped = deduplicate(train, evals, 0.8, match_conditions=False)
    assert kept == {"t0"} and dropped["t3"]["reason"] == "duplicate" and dropped["t5"]["with"] == "e0"


@pytest.fixture
def data(synthetic_dir, tmp_path):
    """The synthetic train and test splits copied with their assets (they already carry think, caption
    and key_elements)."""
    shutil.copytree(synthetic_dir / "assets", tmp_path / "in" / "assets")
    for split in ("train", "test"):
        shutil.copy(synthetic_dir / f"{split}.jsonl", tmp_path / "in" / f"{split}.jsonl")
    return tmp_path / "in" / "train.jsonl", tmp_path / "in" / "test.jsonl"


def inject(train: Path, test: Path) -> None:
    """Two duplicates, one near-duplicate, an evaluation row copied and one reworded, as rows of train."""
    records, tests = rows(train), rows(test)
    by_id = {r["id"]: r for r in records + tests}
    copies = [
        ("dup-exact", "train-000007", None),
        ("dup-punctuation", "train-000004", by_id["train-000004"]["instruction"].upper().rstrip(".") + "!"),
        ("dup-near", "train-000016", by_id["train-000016"]["instruction"] + " It is windy."),
        ("leak-exact", "test-000000", None),
        ("leak-near", "test-000002", by_id["test-000002"]["instruction"] + " Slowly."),
    ]
    for new, source, instruction in copies:
        copy = {**by_id[source], "id": new}
        copy["instruction"] = instruction or copy["instruction"]
        records.append(copy)
    write_rows(train, records)


def test_the_cli_drops_duplicates_and_overlaps_balances_and_prints_the_tables(data, tmp_path):
    train, test = data
    inject(train, test)
    out = tmp_path / "selected"
    done = subprocess.run(
        [sys.executable, "-m", "reade.construct", "stage=select", f"input={train}", f"out_dir={out}",
         f"eval_files=[{test}]", "stage.target=14", "progress=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # no teacher server runs here: stage select needs none
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["rows"], summary["eval_rows"], summary["deduplicated"], summary["selected"]) == (29, 4, 24, 14)
    assert summary["dropped"] == {"balance": 10, "duplicate": 2, "eval_near_overlap": 1, "eval_overlap": 1,
                                  "near_duplicate": 1}
    dropped = {r["id"]: r for r in rows(out / "dropped.jsonl")}
    assert {i: (dropped[i]["reason"], dropped[i]["with"]) for i in ("dup-exact", "dup-punctuation", "dup-near",
                                                                     "leak-exact", "leak-near")} == {
        "dup-exact": ("duplicate", "train-000007"), "dup-punctuation": ("duplicate", "train-000004"),
        "dup-near": ("near_duplicate", "train-000016"), "leak-exact": ("eval_overlap", "test-000000"),
        "leak-near": ("eval_near_overlap", "test-000002")}
    assert dropped["leak-exact"]["in"] == str(test) and dropped["dup-near"]["similarity"] >= 0.8

    selected = rows(out / "selected.jsonl")
    input_ids = [r["id"] for r in rows(train)]
    assert sorted(input_ids) == sorted([r["id"] for r in selected] + list(dropped))  # every row accounted for
    assert [r["id"] for r in selected] == [i for i in input_ids if i in {r["id"] for r in selected}]  # input order
    most = max(s["selected"] for s in summary["strata"].values())
    for stratum in summary["strata"].values():  # water-filled: a stratum that gave fewer than it has got the most,
        assert stratum["selected"] in (stratum["available"], most, most - 1)  # give or take one
    assert "| selected | " in done.stdout and "Structured Cap. (#Avg. Len.)" in done.stdout
    assert (out / "statistics.md").read_text().strip() in done.stdout


def test_the_output_loads_from_its_folder_and_a_rerun_writes_the_same_bytes(data, tmp_path):
    train, test = data
    first, _ = select(Selection(), train, tmp_path / "out", [test], progress=False)
    written = {name: (tmp_path / "out" / name).read_bytes() for name in OUTPUTS}
    again, _ = select(Selection(), train, tmp_path / "out", [test], progress=False)
    assert again == first and {name: (tmp_path / "out" / name).read_bytes() for name in OUTPUTS} == written
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(OUTPUTS)  # no staging left behind
    samples, problems, _ = check_samples(tmp_path / "out" / "selected.jsonl", select_module.REQUIRE, progress=False)
    assert problems == [] and len(samples) == 24  # condition paths were rewritten relative to the output


def test_a_run_killed_while_publishing_leaves_no_summary_and_no_staging(data, tmp_path, monkeypatch):
    train, test = data
    select(Selection(), train, tmp_path / "out", [test], progress=False)
    calls = []

    def replace_then_die(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return shutil.move(src, dst)

    monkeypatch.setattr(select_module.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        select(Selection(target=5), train, tmp_path / "out", [test], progress=False)
    assert not (tmp_path / "out" / "summary.json").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_a_missing_or_malformed_eval_file_is_a_clear_error(data, tmp_path):
    train, test = data
    with pytest.raises(DataError, match=r"missing.jsonl:0: file: no such file"):
        select(Selection(), train, tmp_path / "out", [test, tmp_path / "missing.jsonl"], progress=False)
    test.write_text(test.read_text() + '{"id": "broken", "instruc\n')
    with pytest.raises(DataError, match=r"test.jsonl:5: json: not valid JSON"):
        select(Selection(), train, tmp_path / "out", [test], progress=False)
    assert not (tmp_path / "out").exists()


def test_rows_without_key_elements_are_named_and_nothing_is_written(data, tmp_path):
    train, _ = data
    records = rows(train)
    del records[2]["key_elements"]
    del records[5]["caption"]
    write_rows(train, records)
    with pytest.raises(DataError) as error:
        select(Selection(), train, tmp_path / "out", [], progress=False)
    assert "2 problem(s) in 24 row(s); nothing was selected" in str(error.value)
    assert f"{train}:3: key_elements: sample train-000002 has no key_elements" in str(error.value)
    assert f"{train}:6: caption: sample train-000005 has no caption" in str(error.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("settings, message", [
    ({"near_threshold": 0.0}, "near_threshold must be in"),
    ({"near_threshold": 1.5}, "near_threshold must be in"),
    ({"shingle": 0}, "shingle must be >= 1"),
    ({"target": 0}, "target must be >= 1"),
])
def test_bad_settings_are_config_errors(data, tmp_path, settings, message):
    train, test = data
    with pytest.raises(ConfigError, match=message):
        select(Selection(**settings), train, tmp_path / "out", [test], progress=False)


def test_the_input_cannot_be_its_own_eval_file(data, tmp_path):
    train, _ = data
    with pytest.raises(ConfigError, match="also in eval_files"):
        select(Selection(), train, tmp_path / "out", [train], progress=False)


def test_the_stage_composes_without_a_teacher_node_being_built_and_typos_fail(tmp_path):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF / "construct")):
        cfg = compose("construct", overrides=["stage=select", "input=in.jsonl", f"out_dir={tmp_path}",
                                              "eval_files=[a.jsonl,b.jsonl]", "stage.target=100"])
        assert build(cfg.stage) == Selection(target=100) and list(cfg.eval_files) == ["a.jsonl", "b.jsonl"]
        with pytest.raises(ConfigCompositionException):
            compose("construct", overrides=["stage=select", "input=in.jsonl", f"out_dir={tmp_path}",
                                            "stage.near_treshold=0.5"])
