"""The multi-dimensional content reward of paper eq. 3-4, and the scalar GRPO optimises.

Pure arithmetic over judge verdicts: the judges (reade.rewards.judges) decide which elements a
caption covers and whether it contradicts itself; this module weighs those verdicts.

NaN is the value of a verdict the judge could not give (timeout, error, garbage after retries). It
propagates into `content` and `reward` so that callers leave the sample out of group statistics
instead of training on a silent 0. A term with weight 0 does not count, so a NaN there is ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

@dataclass(frozen=True)
class RewardWeights:
    """α ρ γ λ of eq. 4 (paper D.3: 1.0, 1.0, 0.8, 0.7) and the weight of the format reward (eq. 2)
    in the sum GRPO optimises. `lam` is λ (`lambda` is a Python keyword)."""

    alpha: float = 1.0
    rho: float = 1.0
    gamma: float = 0.8
    lam: float = 0.7
    format: float = 1.0


@dataclass(frozen=True)
class RewardScore:
    """One prediction's reward, every term kept apart so that logs can show each of them."""

    format: float
    r_user: float
    r_detail: float
    r_supp: float
    r_contra: float
    content: float
    reward: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready: NaN becomes null, since JSON has no NaN."""
        return {k: (None if math.isnan(v) else v) for k, v in self.__dict__.items()}


# The terms of a reward, in the order every log and score file lists them.
SCORE_FIELDS = tuple(f.name for f in fields(RewardScore))


def coverage(matched: Sequence[bool]) -> float:
    """Eq. 3: the fraction of a set's elements found in the caption. An empty set asks for nothing,
    so nothing is missing: 1.0 (every sample then has the same maximum α+ρ+γ)."""
    return sum(map(bool, matched)) / len(matched) if matched else 1.0


def content_reward(r_user: float, r_detail: float, r_supp: float, r_contra: float, weights: RewardWeights) -> float:
    """Eq. 4: α·R_user + ρ·R_detail + γ·R_supp − λ·R_contra (R_contra is 1 when the caption contradicts itself)."""
    terms = [
        (weights.alpha, r_user),
        (weights.rho, r_detail),
        (weights.gamma, r_supp),
        (-weights.lam, r_contra),
    ]
    return _weighted_sum(terms)


def total_reward(format_score: float, content: float, weights: RewardWeights) -> float:
    """What GRPO maximises: the format reward (eq. 2) plus the content reward (eq. 4)."""
    return _weighted_sum([(weights.format, format_score), (1.0, content)])


def reward_score(
    format_score: float, r_user: float, r_detail: float, r_supp: float, r_contra: float, weights: RewardWeights
) -> RewardScore:
    content = content_reward(r_user, r_detail, r_supp, r_contra, weights)
    return RewardScore(
        format=format_score,
        r_user=r_user,
        r_detail=r_detail,
        r_supp=r_supp,
        r_contra=r_contra,
        content=content,
        reward=total_reward(format_score, content, weights),
    )


def _weighted_sum(terms: list[tuple[float, float]]) -> float:
    return float(sum(weight * value for weight, value in terms if weight != 0.0))
