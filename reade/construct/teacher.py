"""One checked question to the teacher: ask, parse, ask again while the answer is malformed.

Server faults are already retried by the endpoint (`reade.clients.openai_chat`); what comes back
failed here is final for this row. A malformed answer is asked again `retries` times (a sampling
teacher may answer well the next time), then the row is rejected with the parser's reason and the
last answer, so that a rejects file tells why without a re-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from reade.clients.openai_chat import ChatEndpoint, Message
from reade.construct.answers import AnswerError

T = TypeVar("T")
ANSWER_KEPT_CHARS = 2000  # of the last malformed answer, in the rejects row


@dataclass(frozen=True)
class Endpoints:
    """The teacher answers the text questions; `vision` / `audio` are None where no such endpoint is configured."""

    teacher: ChatEndpoint
    vision: ChatEndpoint | None = None
    audio: ChatEndpoint | None = None

    def distinct(self) -> list[ChatEndpoint]:
        """Each endpoint once (the teacher may be the vision endpoint too), for closing and accounting."""
        unique: list[ChatEndpoint] = []
        for endpoint in (self.teacher, self.vision, self.audio):
            if endpoint is not None and all(endpoint is not seen for seen in unique):
                unique.append(endpoint)
        return unique


class Rejected(Exception):
    """A row that cannot be built; `step` names where, `reason` says why, `answer` is the last reply."""

    def __init__(self, step: str, reason: str, answer: str | None = None):
        super().__init__(f"{step}: {reason}")
        self.step, self.reason, self.answer = step, reason, answer

    def record(self, row_id: str, stage: str) -> dict[str, Any]:
        record = {"id": row_id, "stage": stage, "step": self.step, "reason": self.reason}
        if self.answer is not None:
            record["answer"] = self.answer[:ANSWER_KEPT_CHARS]
        return record


async def ask(
    endpoint: ChatEndpoint,
    messages: list[Message],
    parse: Callable[[str], T],
    *,
    step: str,
    retries: int,
    sampling: dict[str, Any],
) -> T:
    for attempt in range(1 + retries):
        reply = await endpoint.complete(messages, **sampling)
        if reply.text is None:
            raise Rejected(step, f"teacher {reply.failure}: {reply.detail}")
        try:
            return parse(reply.text)
        except AnswerError as error:
            problem, answer = error, reply.text
    raise Rejected(step, f"malformed answer ({problem}) after {attempt + 1} answer(s)", answer)
