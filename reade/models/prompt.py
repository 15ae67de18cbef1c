"""The interpreter's prompt layout, in one place so training, generation and the tokenizer corpus agree.

A condition block is a short text label followed by its placeholder span; the thinker's rope index
expects exactly one start token right before the first placeholder of each span, which this layout
keeps. A camera trajectory is `Camera trajectory:` then `<|camera_start|>`, one `<|camera_pad|>` per
camera-encoder token and `<|camera_end|>`; the rope index gives those ordinary text positions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from reade.models.tokenizer import (
    AUDIO_BOS,
    AUDIO_EOS,
    AUDIO_TOKEN,
    CAMERA_END,
    CAMERA_PAD,
    CAMERA_START,
    IM_END,
    IM_START,
    IMAGE_TOKEN,
    VIDEO_TOKEN,
    VISION_BOS,
    VISION_EOS,
)

SYSTEM_PROMPT = (
    "You are ReaDe, an instruction interpreter for controllable video generation. "
    "Read the user's instruction and every attached condition. First reason step by step inside "
    "<think> </think>: interpret the textual intent, understand the non-textual conditions, align them, "
    "and complete the missing details. Then give the six-part structured caption inside <answer> </answer>: "
    "dense, main object, background, movement, style and camera captions."
)

CONDITION_NAMES = {
    "identity": "Identity reference",
    "depth": "Depth sequence",
    "pose": "Human pose sequence",
    "audio": "Audio",
    "camera": "Camera trajectory",
}
# Identity references are numbered even when alone: users often give several and refer to them by number.
ALWAYS_NUMBERED = frozenset({"identity"})

_SPANS = {
    "identity": (VISION_BOS, IMAGE_TOKEN, VISION_EOS),
    "depth": (VISION_BOS, VIDEO_TOKEN, VISION_EOS),
    "pose": (VISION_BOS, VIDEO_TOKEN, VISION_EOS),
    "audio": (AUDIO_BOS, AUDIO_TOKEN, AUDIO_EOS),
    # Filled by the camera encoder (reade.models.interpreter), not by a thinker tower.
    "camera": (CAMERA_START, CAMERA_PAD, CAMERA_END),
}


@dataclass(frozen=True)
class ConditionBlock:
    """One encoded condition as the prompt sees it: its kind and how many placeholder tokens it fills."""

    kind: str
    num_tokens: int


def condition_labels(kinds: list[str]) -> list[str]:
    """`Identity reference 1:`, `Depth sequence:`, `Depth sequence 2:` ... in the order given."""
    totals, seen = Counter(kinds), Counter()
    labels = []
    for kind in kinds:
        seen[kind] += 1
        numbered = kind in ALWAYS_NUMBERED or totals[kind] > 1
        labels.append(f"{CONDITION_NAMES[kind]} {seen[kind]}:" if numbered else f"{CONDITION_NAMES[kind]}:")
    return labels


# A describe-the-reference row asks this instead of its instruction (SFT `stage.describe_fraction`).
DESCRIBE_INSTRUCTION = "Describe each attached condition."


def describe_target(kinds: list[str], descriptions: list[str]) -> str:
    """The answer to DESCRIBE_INSTRUCTION: one line per condition, labelled as the prompt labels it,
    `Identity reference 1: a white dog with a red harness.`"""
    return "\n".join(f"{label} {text.rstrip('.')}." for label, text in zip(condition_labels(kinds), descriptions))


def user_content(blocks: list[ConditionBlock], instruction: str) -> str:
    """Condition blocks with expanded placeholders, then the instruction (which may be empty)."""
    parts = []
    for block, label in zip(blocks, condition_labels([b.kind for b in blocks])):
        start, placeholder, end = _SPANS[block.kind]
        parts.append(f"{label}\n{start}{placeholder * block.num_tokens}{end}")
    if instruction:
        parts.append(instruction)
    return "\n".join(parts)


def chat_prompt(user: str, system: str = SYSTEM_PROMPT) -> str:
    """Qwen chat layout up to the open assistant turn; equals the tokenizer's chat template output."""
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n"
