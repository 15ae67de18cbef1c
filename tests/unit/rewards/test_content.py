"""Paper eq. 3-4 against hand-computed values, NaN propagation and the JSON form."""

from __future__ import annotations

import math

import pytest

from reade.rewards.content import RewardWeights, content_reward, coverage, reward_score, total_reward

PAPER = RewardWeights()
NAN = float("nan")


@pytest.mark.parametrize(
    "matched, expected",
    [([True, True, False, True], 0.75), ([False], 0.0), ([True], 1.0), ([], 1.0), ([1, 0, 0], 1 / 3)],
)
def test_coverage(matched, expected):
    assert coverage(matched) == pytest.approx(expected)


@pytest.mark.parametrize(
    "weights, components, expected",
    [
        (PAPER, (1.0, 1.0, 1.0, 0.0), 2.8),  # 1 + 1 + 0.8
        (PAPER, (1.0, 1.0, 1.0, 1.0), 2.1),  # 2.8 - 0.7
        (PAPER, (0.5, 0.25, 0.5, 0.0), 1.15),  # 0.5 + 0.25 + 0.4
        (PAPER, (0.0, 0.0, 0.0, 1.0), -0.7),
        (RewardWeights(rho=0, gamma=0, lam=0), (0.6, 1.0, 1.0, 1.0), 0.6),  # Table 6 "R_user"
        (RewardWeights(gamma=0, lam=0), (0.6, 0.5, 1.0, 1.0), 1.1),  # "R_user + R_detail"
        (RewardWeights(lam=0), (0.6, 0.5, 0.5, 1.0), 1.5),  # "+ R_supp"
    ],
)
def test_content_reward(weights, components, expected):
    assert content_reward(*components, weights) == pytest.approx(expected)


def test_nan_propagates_unless_its_weight_is_zero():
    assert math.isnan(content_reward(NAN, 1.0, 1.0, 0.0, PAPER))
    assert math.isnan(content_reward(1.0, 1.0, 1.0, NAN, PAPER))
    assert content_reward(1.0, 1.0, 1.0, NAN, RewardWeights(lam=0)) == pytest.approx(2.8)
    assert math.isnan(total_reward(1.0, NAN, PAPER))


def test_total_reward_adds_the_weighted_format_reward():
    assert total_reward(0.2, 2.8, PAPER) == pytest.approx(3.0)
    assert total_reward(0.2, 2.8, RewardWeights(format=0.0)) == pytest.approx(2.8)


def test_reward_score_keeps_every_component_and_writes_null_for_nan():
    score = reward_score(1.0, 0.5, NAN, 1.0, 0.0, PAPER)
    assert (score.r_user, score.r_supp, score.r_contra) == (0.5, 1.0, 0.0)
    assert math.isnan(score.content) and math.isnan(score.reward)
    assert score.to_dict() == {
        "format": 1.0, "r_user": 0.5, "r_detail": None, "r_supp": 1.0, "r_contra": 0.0, "content": None, "reward": None,
    }
