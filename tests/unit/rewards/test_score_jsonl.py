"""`reade.rewards.score_jsonl` and `python -m reade.score`: the output contract, resuming, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import math
from dataclasses import asdict

import pytest

from reade.errors import DataError, ReadeError
from reade.rewards.assigner import RewardAssigner
from reade.rewards.content import SCORE_FIELDS, RewardWeights
from reade.rewards.judges.lexical import VERSION, LexicalJudge
from reade.rewards.score_jsonl import score_jsonl
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


class DeadJudge(LexicalJudge):
    """The lexical judge's identity, and a server that answers `answered` coverage verdicts, then none."""

    def __init__(self, answered: int = 0):
        super().__init__()
        self.answered = answered

    async def _coverage(self, queries):
        verdicts = await super()._coverage(queries)
        for i in range(self.answered, len(queries)):
            self.record_failure("connection", "refused")
            verdicts[i] = math.nan
        self.answered = max(0, self.answered - len(queries))
        return verdicts


class OlderLexicalJudge(LexicalJudge):
    def identity(self):
        return {**super().identity(), "version": "0"}


@pytest.fixture
def assigner():
    judge = LexicalJudge()
    yield RewardAssigner(judge, RewardWeights())
    judge.close()


def test_output_rows_follow_the_contract(tmp_path, assigner):
    out = tmp_path / "scores.jsonl"
    summary = score_jsonl(write(tmp_path / "in.jsonl", ROWS), out, assigner, progress=False)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert list(rows["a"]) == ["id", *SCORE_FIELDS, "judge", "weights"]
    assert rows["a"] == {"id": "a", "format": 1.0, "r_user": 1.0, "r_detail": 1.0, "r_supp": 1.0, "r_contra": 0.0,
                         "content": pytest.approx(2.8), "reward": pytest.approx(3.8),
                         "judge": {"backend": "lexical", "version": VERSION},
                         "weights": asdict(RewardWeights())}
    # b: truck, silver, turning found; rain and anime not.
    assert (rows["b"]["r_user"], rows["b"]["r_detail"], rows["b"]["r_supp"]) == (1.0, 0.0, 0.0)
    assert rows["c"]["format"] == 0.0 and rows["c"]["r_user"] == 0.0
    assert summary["rows"] == 3 and summary["skipped"] == 0 and summary["r_user_mean"] == pytest.approx(2 / 3)
    assert summary["nan_rows"] == 0 and summary["nan_share"] == 0.0


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


@pytest.mark.parametrize(
    "judge_class, weights, message",
    [
        (LexicalJudge, RewardWeights(rho=0.0, gamma=0.0, lam=0.0),
         "weights.gamma 0.8 in the file, 0.0 now; weights.lam 0.7 in the file, 0.0 now; 1 more weights fields"),
        (OlderLexicalJudge, RewardWeights(), f"judge.version {VERSION!r} in the file, '0' now"),
    ],
    ids=["other weights", "another judge"],
)
def test_a_rerun_with_other_settings_is_refused_and_the_file_kept(tmp_path, judge_class, weights, message):
    source, out = write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl"
    first, second = LexicalJudge(), judge_class()
    score_jsonl(source, out, RewardAssigner(first, RewardWeights()), progress=False)
    before = out.read_text()
    with pytest.raises(DataError, match="3 of its 3 rows were scored with other settings") as error:
        score_jsonl(source, out, RewardAssigner(second, weights), progress=False)
    first.close()
    second.close()
    assert message in str(error.value) and "choose another output" in str(error.value)
    assert out.read_text() == before


def test_an_output_without_settings_is_refused(tmp_path, assigner):
    """Rows written before outputs recorded their settings cannot be told apart from another run's."""
    out = write(tmp_path / "scores.jsonl", [{"id": "a", **{f: 1.0 for f in SCORE_FIELDS}}])
    with pytest.raises(DataError, match="judge not recorded in the file"):
        score_jsonl(write(tmp_path / "in.jsonl", ROWS), out, assigner, progress=False)


def test_a_judge_that_answers_no_row_is_an_error_and_a_rerun_completes(tmp_path, assigner):
    source, out = write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl"
    dead = DeadJudge()
    with pytest.raises(ReadeError, match=r"lexical judge gave no complete verdict for any of the 3 rows it scored "
                                         r"\(9 failed verdicts: connection 9\)"):
        score_jsonl(source, out, RewardAssigner(dead, RewardWeights()), progress=False)
    dead.close()
    assert [json.loads(line)["reward"] for line in out.read_text().splitlines()] == [None] * 3
    summary = score_jsonl(source, out, assigner, progress=False)  # the same settings: resumed
    assert summary["nan_rows"] == 0 and summary["skipped"] == 0 and len(out.read_text().splitlines()) == 3


def test_rows_without_a_verdict_are_counted_not_an_error(tmp_path):
    flaky = DeadJudge(answered=3)  # the first row's three sets are judged, the others not
    summary = score_jsonl(write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl",
                          RewardAssigner(flaky, RewardWeights()), progress=False)
    flaky.close()
    assert summary["nan_rows"] == 2 and summary["nan_share"] == pytest.approx(2 / 3)
    assert summary["reward_missing"] == 2


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


def test_the_raw_output_may_sit_in_another_field(tmp_path, assigner):
    """A run's eval_samples.jsonl holds the output in `output` (and its key elements): scored as it is."""
    samples = [{"id": r["id"], "output": r["prediction"], "key_elements": r["key_elements"], "format_ok": True}
               for r in ROWS]
    by_output = score_jsonl(write(tmp_path / "samples.jsonl", samples), tmp_path / "a.jsonl", assigner,
                            progress=False, prediction_field="output")
    assert by_output == score_jsonl(write(tmp_path / "in.jsonl", ROWS), tmp_path / "b.jsonl", assigner, progress=False)
    with pytest.raises(DataError, match="in.jsonl:1: output: missing"):
        score_jsonl(tmp_path / "in.jsonl", tmp_path / "c.jsonl", assigner, progress=False, prediction_field="output")


def test_cli_scores_and_resumes(tmp_path):
    source, out = write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl"
    command = [sys.executable, "-m", "reade.score", f"input={source}", f"output={out}", "judge=lexical",
               f"paths.root_dir={tmp_path}"]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(out.read_text().splitlines()) == 3 and "r_user_mean" in first.stdout
    assert "rows without a verdict (null; a rerun onto the same output scores them again): 0 of 3 (0.0 %)" in first.stdout
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "3 already scored, 0 to score" in second.stdout + second.stderr
    other = subprocess.run([*command, "reward=user"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert other.returncode == 2 and "Traceback" not in other.stdout + other.stderr
    assert "rows were scored with other settings (weights.gamma 0.8 in the file, 0.0 now" in other.stdout + other.stderr


def test_cli_exits_2_when_the_judge_answers_no_row(tmp_path):
    """A dead judge server: every row null, and the run says so instead of exiting 0."""
    source, out = write(tmp_path / "in.jsonl", ROWS), tmp_path / "scores.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "reade.score", f"input={source}", f"output={out}", "judge=openai",
         "judge.base_url=http://127.0.0.1:9/v1", "judge.retries=0", f"paths.root_dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "openai judge gave no complete verdict for any of the 3 rows it scored" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr and len(out.read_text().splitlines()) == 3


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
