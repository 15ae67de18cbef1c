"""The interface every judge backend implements, with the caching, NaN and counting rules in one place.

A judge answers three questions, in batches: which fraction of a set of key elements a caption covers
(the matching function M of eq. 3, summed over a set; evaluation asks it element by element, so that
elements can be grouped by where a reader finds them), whether a caption contradicts itself
(R_contra of eq. 4) and, for evaluation (appendix E.1, Table 13), how well one part of a predicted
caption describes the same part of the gold caption, on a 0-5 scale. Backends implement `_coverage`,
`_contradiction` and `_quality` for cache misses only and return NaN where they could not give a
verdict; NaN is never cached, so a re-run asks again. Each question is its own cache kind, so the
verdicts of one never answer another.

Everything is async so that an LLM judge can keep many requests in flight and the GRPO loop can ask
for a whole generation batch in one call. Synchronous callers use `Judge.run`, which drives the
coroutine on the judge's own event-loop thread: that works inside Jupyter's running loop too, and
keeps HTTP connection pools bound to one loop for the judge's lifetime.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from reade.rewards.elements import Element
from reade.rewards.judges.cache import VerdictCache, verdict_key
from reade.schema import CAPTION_PARTS, KeyElements, KeyObject

log = logging.getLogger(__name__)

T = TypeVar("T")
NAN = float("nan")
CACHE_FILE = "verdicts.sqlite"
FAILURES_LOGGED = 5
QUALITY_MAX = 5.0


@dataclass(frozen=True)
class CoverageQuery:
    """One set (U, S or Z) of one prediction, against that prediction's judged text."""

    elements: KeyElements
    text: str


@dataclass(frozen=True)
class ElementQuery:
    """One key element against one judged text: the verdict M of eq. 3 for a single value."""

    element: Element
    text: str

    def as_set(self) -> KeyElements:
        """The element as a one-value set for a judge that grades sets: an attribute becomes the object
        phrase it describes ("silver truck"), so the set holds exactly one value."""
        element = self.element
        if element.kind in ("object", "attribute"):
            return KeyElements(objects=(KeyObject(element.phrase),))
        return KeyElements(**{"actions" if element.kind == "action" else element.kind: (element.text,)})


@dataclass(frozen=True)
class QualityQuery:
    """One predicted caption part against the gold caption's same part.

    `aspect` is a `reade.schema.CAPTION_PARTS` name. An empty `reference` is refused here: the schema
    requires every gold part to be non-empty, so one that is empty is a bug upstream, and any score
    given for it (NaN included, which reads as a judge failure) would slip silently into an average.
    """

    aspect: str
    candidate: str
    reference: str

    def __post_init__(self):
        if self.aspect not in CAPTION_PARTS:
            raise ValueError(f"unknown caption part {self.aspect!r}; expected one of {CAPTION_PARTS}")
        if not self.reference.strip():
            raise ValueError(f"the reference {self.aspect} text is empty: there is nothing to score against")


@dataclass
class JudgeStats:
    """Counters since the judge was built: verdicts asked of the backend, answered from the cache and
    failed (NaN) with the reasons backends record, and the model requests the LLM judges sent
    (re-asks included; the offline judges send none)."""

    asked: int = 0
    cached: int = 0
    failed: int = 0
    requests: int = 0
    reasons: Counter = field(default_factory=Counter)

    def metrics(self, prefix: str = "judge/") -> dict[str, float]:
        out = {
            f"{prefix}asked": self.asked,
            f"{prefix}cached": self.cached,
            f"{prefix}failed": self.failed,
            f"{prefix}requests": self.requests,
        }
        out.update({f"{prefix}failed_{reason}": count for reason, count in sorted(self.reasons.items())})
        return out


class Judge(ABC):
    """Batched async judge; `identity()` names everything that can change a verdict (it keys the cache)."""

    backend: str

    def __init__(self, cache_dir: str | Path | None = None, commit_every: int = 64):
        self.cache = VerdictCache(Path(cache_dir) / CACHE_FILE) if cache_dir else None
        self.commit_every = commit_every
        self.stats = JudgeStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def identity(self) -> dict[str, Any]: ...

    @abstractmethod
    async def _coverage(self, queries: list[CoverageQuery]) -> list[float]:
        """Coverage in [0, 1] for each query, NaN where no verdict could be had."""

    @abstractmethod
    async def _contradiction(self, texts: list[str]) -> list[float]:
        """1.0 where the text contradicts itself, 0.0 where it does not, NaN where no verdict could be had."""

    @abstractmethod
    async def _quality(self, queries: list[QualityQuery]) -> list[float]:
        """A score in [0, QUALITY_MAX] for each query (non-empty candidate), NaN where none could be had."""

    async def _elements(self, queries: list[ElementQuery]) -> list[float]:
        """1.0 where the text states the element, 0.0 where not, NaN where no verdict could be had.
        By default the set question on a one-value set; the offline judges answer it directly."""
        return await self._coverage([CoverageQuery(q.as_set(), q.text) for q in queries])

    async def coverage(self, queries: Sequence[CoverageQuery], *, use_cache: bool = True) -> list[float]:
        """An empty set is covered (1.0) and an empty text covers nothing (0.0): no backend call for either."""

        def trivial(query: CoverageQuery) -> float | None:
            if not query.elements.elements():
                return 1.0
            return 0.0 if not query.text.strip() else None

        payloads = [{"elements": q.elements.to_dict(), "text": q.text} for q in queries]
        return await self._verdicts("coverage", list(queries), payloads, trivial, self._coverage, use_cache)

    async def elements(self, queries: Sequence[ElementQuery], *, use_cache: bool = True) -> list[float]:
        """One verdict per element; an empty text states nothing (0.0) without a backend call."""
        payloads = [{"element": [q.element.kind, q.element.text, q.element.owner], "text": q.text} for q in queries]
        return await self._verdicts("element", list(queries), payloads, lambda q: None if q.text.strip() else 0.0,
                                    self._elements, use_cache)

    async def contradiction(self, texts: Sequence[str], *, use_cache: bool = True) -> list[float]:
        """An empty text says nothing, so it contradicts nothing (0.0) without a backend call."""
        texts = list(texts)
        return await self._verdicts(
            "contradiction", texts, texts, lambda t: None if t.strip() else 0.0, self._contradiction, use_cache
        )

    async def quality(self, queries: Sequence[QualityQuery], *, use_cache: bool = True) -> list[float]:
        """Scores in [0, 5], NaN where the backend failed. An empty candidate describes nothing of its
        part (0.0) without a backend call."""
        queries = list(queries)
        payloads = [{"aspect": q.aspect, "candidate": q.candidate, "reference": q.reference} for q in queries]
        return await self._verdicts(
            "quality", queries, payloads, lambda q: None if q.candidate.strip() else 0.0, self._quality, use_cache
        )

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run a coroutine of this judge to completion from synchronous code."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name=f"judge-{self.backend}", daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def aclose(self) -> None:
        """Backends with connections or engines release them here."""

    def close(self) -> None:
        """Release the loop thread, the backend and the cache. A caller that awaited the judge on its
        own event loop awaits `aclose()` there first."""
        if self._loop is not None:
            self.run(self.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._loop = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    def record_failure(self, reason: str, detail: str) -> None:
        """Backends call this for each verdict they give up on, before returning NaN for it.

        The first failures of each reason are logged one by one, then every hundredth with its count,
        so that a dead server during a large batch is visible without burying the log."""
        self.stats.reasons[reason] += 1
        count = self.stats.reasons[reason]
        if count <= FAILURES_LOGGED or count % 100 == 0:
            log.warning("%s judge: %s (%s); the verdict is NaN [%d so far]", self.backend, reason, detail, count)

    async def _verdicts(
        self,
        kind: str,
        items: list,
        payloads: list,
        trivial: Callable[[Any], float | None],
        backend: Callable[[list], Awaitable[list[float]]],
        use_cache: bool,
    ) -> list[float]:
        results: list[float | None] = [trivial(item) for item in items]
        todo = [i for i, r in enumerate(results) if r is None]
        identity = self.identity()
        keys = {i: verdict_key(identity, kind, payloads[i]) for i in todo}
        if use_cache and self.cache is not None:
            hits = self.cache.get_many(keys.values())
            for i in todo:
                if keys[i] in hits:
                    results[i] = hits[keys[i]]
            self.stats.cached += sum(results[i] is not None for i in todo)
            todo = [i for i in todo if results[i] is None]
        for start in range(0, len(todo), self.commit_every):
            chunk = todo[start : start + self.commit_every]
            verdicts = await backend([items[i] for i in chunk])
            if len(verdicts) != len(chunk):
                raise RuntimeError(f"{self.backend} judge returned {len(verdicts)} verdicts for {len(chunk)} inputs")
            self.stats.asked += len(chunk)
            fresh = {}
            for i, verdict in zip(chunk, verdicts):
                results[i] = float(verdict)
                if math.isnan(verdict):
                    self.stats.failed += 1
                else:
                    fresh[keys[i]] = float(verdict)
            if fresh and use_cache and self.cache is not None:
                self.cache.put_many(fresh)
        return [float(r) for r in results]
