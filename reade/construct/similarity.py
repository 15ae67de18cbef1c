"""Text similarity for deduplicating instructions: words, word shingles, Jaccard, and an exact index.

An instruction is compared as the set of its word n-grams (shingles), so that a reworded or
extended request still matches the one it copies while two different requests that share a few
common words ("a video of") do not. `NearIndex` answers "which stored set is most similar to this
one, if any reaches the threshold" without comparing against every stored set: with all sets'
tokens sorted in one fixed order (rarest first), two sets whose Jaccard similarity reaches t must
share a token among the first |x| - ceil(t·|x|) + 1 tokens of each (the prefix filter of
Chaudhuri et al. 2006 / Bayardo et al. 2007), so only stored sets met through those prefixes are
scored. It is exact: it finds what the all-pairs comparison finds, in the same order.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

Shingle = tuple[str, ...]
_EPS = 1e-9  # t·|x| of 0.7·10 is 7.000000000000001 in floats; the prefix must not come out one short


def words(text: str) -> list[str]:
    """The words of `text`, case-folded, with punctuation and spacing dropped ("Man's  dog!" -> man, s, dog)."""
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def shingles(tokens: list[str], n: int) -> frozenset[Shingle]:
    """The set of word n-grams; a text shorter than n words is one shingle, itself (never the empty set)."""
    if n < 1:
        raise ValueError(f"shingle size must be >= 1, got {n}")
    if len(tokens) <= n:
        return frozenset({tuple(tokens)})
    return frozenset(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """|a ∩ b| / |a ∪ b|; 1.0 for two empty sets."""
    if not a and not b:
        return 1.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


class NearIndex:
    """Stored sets, queried for the most similar one with Jaccard >= `threshold` (ties: the first stored).

    `frequency` counts each token over every set that will be stored or queried; it fixes the token
    order (rare first, then by value) that makes the prefixes short. Any fixed order is correct.
    """

    def __init__(self, threshold: float, frequency: Counter):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"a Jaccard threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._frequency = frequency
        self._sets: list[frozenset] = []
        self._keys: list[Any] = []
        self._postings: dict[Hashable, list[int]] = defaultdict(list)

    def _prefix(self, tokens: frozenset) -> list:
        ordered = sorted(tokens, key=lambda token: (self._frequency[token], token))
        return ordered[: len(ordered) - math.ceil(self.threshold * len(ordered) - _EPS) + 1]

    def add(self, key: Any, tokens: frozenset) -> None:
        for token in self._prefix(tokens):
            self._postings[token].append(len(self._sets))
        self._sets.append(tokens)
        self._keys.append(key)

    def best(self, tokens: frozenset) -> tuple[Any, float] | None:
        """(key, similarity) of the most similar stored set at or above the threshold, else None."""
        candidates = sorted({i for token in self._prefix(tokens) for i in self._postings.get(token, ())})
        found = None
        for i in candidates:
            similarity = jaccard(tokens, self._sets[i])
            if similarity >= self.threshold and (found is None or similarity > found[1]):
                found = (self._keys[i], similarity)
        return found


def token_frequency(sets: Iterable[frozenset]) -> Counter:
    """How many of `sets` hold each token: the order `NearIndex` sorts prefixes by."""
    return Counter(token for tokens in sets for token in tokens)
