"""The text a judge sees: the caption a generator would receive, with what is not a description removed.

A judge must never score the reasoning trace (the generator never sees it), the part titles (the
title "Camera caption" would otherwise "mention" every camera element), or text aimed at the judge
rather than at the generator. Three kinds of the latter are dropped before any judge runs, so every
backend (and the verdict cache) sees the same sanitised text:

- bracketed spans `{...}` and `[...]`: JSON or list dumps, which a caption has no use for;
- sentences that speak to the judge: its answer format ("Final Score: 1", "Answer: no") or its task
  ("ignore previous instructions", "the rubric", "the grader"), which no video description needs;
- element dumps: a sentence of at least `DUMP_MIN_FRAGMENTS` comma/semicolon-separated fragments
  of which at least `DUMP_MIN_SHARE` repeat a key element (a name, an attribute, an action, a
  camera or style word) word for word. A real caption joins elements into prose ("a silver truck
  with white stripes"); a copied element list is a list of them. Short lists ("anime style, cool
  moonlight, slow zoom in") stay.

What remains is judged for what it describes, so a caption earns only what its prose earns.
"""

from __future__ import annotations

import re

from reade.schema import ANSWER_CLOSE, ANSWER_OPEN, CAPTION_PARTS, CAPTION_TITLES, THINK_CLOSE, THINK_OPEN
from reade.schema import SampleKeyElements, parse_output

DUMP_MIN_FRAGMENTS = 4
DUMP_MIN_SHARE = 0.75

_TITLES = "|".join(re.escape(CAPTION_TITLES[p]) for p in CAPTION_PARTS)
_PART_HEADING = re.compile(rf"^\s*\d\.\s*(?:{_TITLES})\s*:\s*", re.IGNORECASE | re.MULTILINE)
_TAG = re.compile(r"</?(?:think|answer)>", re.IGNORECASE)
_BRACKETED = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]")
_JUDGE_SPEAK = re.compile(
    r"\b(?:final|coverage)\s+score\b|\banswer\s*:\s*(?:yes|no)\b|\brubric\b|\bgrader\b|\bevaluator\b"
    r"|\bignore\s+(?:all\s+|any\s+|the\s+|previous\s+|prior\s+|above\s+|your\s+)+(?:instructions?|rules?|rubric|prompt)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_FRAGMENT_SPLIT = re.compile(r"[,;|]")


def caption_text(prediction: str) -> str:
    """The description part of a raw model output.

    The six parts when the answer parses; otherwise the `<answer>` body (closed or not) without part
    titles; otherwise whatever is outside a `<think>` block (an unclosed think block runs to the end).
    """
    parsed = parse_output(prediction)
    if parsed.caption is not None:
        return "\n".join(getattr(parsed.caption, part) for part in CAPTION_PARTS)
    if ANSWER_OPEN in prediction:
        body = prediction.split(ANSWER_OPEN, 1)[1].split(ANSWER_CLOSE, 1)[0]
    else:
        body = re.sub(rf"{THINK_OPEN}.*?(?:{THINK_CLOSE}|$)", " ", prediction, flags=re.DOTALL)
    return _TAG.sub(" ", _PART_HEADING.sub("", body)).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def element_words(key_elements: SampleKeyElements) -> set[str]:
    """Every string of U, S and Z a dump could copy: names, attributes, `name: attribute`, the rest."""
    words = set()
    for elements in (key_elements.user, key_elements.supplementary, key_elements.imaginative):
        words.update(_normalise(e) for e in elements.elements())
        words.update(_normalise(a) for obj in elements.objects for a in obj.attributes)
    return words


def judged_text(prediction: str, key_elements: SampleKeyElements) -> str:
    """The sanitised caption text every judge scores (see the module docstring)."""
    return sanitised(caption_text(prediction), key_elements)


def sanitised(text: str, key_elements: SampleKeyElements) -> str:
    """`text` (a caption or one of its parts) without what speaks to the judge (module docstring)."""
    known = element_words(key_elements)
    while _BRACKETED.search(text):
        text = _BRACKETED.sub(" ", text)
    kept = [s for s in sentences(text) if not _JUDGE_SPEAK.search(s) and not _is_element_dump(s, known)]
    return "\n".join(kept)


def _is_element_dump(sentence: str, known: set[str]) -> bool:
    fragments = [_normalise(f) for f in _FRAGMENT_SPLIT.split(sentence)]
    fragments = [f for f in fragments if f]
    if len(fragments) < DUMP_MIN_FRAGMENTS:
        return False
    copied = sum(f in known for f in fragments)
    return copied / len(fragments) >= DUMP_MIN_SHARE


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s:'-]", " ", text.lower()).split())
