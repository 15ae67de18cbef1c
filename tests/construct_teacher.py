"""A scripted in-process teacher for the construct tests, and the well-formed answer to each prompt.

The unit tests run every step against it without a server; the end-to-end test records what it is
asked and answers, and teaches those very pairs to the tiny model it serves (`tests.judge_model`).
"""

from __future__ import annotations

from typing import Any, Callable

from reade.clients.openai_chat import ChatReply, Usage
from reade.schema import CAPTION_PARTS, CAPTION_TITLES

INTENT = "Operation: create\nObjective: The user wants a new video of the scene the request names."
DESCRIPTION = "A person with short hair stands in the middle of the frame."
ALIGNMENT = "The inputs agree with the request; the text wins where they differ."
KEY_ELEMENTS = ('{"user": {"objects": [{"name": "fox", "attributes": ["red"]}], "actions": ["runs"], "camera": [], '
                '"style": []}, "supplementary": {"objects": [], "actions": [], "camera": ["zoom in"], "style": []}, '
                '"imaginative": {"objects": [], "actions": [], "camera": [], "style": ["warm light"]}}')


def completion(details: str = "The scene is lit by warm evening light.") -> str:
    parts = "\n".join(f"{i}. {CAPTION_TITLES[n]}: The {n.replace('_', ' ')} part." for i, n in enumerate(CAPTION_PARTS, 1))
    return f"Missing details: {details}\n{parts}"


def answer_by_prompt(messages: list[dict]) -> str:
    """The well-formed answer to each of the construct prompts, told apart by their system turns."""
    system = messages[0]["content"]
    if system.startswith("You interpret requests"):
        return INTENT
    if system.startswith("You reconcile"):
        return ALIGNMENT
    if system.startswith("You complete"):
        return completion()
    if system.startswith("You turn a video caption"):
        return KEY_ELEMENTS
    return DESCRIPTION


class ScriptedEndpoint:
    """Answers like `ChatEndpoint.complete`: `answer(messages)` gives the text, or a ChatReply for a
    failure; every request is kept in `sent`, every text answer with its messages in `pairs`, and each
    answer counts as 10 prompt + 5 completion tokens."""

    def __init__(self, answer: Callable[[list[dict]], str | ChatReply] = answer_by_prompt, model: str = "scripted"):
        self.answer, self.model = answer, model
        self.sent: list[list[dict]] = []
        self.pairs: list[tuple[list[dict], str]] = []
        self.usage = Usage()
        self.closed = 0

    async def complete(self, messages: list[dict], **sampling: Any) -> ChatReply:
        self.sent.append(messages)
        self.usage.requests += 1
        answer = self.answer(messages)
        if isinstance(answer, ChatReply):
            return answer
        self.pairs.append((messages, answer))
        self.usage.prompt_tokens += 10
        self.usage.completion_tokens += 5
        return ChatReply(answer)

    def usage_summary(self) -> dict[str, Any]:
        return {"model": self.model, "requests": self.usage.requests, "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens, "answers_without_usage": 0,
                "cost": self.usage.cost(1.0, 2.0)}

    async def aclose(self) -> None:
        self.closed += 1

    def systems(self) -> list[str]:
        """The first three words of each system turn sent."""
        return [" ".join(m[0]["content"].split()[:3]) for m in self.sent]
