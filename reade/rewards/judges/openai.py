"""A judge behind any OpenAI-compatible chat endpoint: `vllm serve`, SGLang, OpenAI, `transformers serve`.

The transport (retries of server faults with backoff and jitter, the bound on requests in flight, the
client bound to the running event loop, the key read from the environment only) is
`reade.clients.openai_chat.ChatEndpoint`, shared with the data-construction teacher. This class adds
what a judge needs on top: every answer the endpoint gives up on is recorded with its reason and
becomes NaN instead of an exception that would stop a training step. `Judge.run` keeps one loop
alive for the judge's lifetime, so the endpoint's connection pool lives as long as the judge.

The API key is kept out of `identity()`, so the verdict cache is shared by anyone using the same model.
"""

from __future__ import annotations

import asyncio

from reade.clients.openai_chat import ChatEndpoint
from reade.rewards.judges.chat import ChatJudge, Conversation, data_turns


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
        self.endpoint = ChatEndpoint(
            model,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            timeout_s=timeout_s,
            retries=retries,
            backoff_s=backoff_s,
        )

    async def _chat(self, conversations: list[Conversation]) -> list[str | None]:
        sampling = {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}
        # the server's tokenizer is not ours to read: the Qwen set and every <|...|> shape are taken out
        replies = await asyncio.gather(*(self.endpoint.complete(c, **sampling) for c in data_turns(conversations)))
        for reply in replies:
            if reply.text is None:
                self.record_failure(reply.failure, reply.detail)
        return [reply.text for reply in replies]

    async def aclose(self) -> None:
        await self.endpoint.aclose()
