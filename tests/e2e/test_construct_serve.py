"""`python -m reade.construct` against a real OpenAI-compatible server: `transformers serve` on 127.0.0.1.

The served teacher is the two-layer Qwen2 of `tests.judge_model`, trained here on the exact questions
both stages will ask of these rows. The questions and answers come from a rehearsal: the same rows run
in-process through `construct` with the scripted teacher of `tests.construct_teacher`, which records
every (question, answer) pair. The served run must then give the rehearsal's rows, through the real
transport, retries, Hydra entry point and files.

The served model reads text only. Sent an identity image as the vision endpoint, it sees an empty
user turn (the server drops image parts for a text model) and, as taught, answers nothing: that row
must end in the rejects file, with the step and the reason, after its re-ask.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reade.construct.cot import CotStage
from reade.construct.key_elements import KeyElementsStage
from reade.construct.prompts import IDENTITY_SYSTEM, intent_messages
from reade.construct.run import construct
from reade.construct.teacher import Endpoints
from reade.data.jsonl import REQUIRED_FIELDS, check_samples
from tests.construct_teacher import INTENT, ScriptedEndpoint, answer_by_prompt
from tests.e2e.test_openai_judge_serve import Server
from tests.judge_model import save_tiny_judge

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Short rows with a free-text gold caption (`meta.gold_caption`), so that the questions are short and
# the tiny model learns them in seconds; condition files are borrowed from the synthetic data.
ROWS = {
    "text": {"instruction": "A red fox runs through a garden.", "conditions": [],
             "meta": {"gold_caption": "A red fox runs through a green garden at dusk."}},
    "camera": {"instruction": "A quiet street at night.", "meta": {"gold_caption": "A quiet street at night."},
               "conditions": [{"kind": "camera", "path": "assets/train-000015/camera.txt"},
                              {"kind": "audio", "path": "assets/train-000015/audio.wav"}]},
    "identity": {"instruction": "The man in the photo walks.", "meta": {"gold_caption": "A man walks."},
                 "conditions": [{"kind": "identity", "path": "assets/train-000011/id0.png"}]},
}
BUILT = ["camera", "text"]  # text only; camera (described) + audio (skipped)
REJECTED = "identity"  # an identity image: the text-only teacher has nothing to say about it
KILLED = [f"kill-{i:02d}" for i in range(10)]  # copies of the text row: the same questions, other ids
# Short, so that the tiny model learns it fast: the schema's lists may be left out (they default to []).
KEY_ELEMENTS = '{"user": {"objects": [{"name": "fox"}]}, "supplementary": {}, "imaginative": {}}'


def write_rows(synthetic_dir: Path, folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True)
    shutil.copytree(synthetic_dir / "assets", folder / "assets")
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "rows.jsonl"


def rehearse(rows: Path, rejected: dict, out: Path) -> tuple[list, dict, dict]:
    """Both stages in-process with the scripted teacher on the rows to build: the (question, answer)
    pairs and the rows. The rejected row adds its intent question (asked beside its image) and the
    image question as the server sees it, taught to answer nothing."""
    teacher = ScriptedEndpoint(lambda m: KEY_ELEMENTS if m[0]["content"].startswith("You turn") else answer_by_prompt(m))
    construct(CotStage(), rows, out / "cot", Endpoints(teacher), progress=False)
    construct(KeyElementsStage(), out / "cot" / "out.jsonl", out / "rl", Endpoints(teacher), progress=False)
    lessons = list({json.dumps(pair): pair for pair in teacher.pairs}.values())
    lessons.append((intent_messages(rejected["instruction"], ["identity"]), INTENT))
    lessons.append(([{"role": "system", "content": IDENTITY_SYSTEM}, {"role": "user", "content": ""}], ""))
    return lessons, by_id(out / "cot" / "out.jsonl"), by_id(out / "rl" / "out.jsonl")


def by_id(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines())} if path.exists() else {}


@pytest.fixture(scope="module")
def setup(synthetic_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("construct-serve")
    rehearsed = write_rows(synthetic_dir, root / "in-rehearsal", [{"id": i, **ROWS[i]} for i in BUILT])
    rows = write_rows(synthetic_dir, root / "in", [{"id": i, **ROWS[i]} for i in [*BUILT, REJECTED]])
    killed = write_rows(synthetic_dir, root / "in-kill", [{"id": i, **ROWS["text"]} for i in KILLED])
    lessons, cot, rl = rehearse(rehearsed, ROWS[REJECTED], root / "rehearsal")
    server = Server(save_tiny_judge(root / "model", lessons, max_steps=400), root / "serve.log")
    server.start()
    yield {"root": root, "rows": rows, "killed": killed, "server": server, "cot": cot, "rl": rl}
    server.kill()


def command(setup: dict, *overrides: str) -> list[str]:
    server = setup["server"]
    return [sys.executable, "-m", "reade.construct", f"teacher.model={server.model_dir}", f"teacher.base_url={server.url}",
            "teacher.retries=1", "teacher.backoff_s=0.05", "teacher.timeout_s=60", "stage.retries=1",
            "stage.max_tokens=400", "progress=false", *overrides]


def run(setup: dict, *overrides: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command(setup, *overrides), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def without_provenance(row: dict) -> dict:
    """The row without what differs between rehearsal and server: the names of the teacher models and
    the folder the condition paths lead to (the loader checks that they lead to the files)."""
    meta = {k: v for k, v in row["meta"].items() if k not in ("construct", "construct_key_elements")}
    return {**row, "meta": meta, "conditions": [c["kind"] for c in row["conditions"]]}


def test_both_stages_through_the_server_give_the_rehearsed_rows_and_the_reject(setup):
    out = setup["root"] / "served"
    run(setup, "stage=cot", f"input={setup['rows']}", f"out_dir={out / 'cot'}", "vision=${teacher}")
    built = by_id(out / "cot" / "out.jsonl")
    assert sorted(built) == BUILT
    for row_id in BUILT:
        assert without_provenance(built[row_id]) == without_provenance(setup["cot"][row_id])
    assert built["camera"]["meta"]["construct"]["conditions"][1] == {
        "kind": "audio", "skipped": "no audio endpoint is configured (audio=null)"}
    rejects = by_id(out / "cot" / "rejects.jsonl")
    assert list(rejects) == [REJECTED]
    assert rejects[REJECTED]["step"] == "step 2 (identity id0.png)" and rejects[REJECTED]["stage"] == "cot"
    assert rejects[REJECTED]["reason"] == "malformed answer (empty answer) after 2 answer(s)"
    samples, problems, _ = check_samples(out / "cot" / "out.jsonl", REQUIRED_FIELDS["sft"], progress=False)
    assert problems == [] and len(samples) == len(BUILT)
    summary = json.loads((out / "cot" / "summary.json").read_text())
    assert (summary["built"], summary["rejected"], summary["endpoints"][0]["answers_without_usage"]) == (len(BUILT), 1, 0)
    assert summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0 and summary["cost"] is None

    run(setup, "stage=key_elements", f"input={out / 'cot' / 'out.jsonl'}", f"out_dir={out / 'rl'}")
    extracted = by_id(out / "rl" / "out.jsonl")
    assert {i: r["key_elements"] for i, r in extracted.items()} == {i: setup["rl"][i]["key_elements"] for i in BUILT}
    samples, problems, _ = check_samples(out / "rl" / "out.jsonl", REQUIRED_FIELDS["grpo"], progress=False)
    assert problems == [] and len(samples) == len(BUILT)


def test_a_job_killed_mid_run_and_run_again_loses_and_duplicates_no_row(setup):
    out_dir = setup["root"] / "killed"
    out = out_dir / "out.jsonl"
    args = ["stage=cot", f"input={setup['killed']}", f"out_dir={out_dir}", "concurrency=1"]
    job = subprocess.Popen(command(setup, *args, "teacher.rpm=150"), cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out.exists() and out.read_text().count("\n") >= 2):
        assert job.poll() is None, f"the job ended before it was killed:\n{job.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "no rows after 120 s"
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    first = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert 2 <= len(first) < len(KILLED), "the kill came after the last row: nothing left to resume"

    run(setup, *args)
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    rejected = [json.loads(line)["id"] for line in (out_dir / "rejects.jsonl").read_text().splitlines()]
    assert sorted(ids + rejected) == KILLED and rejected == []
    assert ids[: len(first)] == first
    assert json.loads((out_dir / "summary.json").read_text())["skipped_already_done"] == len(first)
