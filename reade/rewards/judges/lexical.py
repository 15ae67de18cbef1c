"""The floor judge: no model, a value is covered when its words occur in one sentence of the caption.

Words are compared after `elements.content_words` (stop words out, light stemming). An attribute
counts only in a sentence that also names its object, so "silver" earns nothing next to "car" when
the element is the silver truck. R_contra is the heuristic of `reade.rewards.consistency`.
"""

from __future__ import annotations

from typing import Any

from reade.rewards.consistency import contradicts
from reade.rewards.content import coverage
from reade.rewards.elements import Element, content_words, element_list
from reade.rewards.judges.base import CoverageQuery, Judge
from reade.rewards.text import sentences

VERSION = "1"


class LexicalJudge(Judge):
    backend = "lexical"

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "version": VERSION}

    async def _coverage(self, queries: list[CoverageQuery]) -> list[float]:
        return [coverage([covered(e, q.text) for e in element_list(q.elements)]) for q in queries]

    async def _contradiction(self, texts: list[str]) -> list[float]:
        return [float(contradicts(t)) for t in texts]


def covered(element: Element, text: str) -> bool:
    """Every word of the value (and, for an attribute, of its object's name) in one sentence."""
    needed = content_words(element.phrase)
    return bool(needed) and any(needed <= content_words(s) for s in sentences(text))
