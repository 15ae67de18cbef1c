"""Bootstrap intervals against cases with a known answer, and the spread over seeds."""

from __future__ import annotations

import math

import pytest

from reade.results.intervals import bootstrap_ratio, mean_and_sd, t_interval, with_interval


def test_identical_rows_have_no_spread():
    assert bootstrap_ratio([2.0] * 10, [4.0] * 10) == (0.5, 0.5)


def test_a_proportion_matches_the_normal_approximation():
    """400 rows, 120 hits: p = 0.3, the 95 % interval is about p ± 1.96 sqrt(p (1 - p) / n) = ± 0.045."""
    hits = [1.0] * 120 + [0.0] * 280
    low, high = bootstrap_ratio(hits, [1.0] * 400)
    half = 1.96 * math.sqrt(0.3 * 0.7 / 400)
    assert low == pytest.approx(0.3 - half, abs=0.008) and high == pytest.approx(0.3 + half, abs=0.008)


def test_rows_not_elements_are_resampled():
    """Two rows, one with 9 of 9 elements found, one with 0 of 1: resamples are {both rows, twice the
    first, twice the second}, so the pooled ratio ranges over 0, 0.9 and 1."""
    low, high = bootstrap_ratio([9.0, 0.0], [9.0, 1.0])
    assert (low, high) == (0.0, 1.0)


def test_the_same_rows_give_the_same_bounds_and_nothing_judged_gives_nan():
    assert bootstrap_ratio([1, 0, 1, 1], [1, 1, 1, 1]) == bootstrap_ratio([1, 0, 1, 1], [1, 1, 1, 1])
    assert all(math.isnan(b) for b in bootstrap_ratio([], []))
    assert all(math.isnan(b) for b in bootstrap_ratio([0.0, 0.0], [0.0, 0.0]))
    with pytest.raises(ValueError, match="2 numerators for 1 denominators"):
        bootstrap_ratio([1, 2], [1])


@pytest.mark.parametrize("values, expected", [
    ([0.4, 0.6], (0.5, math.sqrt(0.02))),
    ([0.5], (0.5, 0.0)),
    ([0.5, math.nan, 0.7], (0.6, math.sqrt(0.02))),
])
def test_mean_and_sd_over_seeds(values, expected):
    assert mean_and_sd(values) == pytest.approx(expected)


def test_with_interval_writes_the_value_and_its_bounds():
    written = with_interval("eval/acc_dense", [1.0, 0.0, 2.0], [1.0, 1.0, 2.0])
    assert written["eval/acc_dense"] == 0.75
    assert written["eval/acc_dense_ci_low"] <= 0.75 <= written["eval/acc_dense_ci_high"]
    assert all(math.isnan(v) for v in with_interval("eval/acc_style", [], []).values())


@pytest.mark.parametrize("values, expected", [
    ([0.4, 0.6], (0.5 - 12.7062 * 0.1, 0.5 + 12.7062 * 0.1)),  # t(0.975, 1) = 12.7062; sd / sqrt(2) = 0.1
    ([1.0, 2.0, 3.0], (2.0 - 4.3027 / math.sqrt(3), 2.0 + 4.3027 / math.sqrt(3))),  # t(0.975, 2) = 4.3027, sd 1
    ([1.0, math.nan, 2.0, 3.0], (2.0 - 4.3027 / math.sqrt(3), 2.0 + 4.3027 / math.sqrt(3))),
])
def test_the_t_interval_of_a_mean_over_seeds(values, expected):
    assert t_interval(values) == pytest.approx(expected, abs=1e-4)


def test_one_seed_has_no_t_interval():
    assert all(math.isnan(b) for b in t_interval([0.5])) and all(math.isnan(b) for b in t_interval([]))
