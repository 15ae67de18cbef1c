"""What the three LLM judges (openai, vllm, hf) share: the prompts, the parsing and the re-asking.

A backend only turns conversations into answer strings (`_chat`); this class asks again for answers
that do not parse, up to `garbage_retries` times, and turns what is still unparsed into NaN. Every
backend sends `data_turns`: no judged text can open a turn of its own in the judge's prompt.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, Callable

from reade.models.tokenizer import SPECIAL_TOKENS, without_control_tokens
from reade.rewards.judges.base import NAN, CoverageQuery, Judge, QualityQuery
from reade.rewards.judges.prompts import (
    PROMPT_VERSION,
    contradiction_messages,
    coverage_messages,
    parse_quality,
    parse_score,
    parse_yes_no,
    quality_messages,
)

Conversation = list[dict[str, str]]
# What a local engine raises when a batch fails for a reason outside this code: torch's out-of-memory
# and device errors are RuntimeErrors. Anything else (a TypeError, a KeyError) is a bug, and propagates:
# turned into NaN it would hide behind all-NaN rewards and zero advantages.
ENGINE_ERRORS: tuple[type[Exception], ...] = (RuntimeError,)


def data_turns(conversations: list[Conversation], reserved: Iterable[str] = SPECIAL_TOKENS) -> list[Conversation]:
    """`conversations` with the control tokens taken out of their user turns, which carry the judged
    text (captions, references, key elements): `reserved`, the judge's tokenizer's own where the
    backend holds it (hf, vllm), and every `<|...|>` (`without_control_tokens`). The chat template
    then renders the only control tokens of the prompt. System turns are our rubrics, left as they are."""
    reserved = tuple(reserved)
    return [[{**message, "content": without_control_tokens(message["content"], reserved)} if message["role"] == "user"
             else message for message in conversation] for conversation in conversations]


class ChatJudge(Judge):
    def __init__(
        self,
        model: str,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 50,
        garbage_retries: int = 2,
        cache_dir: str | None = None,
        commit_every: int = 64,
    ):
        super().__init__(cache_dir=cache_dir, commit_every=commit_every)
        self.model = model
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.garbage_retries = garbage_retries

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "prompt": PROMPT_VERSION,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }

    @abstractmethod
    async def _chat(self, conversations: list[Conversation]) -> list[str | None]:
        """One answer per conversation; None where the backend failed (after recording why)."""

    def failed_batch(self, conversations: list[Conversation], error: Exception) -> list[None]:
        """A local engine that raised one of its own errors (OOM, a prompt too long, a dead engine)
        fails its whole batch: NaN verdicts, recorded, never an exception that would stop a training
        step. The backend catches only those (`ENGINE_ERRORS` and its engine's own)."""
        for _ in conversations:
            self.record_failure("error", f"{type(error).__name__}: {str(error)[:200]}")
        return [None] * len(conversations)

    async def _coverage(self, queries: list[CoverageQuery]) -> list[float]:
        return await self._ask([coverage_messages(q.elements, q.text) for q in queries], parse_score)

    async def _contradiction(self, texts: list[str]) -> list[float]:
        return await self._ask([contradiction_messages(t) for t in texts], parse_yes_no)

    async def _quality(self, queries: list[QualityQuery]) -> list[float]:
        conversations = [quality_messages(q.aspect, q.reference, q.candidate) for q in queries]
        return await self._ask(conversations, parse_quality)

    async def _ask(self, conversations: list[Conversation], parse: Callable[[str], float | None]) -> list[float]:
        verdicts: list[float] = [NAN] * len(conversations)
        pending = list(range(len(conversations)))
        last_answer: dict[int, str] = {}
        for _ in range(1 + self.garbage_retries):
            if not pending:
                break
            answers = await self._chat([conversations[i] for i in pending])
            self.stats.requests += len(pending)
            unparsed = []
            for i, answer in zip(pending, answers, strict=True):
                value = None if answer is None else parse(answer)
                if value is not None:
                    verdicts[i] = value
                elif answer is not None:
                    last_answer[i] = answer
                    unparsed.append(i)
            pending = unparsed
        for i in pending:
            self.record_failure("garbage", f"unparseable answer {last_answer[i][:80]!r}")
        return verdicts
