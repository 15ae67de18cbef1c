"""OpenAIJudge against a real OpenAI-compatible server: `transformers serve` on 127.0.0.1.

A random tiny model answers garbage, so the served judge is a two-layer Qwen2 trained here, on the
very prompts the tests send, until greedy decoding gives `Final Score: 0.75` for each coverage
prompt and `Answer: no` for each contradiction prompt (a few seconds on an idle CPU). What is under
test is the server, the transport and the judge, not the model's grading, so the model only has to
answer those prompts deterministically.

The server runs offline (HF_HUB_OFFLINE=1) and is pinned to the model directory, which is then also
the `model` field of every request; it is ready when `/health` answers (its `/v1/models` fails
without a Hugging Face cache directory, which a fresh machine does not have).
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from reade.rewards.judges.base import CoverageQuery
from reade.rewards.judges.openai import OpenAIJudge
from reade.rewards.judges.prompts import contradiction_messages, coverage_messages
from reade.schema import KeyElements, KeyObject
from tests.judge_model import save_tiny_judge

pytestmark = pytest.mark.slow

SERVE = Path(sys.executable).with_name("transformers")
COVERAGE_ANSWER, CONTRADICTION_ANSWER = "Final Score: 0.75", "Answer: no"
COLOURS = ("black", "white", "red", "green", "blue", "grey", "golden", "brown")
ANIMALS = ("cat", "dog", "horse", "fox", "bird", "rabbit", "goat")
ACTIONS = ("jumps", "runs", "sleeps", "swims", "climbs")
SCORED, KILLED = range(0, 4), range(4, 14)  # coverage queries of the two tests
CAPTIONS = range(3)  # contradiction captions
STARTUP_S = 120.0


def coverage_query(i: int) -> CoverageQuery:
    colour, animal, action = COLOURS[i % 8], ANIMALS[i % 7], ACTIONS[i % 5]
    elements = KeyElements(objects=(KeyObject(animal, (colour,)),), actions=(action,))
    return CoverageQuery(elements, f"A {colour} {animal} {action} near the river.")


def caption(i: int) -> str:
    return f"A {COLOURS[i % 8]} {ANIMALS[i % 7]} {ACTIONS[i % 5]} in the morning light."


def judge_lessons() -> list[tuple[list[dict], str]]:
    """The prompts the tests send, each with the answer the served model must give."""
    queries = [coverage_query(i) for i in [*SCORED, *KILLED]]
    lessons = [(coverage_messages(q.elements, q.text), COVERAGE_ANSWER) for q in queries]
    return lessons + [(contradiction_messages(caption(i)), CONTRADICTION_ANSWER) for i in CAPTIONS]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`transformers serve` of one model directory on one port, started and killed by the tests."""

    def __init__(self, model_dir: Path, log: Path):
        self.model_dir, self.log, self.port = model_dir, log, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Start and wait until it answers (about 6 s here: importing torch and transformers)."""
        started = time.monotonic()
        command = [str(SERVE), "serve", str(self.model_dir), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--device", "cpu"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        while time.monotonic() - started < STARTUP_S:
            assert self.process.poll() is None, f"transformers serve exited:\n{self.log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        pytest.fail(f"transformers serve was not ready after {STARTUP_S} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served-judge")
    server = Server(save_tiny_judge(root / "model", judge_lessons()), root / "serve.log")
    server.start()
    yield server
    server.kill()


def make_judge(server: Server, **options) -> OpenAIJudge:
    return OpenAIJudge(str(server.model_dir), base_url=server.url, retries=1, backoff_s=0.05, timeout_s=30.0, **options)


def test_the_served_judge_answers_through_the_judge(served):
    judge = make_judge(served, concurrency=4)
    try:
        assert judge.run(judge.coverage([coverage_query(i) for i in SCORED])) == [0.75] * len(SCORED)
        assert judge.run(judge.contradiction([caption(i) for i in CAPTIONS])) == [0.0] * len(CAPTIONS)
        assert (judge.stats.asked, judge.stats.failed) == (len(SCORED) + len(CAPTIONS), 0)
    finally:
        judge.close()


def test_a_server_killed_mid_run_leaves_nan_and_a_restart_scores_only_those(served, tmp_path):
    judge = make_judge(served, concurrency=2, cache_dir=str(tmp_path), commit_every=2)
    queries = [coverage_query(i) for i in KILLED]

    async def score_and_kill_after_the_first_answers() -> list[float]:
        scoring = asyncio.ensure_future(judge.coverage(queries))
        while judge.stats.asked < 2 and not scoring.done():
            await asyncio.sleep(0.01)
        served.kill()
        return await scoring

    try:
        first = judge.run(score_and_kill_after_the_first_answers())
        answered = [v for v in first if not math.isnan(v)]
        lost = len(queries) - len(answered)
        assert answered == [0.75] * len(answered) and 2 <= len(answered) < len(queries)
        assert judge.stats.failed == lost and judge.stats.reasons == {"connection": lost}
        assert len(judge.cache) == len(answered)

        served.start()
        asked, cached = judge.stats.asked, judge.stats.cached
        assert judge.run(judge.coverage(queries)) == [0.75] * len(queries)
        assert (judge.stats.asked - asked, judge.stats.cached - cached) == (lost, len(answered))
    finally:
        judge.close()
