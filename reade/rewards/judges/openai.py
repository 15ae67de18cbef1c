"""A judge behind any OpenAI-compatible chat endpoint: `vllm serve`, SGLang, OpenAI, `transformers serve`.

The SDK's own retries are off (`max_retries=0`) and ours are on, so that every verdict we give up on
is counted with its reason and becomes NaN instead of an exception that would stop a training step.
Only what can pass is retried (timeouts, lost connections, 5xx, 429), with exponential backoff and
jitter so that many waiting requests do not come back at the same instant; any other 4xx is our own
fault and would fail again. A 200 that is no chat completion (a proxy's error page) counts as a
server fault too. A semaphore bounds the requests in flight so that a large generation batch does
not open hundreds of connections to a server that queues them anyway.

The client is built on first use, inside the running event loop, because its connection pool and our
semaphore belong to the loop that made them (`Judge.run` keeps one loop alive for the judge's
lifetime); an async caller that comes back on another loop (a second `asyncio.run`) gets new ones
instead of a `RuntimeError` at the first request that has to wait for a slot.

The API key is read from the environment when the client is built and is kept nowhere else: not in
`identity()` (so the verdict cache is shared by anyone using the same model), not in a config, not in
a log line.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import openai

from reade.rewards.judges.chat import ChatJudge, Conversation

NO_KEY = "EMPTY"  # what local servers (vLLM, SGLang, transformers serve) accept


class OpenAIJudge(ChatJudge):
    backend = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 50,
        garbage_retries: int = 2,
        cache_dir: str | None = None,
        commit_every: int = 64,
    ):
        super().__init__(
            model,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            garbage_retries=garbage_retries,
            cache_dir=cache_dir,
            commit_every=commit_every,
        )
        if concurrency < 1 or retries < 0:
            raise ValueError(f"need concurrency >= 1 and retries >= 0, got {concurrency} and {retries}")
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._client: openai.AsyncOpenAI | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    async def _chat(self, conversations: list[Conversation]) -> list[str | None]:
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
        return list(await asyncio.gather(*(self._answer(c) for c in conversations)))

    async def _answer(self, conversation: Conversation) -> str | None:
        for attempt in range(1 + self.retries):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            async with self._slots:
                try:
                    answer = _content(await asyncio.wait_for(self._request(conversation), self.timeout_s))
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
                    if answer is not None:
                        return answer
                    reason, detail = "bad_response", "the body is not a chat completion"
        self.record_failure(reason, f"{detail} after {attempt + 1} attempt(s)")
        return None

    async def _request(self, conversation: Conversation):
        return await self._client.chat.completions.create(
            model=self.model,
            messages=conversation,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _content(response: Any) -> str | None:
    """The answer text; None when a 200 is no chat completion (a proxy's HTML page parses to a str)."""
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        return None
