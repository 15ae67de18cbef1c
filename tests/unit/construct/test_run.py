"""`construct` over a whole file with a scripted teacher: input checks, both stages, the summary,
and a run stopped mid-way that a second run completes without a lost or duplicated row."""

from __future__ import annotations

import json
import shutil

import pytest

from reade.clients.openai_chat import ChatReply
from reade.construct.cot import CotStage
from reade.construct.key_elements import KeyElementsStage
from reade.construct.run import construct
from reade.construct.teacher import Endpoints
from reade.data.jsonl import REQUIRED_FIELDS, check_samples
from reade.errors import DataError
from tests.construct_teacher import ScriptedEndpoint, answer_by_prompt


def ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def triples(synthetic_dir, tmp_path):
    """The synthetic train split copied with its assets: condition paths stay relative to the file."""
    shutil.copytree(synthetic_dir / "assets", tmp_path / "in" / "assets")
    shutil.copy(synthetic_dir / "train.jsonl", tmp_path / "in" / "train.jsonl")
    return tmp_path / "in" / "train.jsonl"


def test_both_stages_give_files_the_loader_accepts_and_a_summary(triples, tmp_path, teacher):
    summary = construct(CotStage(), triples, tmp_path / "cot", Endpoints(teacher, teacher), progress=False)
    assert summary["built"] == summary["out_rows"] == summary["rows"] == 24 and summary["rejected"] == 0
    assert summary["requests"] == len(teacher.sent) and summary["prompt_tokens"] == 10 * len(teacher.sent)
    assert summary["cost"] == pytest.approx(len(teacher.sent) * (10 * 1.0 + 5 * 2.0) / 1e6)
    assert json.loads((tmp_path / "cot" / "summary.json").read_text()) == summary
    samples, problems, _ = check_samples(tmp_path / "cot" / "out.jsonl", REQUIRED_FIELDS["sft"], progress=False)
    assert problems == [] and len(samples) == 24  # condition paths were rewritten relative to out.jsonl
    assert teacher.closed == 1

    extractor = ScriptedEndpoint()
    summary = construct(KeyElementsStage(), tmp_path / "cot" / "out.jsonl", tmp_path / "rl", Endpoints(extractor),
                        progress=False)
    assert summary["out_rows"] == 24 and len(extractor.sent) == 24
    samples, problems, _ = check_samples(tmp_path / "rl" / "out.jsonl", REQUIRED_FIELDS["grpo"], progress=False)
    assert problems == [] and samples[0].key_elements.supplementary.camera == ("zoom in",)


def test_every_row_ends_in_the_output_or_the_rejects_with_its_step_and_reason(triples, tmp_path):
    def fail_rows_with_audio(messages):
        if messages[0]["content"].startswith("You reconcile") and "Audio clip" in messages[1]["content"]:
            return ChatReply(None, "http_500", "scripted after 4 attempt(s)")
        return answer_by_prompt(messages)

    teacher = ScriptedEndpoint(fail_rows_with_audio)
    summary = construct(CotStage(), triples, tmp_path / "cot", Endpoints(teacher, teacher, teacher), progress=False)
    rejects = [json.loads(line) for line in (tmp_path / "cot" / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == summary["rejected"] == 9 and summary["rejected_by_step"] == {"step 3 (alignment)": 9}
    assert rejects[0]["reason"] == "teacher http_500: scripted after 4 attempt(s)" and rejects[0]["stage"] == "cot"
    assert sorted(ids(tmp_path / "cot" / "out.jsonl") + [r["id"] for r in rejects]) == [f"train-{i:06d}" for i in range(24)]

    retried = construct(CotStage(), triples, tmp_path / "cot", Endpoints(ScriptedEndpoint()), retry_rejects=True,
                        progress=False)
    assert (retried["built"], retried["skipped_already_done"], retried["out_rows"]) == (9, 15, 24)


class Killed(BaseException):
    """What a SIGKILL is to the rows in flight: nothing after it runs, no handler sees it."""


def test_a_run_stopped_mid_way_is_completed_by_the_next_without_loss_or_duplicates(triples, tmp_path):
    answered = 0

    def die_after_some_rows(messages):
        nonlocal answered
        if messages[0]["content"].startswith("You complete"):
            answered += 1
            if answered > 9:
                raise Killed
        return answer_by_prompt(messages)

    with pytest.raises(Killed):
        construct(CotStage(), triples, tmp_path / "cot", Endpoints(ScriptedEndpoint(die_after_some_rows)),
                  concurrency=3, progress=False)
    out = tmp_path / "cot" / "out.jsonl"
    first = ids(out)
    assert 7 <= len(first) <= 9
    with out.open("a") as handle:  # and the kill came while a row was being written
        handle.write('{"id": "train-000023", "instruction": "cut sh')

    summary = construct(CotStage(), triples, tmp_path / "cot", Endpoints(ScriptedEndpoint()), progress=False)
    assert summary["torn_lines_dropped"] == 1 and summary["skipped_already_done"] == len(first)
    assert ids(out)[: len(first)] == first
    assert sorted(ids(out)) == [f"train-{i:06d}" for i in range(24)]


def test_broken_input_rows_are_all_named_and_nothing_is_asked(triples, tmp_path, teacher):
    rows = triples.read_text().splitlines()
    broken = json.loads(rows[3])
    del broken["caption"]
    rows[3] = json.dumps(broken)
    rows[5] = rows[5][:40]
    triples.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as error:
        construct(CotStage(), triples, tmp_path / "cot", Endpoints(teacher), progress=False)
    message = str(error.value)
    assert "2 problem(s) in 24 row(s); nothing was sent to the teacher" in message
    assert f"{triples}:6: json: not valid JSON" in message
    assert f"{triples}:4: meta.gold_caption: sample train-000003 has no gold caption" in message
    assert teacher.sent == [] and not (tmp_path / "cot").exists()


def test_key_elements_need_think_and_caption(triples, tmp_path, teacher):
    rows = [json.loads(line) for line in triples.read_text().splitlines()]
    del rows[0]["think"]
    triples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"train.jsonl:1: think: sample train-000000 has no think"):
        construct(KeyElementsStage(), triples, tmp_path / "rl", Endpoints(teacher), progress=False)


@pytest.mark.parametrize("path", ["missing.jsonl", "empty.jsonl"])
def test_a_missing_or_empty_input_is_a_data_error(tmp_path, teacher, path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no such file|contains no rows"):
        construct(CotStage(), tmp_path / path, tmp_path / "cot", Endpoints(teacher), progress=False)
