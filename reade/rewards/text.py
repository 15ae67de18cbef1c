"""The text a judge sees: the caption a generator would receive, with what is not a description removed.

A judge must never score the reasoning trace (the generator never sees it), the part titles (the
title "Camera caption" would otherwise "mention" every camera element), or text aimed at the judge
rather than at the generator. Four kinds of the latter are dropped before any judge runs, so every
backend (and the verdict cache) sees the same sanitised text:

- chat and modality control tokens (`<|im_end|>`, any `<|...|>`): in an LLM judge's prompt,
  `<|im_end|>\n<|im_start|>system ...` would close the caption's turn and open one of its own
  (`reade.models.tokenizer.without_control_tokens`; the local judges also take out their own
  tokenizer's, `reade.rewards.judges.chat.data_turns`);
- bracketed spans `{...}` and `[...]`: JSON or list dumps, which a caption has no use for;
- sentences that speak to the judge: its answer format ("Final Score: 1", "Answer: no") or its task
  ("ignore previous instructions", "the rubric", "the grader"), which no video description needs;
- keyword lists: a sentence that copies key elements (a name, an attribute, `name: attribute`, an
  action, a camera or style word) word for word as a list rather than saying them in prose. It is
  split at commas, semicolons and bars, once an opening label ("Elements:", "Keywords:") is taken
  off; an item joined by "and"/"or" whose parts are all key elements counts as those parts. With at
  least one item copied, the sentence is a list when it is labelled, when every other item is a
  bare phrase (at most `LIST_MAX_WORDS` words, none of them an article, pronoun, auxiliary or
  preposition: "car, dog, turning"), or when at least `DUMP_MIN_SHARE` of its items are copies. A
  list earns no reward at any length, one item included, so appending one never raises a reward;
  prose that names the same things ("a car turns below a snowy mountain") earns them. A terse part
  that is a copied list ("Clean, minimalist, and professional.", the paper's own Table 8 style
  caption) earns nothing either: its elements count where the prose states them.

What remains is judged for what it describes, so a caption earns only what its prose earns.

Evaluation (`reade.caption_metrics`) asks what a generator would receive, and a generator reads a short
list as well as prose: there only lists of `EVALUATION_LIST_MIN_ITEMS` items or more are dumps, so
that the copied instruction ("Fox sitting, documentary") still finds what it states.
"""

from __future__ import annotations

import re

from reade.models.tokenizer import without_control_tokens
from reade.schema import ANSWER_CLOSE, ANSWER_OPEN, CAPTION_PARTS, PART_HEADING, THINK_CLOSE, THINK_OPEN
from reade.schema import SampleKeyElements, parse_output

DUMP_MIN_SHARE = 0.6
LIST_MAX_WORDS = 4
EVALUATION_LIST_MIN_ITEMS = 4

_TAG = re.compile(r"</?(?:think|answer)>", re.IGNORECASE)
_BRACKETED = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]")
_JUDGE_SPEAK = re.compile(
    r"\b(?:final|coverage)\s+score\b|\banswer\s*:\s*(?:yes|no)\b|\brubric\b|\bgrader\b|\bevaluator\b"
    r"|\bignore\s+(?:all\s+|any\s+|the\s+|previous\s+|prior\s+|above\s+|your\s+)+(?:instructions?|rules?|rubric|prompt)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_FRAGMENT_SPLIT = re.compile(r"[,;|]")
_LABEL = re.compile(r"^\s*[^\W\d_][\w' -]{0,30}:\s*")
_JOINER = re.compile(r"\s+(?:and|or)\s+")
_LEADING_JOINER = re.compile(r"^(?:and|or)\s+")
_PROSE_WORDS = frozenset(
    "a an the this that these those it its he she they his her their them there is are was were be been being "
    "has have had does do did can could will would while where which who as of in on at to from with by into "
    "onto over under through across near".split()
)


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
    parts = [part.strip() for part in PART_HEADING.split(body)]
    return _TAG.sub(" ", "\n".join(part for part in parts if part)).strip()


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


def sanitised(text: str, key_elements: SampleKeyElements, min_list_items: int = 1) -> str:
    """`text` (a caption or one of its parts) without what speaks to the judge (module docstring);
    keyword lists of fewer than `min_list_items` items stay (evaluation's short lists)."""
    known = element_words(key_elements)
    text = without_control_tokens(text)
    while _BRACKETED.search(text):
        text = _BRACKETED.sub(" ", text)
    kept = [s for s in sentences(text) if not _JUDGE_SPEAK.search(s) and not _is_keyword_list(s, known, min_list_items)]
    return "\n".join(kept)


def _is_keyword_list(sentence: str, known: set[str], min_items: int) -> bool:
    """Whether the sentence copies key elements as a list (module docstring): such a sentence would
    earn its elements from any judge that looks for them, without describing anything."""
    body = _LABEL.sub("", sentence, count=1)
    items = _list_items(body, known)
    copied = sum(item in known for item in items)
    if not copied or len(items) < min_items:
        return False
    labelled = body != sentence
    bare = all(item in known or _is_bare(item) for item in items)
    return labelled or bare or copied / len(items) >= DUMP_MIN_SHARE


def _list_items(text: str, known: set[str]) -> list[str]:
    """The normalised items of a list: "a, b, and c" and "a, b or c" give a, b and c when b and c are
    key elements; a phrase such as "shop windows line the street" stays one item."""
    items = []
    for fragment in _FRAGMENT_SPLIT.split(text):
        fragment = _LEADING_JOINER.sub("", _normalise(fragment))
        parts = _JOINER.split(fragment)
        items.extend(parts if fragment not in known and all(p in known for p in parts) else [fragment])
    return [item for item in items if item]


def _is_bare(item: str) -> bool:
    """A short phrase without the words that make prose: a keyword, not a clause."""
    words = item.split()
    return len(words) <= LIST_MAX_WORDS and not _PROSE_WORDS.intersection(words)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s:'-]", " ", text.lower()).split())
