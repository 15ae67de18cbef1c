"""Checks of every teacher answer: each parser returns the usable value or raises `AnswerError`.

A teacher that rambles, skips a caption part, leaves JSON half-written or copies the <think>/<answer>
tags into its prose would poison the SFT or RL data silently; here such an answer becomes a reason
that the pipeline retries and, if it persists, writes to the rejects file. A leading `<think>` block
(reasoning models) is dropped before any check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from reade.construct.prompts import OPERATIONS
from reade.schema import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    SampleKeyElements,
    SchemaError,
    StructuredCaption,
    parse_output,
)

MAX_SENTENCES_CHARS = 2000  # a step's text; more is a teacher that does not stop
_REASONING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_OPERATION = re.compile(r"^\s*operation\s*:\s*\**\s*([a-z]+)\s*\**\s*\.?\s*$", re.IGNORECASE)
_OBJECTIVE = re.compile(r"^\s*objective\s*:\s*(.*)$", re.IGNORECASE | re.DOTALL)
_MISSING = re.compile(r"^\s*missing details\s*:\s*", re.IGNORECASE)
_FIRST_PART = re.compile(r"^\s*1\.\s*dense caption\s*:", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


class AnswerError(ValueError):
    """An answer that is not in the shape its prompt asked for; the message says what is wrong."""


@dataclass(frozen=True)
class Intent:
    operation: str  # one of OPERATIONS
    objective: str


def parse_intent(answer: str) -> Intent:
    lines = _strip(answer).splitlines()
    if len(lines) < 2:
        raise AnswerError("expected the two lines 'Operation: …' and 'Objective: …'")
    operation = _OPERATION.match(lines[0])
    if operation is None or operation.group(1).lower() not in OPERATIONS:
        raise AnswerError(f"first line must be 'Operation: <{'|'.join(OPERATIONS)}>', got {lines[0][:80]!r}")
    objective = _OBJECTIVE.match("\n".join(lines[1:]))
    if objective is None:
        raise AnswerError(f"second line must start with 'Objective:', got {lines[1][:80]!r}")
    return Intent(operation.group(1).lower(), parse_sentences(objective.group(1)))


def parse_sentences(answer: str) -> str:
    """Free text for one step of the trace, on one line (the trace has one line per step)."""
    text = " ".join(_strip(answer).split())
    if not text:
        raise AnswerError("empty answer")
    if len(text) > MAX_SENTENCES_CHARS:
        raise AnswerError(f"answer of {len(text)} characters, more than {MAX_SENTENCES_CHARS}")
    return text


def parse_completion(answer: str) -> tuple[str, StructuredCaption]:
    """Step 4: the missing details (for the trace) and the six-part caption (the answer), checked by
    the same strict parser that the format reward uses."""
    text = _strip(answer)
    start = _FIRST_PART.search(text)
    if start is None:
        raise AnswerError("no line '1. Dense caption: …' starts the caption")
    details = _MISSING.sub("", text[: start.start()], count=1)
    if not details.strip():
        raise AnswerError("no 'Missing details:' sentences before the caption")
    parsed = parse_output(f"{THINK_OPEN}-{THINK_CLOSE}{ANSWER_OPEN}\n{text[start.start():]}\n{ANSWER_CLOSE}")
    if parsed.caption is None:
        raise AnswerError("; ".join(parsed.errors))
    return parse_sentences(details), parsed.caption


def parse_key_elements(answer: str) -> SampleKeyElements:
    """Table 9's JSON (U, S, Z), optionally in a ```json fence; U must name something."""
    text = _strip(answer)
    fenced = _FENCE.match(text)
    try:
        raw = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as error:
        raise AnswerError(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    try:
        elements = SampleKeyElements.from_dict(raw)
    except SchemaError as error:
        raise AnswerError(str(error)) from None
    if not elements.user.elements():
        raise AnswerError("key_elements.user is empty: every request states something")
    return elements


def _strip(answer: str) -> str:
    """The answer without a leading reasoning block; the output format's own tags anywhere else would
    break the trace or the answer they end up in, so they make the answer unusable."""
    text = _REASONING.sub("", answer, count=1).strip()
    for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE):
        if tag in text:
            raise AnswerError(f"answer contains the tag {tag}, which the output format reserves")
    return text
