"""One OpenAI-compatible chat endpoint: `vllm serve`, SGLang, OpenAI, `transformers serve`.

The reward judge (`reade.rewards.judges.openai`) and the data-construction teacher
(`reade.construct`) both talk through this class, so retries, limits and accounting are written once.

The SDK's own retries are off (`max_retries=0`) and ours are on, so that every answer we give up on
comes back with its reason instead of an exception that would stop a training step or a dataset
build. Only what can pass is retried (timeouts, lost connections, 5xx, 429), with exponential
backoff and jitter so that many waiting requests do not come back at the same instant; any other 4xx
is our own fault and would fail again. A 200 that is no chat completion (a proxy's error page)
counts as a server fault too. A semaphore bounds the requests in flight, and an optional
requests-per-minute pace keeps a rate-limited API (OpenAI tiers) from answering 429 at all.

The client is built on first use, inside the running event loop, because its connection pool and the
semaphore belong to the loop that made them; a caller that comes back on another loop (a second
`asyncio.run`) gets new ones instead of a `RuntimeError` at the first request that has to wait.

The API key is read from the environment when the client is built and is kept nowhere else: not in
a config, not in a log line, not in `usage`.

Token accounting comes from each response's `usage` (prompt and completion tokens, re-asks and
failed parses included: they were paid for); the cost is known only when both prices are given.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import random
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import openai
from PIL import Image

NO_KEY = "EMPTY"  # what local servers (vLLM, SGLang, transformers serve) accept

Message = dict[str, Any]  # {"role", "content"}: content is a string or a list of OpenAI content parts


@dataclass(frozen=True)
class ChatReply:
    """The answer text, or None with the reason (`timeout`, `connection`, `http_<status>`,
    `bad_response`) and a detail line that says how many attempts were made."""

    text: str | None
    failure: str | None = None
    detail: str = ""


@dataclass
class Usage:
    """What an endpoint was sent and paid for since it was built."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    without_usage: int = 0  # answers whose server reported no token counts

    def cost(self, price_input_per_1m: float | None, price_output_per_1m: float | None) -> float | None:
        if price_input_per_1m is None or price_output_per_1m is None:
            return None
        return (self.prompt_tokens * price_input_per_1m + self.completion_tokens * price_output_per_1m) / 1e6


class ChatEndpoint:
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        rpm: float | None = None,
        price_input_per_1m: float | None = None,
        price_output_per_1m: float | None = None,
    ):
        if concurrency < 1 or retries < 0:
            raise ValueError(f"need concurrency >= 1 and retries >= 0, got {concurrency} and {retries}")
        if rpm is not None and rpm <= 0:
            raise ValueError(f"rpm must be positive or None (no limit), got {rpm}")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.rpm = rpm
        self.price_input_per_1m = price_input_per_1m
        self.price_output_per_1m = price_output_per_1m
        self.usage = Usage()
        self._client: openai.AsyncOpenAI | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._next_start = 0.0  # monotonic time before which the rpm pace lets no request start

    async def complete(self, messages: list[Message], **sampling: Any) -> ChatReply:
        """One answer, retried on server faults; `sampling` goes to the request (temperature, max_tokens, ...)."""
        self._bind_to_running_loop()
        for attempt in range(1 + self.retries):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            async with self._slots:
                await self._pace()
                try:
                    response = await asyncio.wait_for(self._request(messages, sampling), self.timeout_s)
                except (asyncio.TimeoutError, openai.APITimeoutError):
                    reason, detail = "timeout", f"no answer within {self.timeout_s} s"
                except openai.APIConnectionError as error:
                    reason, detail = "connection", f"{type(error).__name__}: {error}"
                except openai.APIStatusError as error:
                    reason, detail = f"http_{error.status_code}", str(error)[:200]
                    if error.status_code < 500 and error.status_code != 429:
                        break
                except ValueError as error:  # a 200 whose body is not JSON
                    reason, detail = "bad_response", f"{type(error).__name__}: {error}"
                else:
                    answer = _content(response)
                    if answer is not None:
                        self._count(response)
                        return ChatReply(answer)
                    reason, detail = "bad_response", "the body is not a chat completion"
        return ChatReply(None, reason, f"{detail} after {attempt + 1} attempt(s)")

    def cost(self) -> float | None:
        return self.usage.cost(self.price_input_per_1m, self.price_output_per_1m)

    def usage_summary(self) -> dict[str, Any]:
        """The counters and the cost (None without both prices) for a run summary."""
        return {
            "model": self.model,
            "requests": self.usage.requests,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "answers_without_usage": self.usage.without_usage,
            "cost": self.cost(),
        }

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _bind_to_running_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = openai.AsyncOpenAI(
                api_key=os.environ.get(self.api_key_env) or NO_KEY,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=0,
            )
            self._client_loop = loop
            self._slots = asyncio.Semaphore(self.concurrency)

    async def _pace(self) -> None:
        """Start requests at least 60/rpm seconds apart (re-asks included): no burst can exceed the limit.
        The slot is claimed before sleeping, with no await in between, so concurrent callers queue."""
        if self.rpm is None:
            return
        now = time.monotonic()
        start = max(now, self._next_start)
        self._next_start = start + 60.0 / self.rpm
        if start > now:
            await asyncio.sleep(start - now)

    async def _request(self, messages: list[Message], sampling: dict[str, Any]):
        self.usage.requests += 1
        return await self._client.chat.completions.create(model=self.model, messages=messages, **sampling)

    def _count(self, response: Any) -> None:
        usage = getattr(response, "usage", None)
        prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        if not isinstance(prompt, int) or not isinstance(completion, int):
            self.usage.without_usage += 1
            return
        self.usage.prompt_tokens += prompt
        self.usage.completion_tokens += completion


def _content(response: Any) -> str | None:
    """The answer text; None when a 200 is no chat completion (a proxy's HTML page parses to a str)."""
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        return None


def image_part(image: np.ndarray) -> dict[str, Any]:
    """An OpenAI `image_url` content part holding a uint8 [H, W, 3] image as a PNG data URL
    (vision endpoints accept these inline, so no file has to be served)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"an image part needs uint8 [H, W, 3], got {image.dtype} {list(image.shape)}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def audio_part(wav: bytes) -> dict[str, Any]:
    """An OpenAI `input_audio` content part holding a WAV file's bytes (audio-capable endpoints only)."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("an audio part needs the bytes of a WAV file")
    return {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav).decode("ascii"), "format": "wav"}}
