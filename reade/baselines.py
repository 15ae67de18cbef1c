"""Predictions without a model: the floor and the ceiling every table shows above the models.

- `gold`: the row's own gold output (trace and caption). It finds every inferable element by
  construction on synthetic data; what it misses of the rest is what the judge cannot see.
- `instruction`: the instruction copied into each of the six parts, as a model that only echoes
  its input would write it. It finds what the text states and nothing else.
- `constant`: one caption for every row, the training split's most common one: for each part, the
  training text made of the most common words (the largest sum of the document frequencies of its
  distinct content words, ties to the first). It finds what a guess finds.

A model that reads its inputs should beat `instruction` on everything the conditions and the
reasoning carry, and `constant` everywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Sequence

from reade.rewards.elements import content_words
from reade.schema import CAPTION_PARTS, StructuredCaption, render_answer, render_output

BASELINES = ("gold", "instruction", "constant")


def gold_output(row: dict[str, Any]) -> str:
    caption = StructuredCaption.from_dict(json.loads(row["caption"]))
    return render_output(row["think"], caption) if row.get("think") else render_answer(caption)


def instruction_output(instruction: str) -> str:
    text = " ".join(instruction.split())
    return render_answer(StructuredCaption(**{part: text for part in CAPTION_PARTS}))


def most_common_caption(captions: Sequence[StructuredCaption]) -> StructuredCaption:
    """Per part, the text whose distinct content words are the most common in that part's texts."""
    if not captions:
        raise ValueError("the most common caption needs at least one caption")
    parts = {}
    for part in CAPTION_PARTS:
        texts = [getattr(caption, part) for caption in captions]
        words = [content_words(text) for text in texts]
        frequency = Counter(word for bag in words for word in bag)
        scores = [sum(frequency[word] for word in bag) for bag in words]
        parts[part] = texts[scores.index(max(scores))]
    return StructuredCaption(**parts)


def baseline_outputs(name: str, rows: Sequence[dict[str, Any]], training: Sequence[StructuredCaption]) -> list[str]:
    """One output per test row for the baseline `name` (one of `BASELINES`)."""
    if name == "gold":
        return [gold_output(row) for row in rows]
    if name == "instruction":
        return [instruction_output(row["instruction"]) for row in rows]
    if name == "constant":
        return [render_answer(most_common_caption(training))] * len(rows)
    raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")
