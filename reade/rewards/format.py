"""The answer-structure reward of paper eq. 2."""

from __future__ import annotations

from reade.schema import parse_output

BOTH, ONE, NEITHER = 1.0, 0.2, 0.0


def format_reward(prediction: str) -> float:
    """1 when the `<think>` block and the six-part `<answer>` both parse, 0.2 when one does, 0 otherwise.

    Strictness comes from `reade.schema.parse_output`: the think block opens the text, the answer
    closes it, and the answer holds the six numbered parts in Table 8 order, none empty.
    """
    parsed = parse_output(prediction)
    return {2: BOTH, 1: ONE, 0: NEITHER}[int(parsed.think_ok) + int(parsed.answer_ok)]
