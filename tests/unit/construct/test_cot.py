"""Stage cot on synthetic rows with a scripted teacher: which questions are asked of whom, what the
row becomes, and how a failing or malformed teacher rejects the row."""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from reade.clients.openai_chat import ChatReply
from reade.construct.cot import NO_CONDITIONS, TEXT_ONLY, CotStage
from reade.construct.run import read_input
from reade.construct.teacher import Endpoints, Rejected
from reade.schema import Sample
from tests.construct_teacher import ScriptedEndpoint, answer_by_prompt, completion


@pytest.fixture(scope="module")
def rows(synthetic_dir) -> dict[str, Sample]:
    return {s.id: s for s in read_input(synthetic_dir / "train.jsonl", CotStage(), progress=False)}


def with_conditions(rows: dict[str, Sample], *kinds: str) -> Sample:
    """The first row whose conditions are exactly these kinds, in this order."""
    return next(s for s in rows.values() if tuple(c.kind for c in s.conditions) == kinds)


def build(sample: Sample, endpoints: Endpoints, **stage) -> dict:
    return asyncio.run(CotStage(**stage).row(sample, endpoints))


def images_sent(messages: list[dict]) -> list[np.ndarray]:
    parts = messages[1]["content"]
    assert all(p["type"] == "image_url" for p in parts)
    data = [base64.b64decode(p["image_url"]["url"].removeprefix("data:image/png;base64,")) for p in parts]
    return [np.asarray(Image.open(io.BytesIO(d))) for d in data]


def test_depth_and_pose_frames_go_to_the_vision_endpoint_and_the_camera_to_the_describer(rows, teacher):
    vision = ScriptedEndpoint(model="vision-model")
    row = build(with_conditions(rows, "depth", "pose", "camera"), Endpoints(teacher, vision), frames=2)
    assert [len(images_sent(m)) for m in vision.sent] == [2, 2]
    systems = sorted(m[0]["content"] for m in vision.sent)
    assert "of a depth sequence" in systems[0] and "of a human-pose sequence" in systems[1]
    assert teacher.systems() == ["You interpret requests", "You reconcile a", "You complete the"]
    think = row["think"].splitlines()
    assert [line.split(":")[0] for line in think] == [
        "Step 1 (interpretation of textual intent)", "Step 2 (non-textual understanding)",
        "Step 3 (multimodal alignment)", "Step 4 (supplementary detail completion)"]
    assert "Depth sequence: A person" in think[1] and "Pose sequence: A person" in think[1]
    assert "Camera trajectory: The camera stays static." in think[1]
    assert row["meta"]["construct"]["conditions"] == [
        {"kind": "depth", "described_by": "vision-model"}, {"kind": "pose", "described_by": "vision-model"},
        {"kind": "camera", "described_by": "camera_motion"}]
    assert row["meta"]["construct"]["operation"] == "create"
    assert Sample.from_dict(row).caption.dense == "The dense part."


def test_the_gold_caption_grounds_step_4_and_is_kept_in_meta(rows, teacher):
    sample = with_conditions(rows, "depth", "pose", "camera")
    row = build(sample, Endpoints(teacher, teacher))
    gold = sample.caption.render()
    assert row["meta"]["gold_caption"] == gold
    assert f"Reference description:\n{gold}\n" in teacher.sent[-1][1]["content"]
    own = replace(sample, meta={**sample.meta, "gold_caption": "A user's own dense caption."})
    assert build(own, Endpoints(teacher, teacher))["meta"]["gold_caption"] == "A user's own dense caption."


def test_an_identity_image_is_sent_as_it_is(rows, teacher):
    sample = with_conditions(rows, "identity")
    build(sample, Endpoints(teacher, teacher))
    sent = [images_sent(m) for m in teacher.sent if m[0]["content"].startswith("The image is")]
    expected = np.asarray(Image.open(sample.conditions[0].path).convert("RGB"))
    assert len(sent) == 1 and np.array_equal(sent[0][0], expected)


def test_without_vision_and_audio_endpoints_those_conditions_are_skipped_with_the_reason(rows, teacher):
    row = build(with_conditions(rows, "identity", "identity", "pose", "audio"), Endpoints(teacher))
    assert row["meta"]["construct"]["conditions"] == [
        {"kind": "identity", "skipped": "no vision endpoint is configured (vision=null)"},
        {"kind": "identity", "skipped": "no vision endpoint is configured (vision=null)"},
        {"kind": "pose", "skipped": "no vision endpoint is configured (vision=null)"},
        {"kind": "audio", "skipped": "no audio endpoint is configured (audio=null)"}]
    assert NO_CONDITIONS in row["think"] and TEXT_ONLY in row["think"]
    assert len(teacher.sent) == 2  # intent and completion: with nothing described there is nothing to align


def test_an_audio_endpoint_hears_the_wav_file(rows, teacher):
    sample = with_conditions(rows, "audio")
    listener = ScriptedEndpoint(lambda m: "Steady rain falls.", model="audio-model")
    row = build(sample, Endpoints(teacher, None, listener))
    part = listener.sent[0][1]["content"][0]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    with open(sample.conditions[0].path, "rb") as wav:
        assert base64.b64decode(part["input_audio"]["data"]) == wav.read()
    assert "Audio clip: Steady rain falls." in row["think"]


def test_a_malformed_answer_is_asked_again_then_the_row_is_rejected_with_the_reason(rows):
    answers = iter([completion().replace("6. Camera caption", "6. Lens caption")] * 2 + [completion()])

    def step_4_malformed_twice(messages):
        return next(answers) if messages[0]["content"].startswith("You complete") else answer_by_prompt(messages)

    teacher = ScriptedEndpoint(step_4_malformed_twice)
    assert build(rows["train-000008"], Endpoints(teacher), retries=2)["caption"]["camera"] == "The camera part."

    teacher = ScriptedEndpoint(lambda m: "Operation: film\nObjective: x" if "interpret" in m[0]["content"] else "x")
    with pytest.raises(Rejected) as rejected:
        build(rows["train-000008"], Endpoints(teacher), retries=1)
    record = rejected.value.record("train-000008", "cot")
    assert record["step"] == "step 1 (intent)" and record["answer"] == "Operation: film\nObjective: x"
    assert record["reason"].startswith("malformed answer (first line must be 'Operation:") and "after 2 answer(s)" in record["reason"]


def test_a_teacher_that_fails_after_its_retries_rejects_the_row_at_once(rows):
    teacher = ScriptedEndpoint(lambda m: ChatReply(None, "http_503", "scripted after 4 attempt(s)"))
    with pytest.raises(Rejected, match=r"teacher http_503: scripted after 4 attempt\(s\)"):
        build(rows["train-000008"], Endpoints(teacher), retries=3)
    assert len(teacher.sent) == 1  # the endpoint retried already: no re-ask on top


def test_a_row_without_a_gold_caption_is_a_problem_of_the_input(rows):
    sample = replace(rows["train-000008"], caption=None)
    assert CotStage().problem(sample) == ("meta.gold_caption", "sample train-000008 has no gold caption: "
                                          "set meta.gold_caption or caption")
    assert CotStage().problem(rows["train-000008"]) is None
