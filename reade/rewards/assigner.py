"""The reward assigner: format and content rewards for a batch of predictions, judged in one call.

GRPO, `reade.score` and `reade.evaluate` all go through `RewardAssigner.ascore`, so a generation
batch costs one batched coverage call (three sets per prediction) and one batched contradiction
call, run concurrently, whatever the backend.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

from reade.rewards.content import RewardScore, RewardWeights, reward_score
from reade.rewards.format import format_reward
from reade.rewards.judges.base import CoverageQuery, Judge
from reade.rewards.text import judged_text
from reade.schema import SampleKeyElements

SETS = ("user", "supplementary", "imaginative")


class RewardAssigner:
    def __init__(self, judge: Judge, weights: RewardWeights):
        self.judge = judge
        self.weights = weights

    async def ascore(
        self, predictions: Sequence[str], key_elements: Sequence[SampleKeyElements], *, use_cache: bool = True
    ) -> list[RewardScore]:
        if len(predictions) != len(key_elements):
            raise ValueError(f"{len(predictions)} predictions but {len(key_elements)} key-element sets")
        texts = [judged_text(p, k) for p, k in zip(predictions, key_elements)]
        queries = [CoverageQuery(getattr(k, name), t) for k, t in zip(key_elements, texts) for name in SETS]
        coverages, contradictions = await asyncio.gather(
            self.judge.coverage(queries, use_cache=use_cache), self.judge.contradiction(texts, use_cache=use_cache)
        )
        scores = []
        for i, prediction in enumerate(predictions):
            r_user, r_detail, r_supp = coverages[3 * i : 3 * i + 3]
            scores.append(
                reward_score(format_reward(prediction), r_user, r_detail, r_supp, contradictions[i], self.weights)
            )
        return scores

    def score(
        self, predictions: Sequence[str], key_elements: Sequence[SampleKeyElements], *, use_cache: bool = True
    ) -> list[RewardScore]:
        """`ascore` for synchronous callers (scripts, the Lightning loop, notebooks)."""
        return self.judge.run(self.ascore(predictions, key_elements, use_cache=use_cache))
