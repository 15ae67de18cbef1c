"""The floor judge: no model, a value is covered when its words occur in one sentence of the caption.

Words are compared after `elements.content_words` (stop words out, light stemming). An attribute
counts only in a sentence that also names its object, so "silver" earns nothing next to "car" when
the element is the silver truck. Words that are all there but name a sibling instead do not count
either (`reade.rewards.exclusive`): "zoom in" is not in "a slow zoom out, in a close-up shot". R_contra is the heuristic of `reade.rewards.consistency`.

Quality is 5 x the F1 of the two parts' content-word sets, the same words coverage matches: recall
rewards saying what the reference says, precision keeps a candidate from earning it by listing
everything. A word-overlap proxy, blind to paraphrase and to negation.
"""

from __future__ import annotations

from typing import Any

from reade.rewards.consistency import contradicts
from reade.rewards.content import coverage
from reade.rewards.elements import Element, content_words, element_list
from reade.rewards.exclusive import excludes
from reade.rewards.judges.base import QUALITY_MAX, CoverageQuery, ElementQuery, Judge, QualityQuery
from reade.rewards.text import sentences

VERSION = "4"  # 2: near misses excluded; 3: the moods reasoning contexts imply; 4: one camera vocabulary (reade.camera_vocab)


class LexicalJudge(Judge):
    backend = "lexical"

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "version": VERSION}

    async def _coverage(self, queries: list[CoverageQuery]) -> list[float]:
        return [coverage(covered_elements(element_list(q.elements), q.text)) for q in queries]

    async def _elements(self, queries: list[ElementQuery]) -> list[float]:
        return [float(covered_elements([q.element], q.text)[0]) for q in queries]

    async def _contradiction(self, texts: list[str]) -> list[float]:
        return [float(contradicts(t)) for t in texts]

    async def _quality(self, queries: list[QualityQuery]) -> list[float]:
        return [QUALITY_MAX * word_f1(content_words(q.candidate), content_words(q.reference)) for q in queries]


def covered_elements(elements: list[Element], text: str) -> list[bool]:
    """For each value: every word of it (and, for an attribute, of its object's name) in one sentence
    that names no sibling of it in its stead."""
    split = [(s, content_words(s)) for s in sentences(text)]
    return [_covered(e.phrase, split) for e in elements]


def _covered(phrase: str, split: list[tuple[str, set[str]]]) -> bool:
    needed = content_words(phrase)
    return bool(needed) and any(needed <= words and not excludes(phrase, sentence) for sentence, words in split)


def word_f1(candidate: set[str], reference: set[str]) -> float:
    """Set F1; when either side has no content word, 1.0 only if neither has (SQuAD's convention),
    so that two parts made only of stop words ("It is.") are not scored as if they disagreed."""
    if not candidate or not reference:
        return float(candidate == reference)
    return 2 * len(candidate & reference) / (len(candidate) + len(reference))
