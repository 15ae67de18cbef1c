"""ChatEndpoint beyond what the judge tests cover (tests/unit/rewards/test_openai_judge.py drives its
retries, timeouts, bound and key through OpenAIJudge): token counts and cost, the rpm pace, content
parts with images and audio, and the replies it gives instead of raising."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from reade.clients.openai_chat import ChatEndpoint, ChatReply, Usage, audio_part, image_part
from tests.unit.rewards.test_openai_judge import completion, fail, ok, page, server  # noqa: F401  (fixture)

MESSAGES = [{"role": "user", "content": "Hello"}]


def with_usage(content: str, prompt: int, completion_tokens: int):
    body = {**completion("m", content), "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens,
                                                  "total_tokens": prompt + completion_tokens}}
    return page(json.dumps(body), "application/json")


def ask(endpoint: ChatEndpoint, *messages: list[dict], **sampling) -> list[ChatReply]:
    async def all_of_them():
        try:
            return await asyncio.gather(*(endpoint.complete(m, **sampling) for m in messages))
        finally:
            await endpoint.aclose()

    return asyncio.run(all_of_them())


def endpoint(server, **options) -> ChatEndpoint:
    return ChatEndpoint("m", base_url=server.url, retries=1, backoff_s=0.01, timeout_s=5.0, **options)


def test_tokens_are_counted_from_usage_and_priced(server):
    server.script.extend([with_usage("a", 100, 20), with_usage("b", 50, 10), ok("no usage reported")])
    chat = endpoint(server, price_input_per_1m=2.0, price_output_per_1m=10.0)
    assert sorted(r.text for r in ask(chat, MESSAGES, MESSAGES, MESSAGES)) == ["a", "b", "no usage reported"]
    assert chat.usage == Usage(requests=3, prompt_tokens=150, completion_tokens=30, without_usage=1)
    assert chat.cost() == pytest.approx((150 * 2.0 + 30 * 10.0) / 1e6)
    assert endpoint(server).cost() is None  # no prices: unknown, never 0


def test_a_failure_is_a_reply_with_the_reason_and_the_attempts(server):
    server.default = fail(503)
    reply = ask(endpoint(server), MESSAGES)[0]
    assert (reply.text, reply.failure) == (None, "http_503") and reply.detail.endswith("after 2 attempt(s)")


def test_sampling_options_and_content_parts_reach_the_server(server):
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    messages = [{"role": "user", "content": [{"type": "text", "text": "Describe."}, image_part(image)]}]
    ask(endpoint(server), messages, temperature=0.3, max_tokens=7)
    sent = server.bodies[0]
    assert (sent["temperature"], sent["max_tokens"], sent["messages"]) == (0.3, 7, messages)
    url = sent["messages"][0]["content"][1]["image_url"]["url"]
    decoded = Image.open(io.BytesIO(base64.b64decode(url.removeprefix("data:image/png;base64,"))))
    assert np.array_equal(np.asarray(decoded), image)


def test_the_rpm_pace_spaces_request_starts(server):
    started = time.monotonic()
    ask(endpoint(server, rpm=600.0, concurrency=4), *[MESSAGES] * 4)  # 0.1 s apart: the fourth at 0.3 s
    assert time.monotonic() - started >= 0.3
    assert len(server.bodies) == 4


@pytest.mark.parametrize(
    "options, problem",
    [({"concurrency": 0}, "concurrency"), ({"retries": -1}, "retries"), ({"rpm": 0.0}, "rpm")],
)
def test_settings_that_would_hang_or_never_ask_are_refused(options, problem):
    with pytest.raises(ValueError, match=problem):
        ChatEndpoint("m", **options)


@pytest.mark.parametrize("image", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8)])
def test_an_image_part_needs_uint8_rgb(image):
    with pytest.raises(ValueError, match=r"uint8 \[H, W, 3\]"):
        image_part(image)


def test_an_audio_part_holds_a_wav_file_and_refuses_anything_else():
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
    assert base64.b64decode(audio_part(wav)["input_audio"]["data"]) == wav
    with pytest.raises(ValueError, match="WAV"):
        audio_part(b"ID3\x04 an mp3")
