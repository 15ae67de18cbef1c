"""`reade.rewards.score_jsonl` and `python -m reade.score`: the output contract, resuming, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reade.errors import DataError
from reade.rewards.assigner import RewardAssigner
from reade.rewards.content import RewardWeights
from reade.rewards.judges.lexical import LexicalJudge
from reade.rewards.score_jsonl import SCORE_FIELDS, score_jsonl
from tests.conftest import ROOT

KEY = {
    "user": {"objects": [{"name": "truck", "attributes": ["silver"]}], "actions": ["turning"]},
    "supplementary": {"objects": [{"name": "rain"}]},
    "imaginative": {"style": ["anime"]},
}


def prediction(caption: str) -> str:
    parts = "\n".join(f"{i}. {t} caption: {caption}" for i, t in enumerate(
        ["Dense", "Main object", "Background", "Movement", "Style", "Camera"], start=1))
    return f"<think>plan</think>\n<answer>\n{parts}\n</answer>"


ROWS = [
    {"id": "a", "prediction": prediction("A silver truck is turning in the rain, anime style."), "key_elements": KEY},
    {"id": "b", "prediction": prediction("A silver truck is turning."), "key_elements": KEY},
    {"id": "c", "prediction": "A red car.", "key_elements": KEY},
]


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def assigner():
    judge = LexicalJudge()
    yield RewardAssigner(judge, RewardWeights())
    judge.close()


def test_output_rows_follow_the_contract(tmp_path, assigner):
    out = tmp_path / "scores.jsonl"
    summary = score_jsonl(write(tmp_path / "in.jsonl", ROWS), out, assigner, progress=False)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert list(rows["a"]) == ["id", *SCORE_FIELDS]
    assert rows["a"] == {"id": "a", "format": 1.0, "r_user": 1.0, "r_detail": 1.0, "r_supp": 1.0, "r_contra": 0.0,
                         "content": pytest.approx(2.8), "reward": pytest.approx(3.8)}
    # b: truck, silver, turning found; rain and anime not.
    assert (rows["b"]["r_user"], rows["b"]["r_detail"], rows["b"]["r_supp"]) == (1.0, 0.0, 0.0)
    assert rows["c"]["format"] == 0.0 and rows["c"]["r_user"] == 0.0
    assert summary["rows"] == 3 and summary["skipped"] == 0 and summary["r_user_mean"] == pytest.approx(2 / 3)


def test_rerun_skips_finished_rows_and_repairs_a_cut_line(tmp_path, assigner):
    source, out = write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl"
    score_jsonl(source, out, assigner, progress=False)
    lines = out.read_text().splitlines()
    half_null = json.loads(lines[1]) | {"r_supp": None}
    out.write_text(lines[0] + "\n" + json.dumps(half_null) + "\n" + lines[2][:20])  # a crash mid-line
    summary = score_jsonl(source, out, assigner, progress=False)
    assert summary["skipped"] == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == ["a", "b", "c"]
    assert all(r[f] is not None for r in rows for f in SCORE_FIELDS)


def test_an_output_of_another_input_is_refused_and_kept(tmp_path, assigner):
    out = write(tmp_path / "scores.jsonl", [{"id": "zzz", **{f: 1.0 for f in SCORE_FIELDS}}])
    before = out.read_text()
    with pytest.raises(DataError, match="ids that the input does not"):
        score_jsonl(write(tmp_path / "in.jsonl", ROWS), out, assigner, progress=False)
    assert out.read_text() == before


@pytest.mark.parametrize(
    "row, message",
    [
        ("not json", "in.jsonl:2: row: invalid JSON"),
        ({"id": "x", "key_elements": KEY}, "in.jsonl:2: prediction: missing"),
        ({"id": "x", "prediction": 3, "key_elements": KEY}, "in.jsonl:2: prediction: must be a string"),
        ({"id": "", "prediction": "", "key_elements": KEY}, "in.jsonl:2: id: must be a non-empty string"),
        ({"id": "x", "prediction": "", "key_elements": {"user": {}}}, "in.jsonl:2: key_elements: needs exactly"),
        ({"id": "x", "prediction": "", "key_elements": KEY | {"user": {"objects": [{"name": ""}]}}},
         "in.jsonl:2: key_elements.user.objects[0]"),
        ({"id": "a", "prediction": "", "key_elements": KEY}, "in.jsonl:2: id: 'a' repeats line 1"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_scored(tmp_path, assigner, row, message):
    out = tmp_path / "scores.jsonl"
    with pytest.raises(DataError) as error:
        score_jsonl(write(tmp_path / "in.jsonl", [ROWS[0], row]), out, assigner, progress=False)
    assert message in str(error.value)
    assert not out.exists()


def test_cli_scores_and_resumes(tmp_path):
    source, out = write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl"
    command = [sys.executable, "-m", "reade.score", f"input={source}", f"output={out}", "judge=lexical",
               f"paths.root_dir={tmp_path}"]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(out.read_text().splitlines()) == 3 and "r_user_mean" in first.stdout
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "3 already scored, 0 to score" in second.stdout + second.stderr


def test_cli_bad_input_exits_2_with_the_row_named(tmp_path):
    source = write(tmp_path / "in.jsonl", [ROWS[0], "{broken"])
    result = subprocess.run(
        [sys.executable, "-m", "reade.score", f"input={source}", f"output={tmp_path / 'o.jsonl'}", "judge=lexical",
         f"paths.root_dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "in.jsonl:2: row: invalid JSON" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
