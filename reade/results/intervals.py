"""Uncertainty of the numbers the tables show: bootstrap intervals over rows, spread over seeds.

A pooled accuracy is a ratio of sums (elements found / elements judged) over the rows of a split,
so the rows, not the elements, are what is resampled: the elements of one row share its output and
are not independent. The interval is the percentile bootstrap (Efron), with a fixed generator seed
so that the same rows always give the same bounds. Over seeds (a few independent runs of a row) the
interval of the mean is Student's t: with 3 seeds its half-width is 2.48 standard deviations.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from scipy.stats import t as student_t

RESAMPLES = 2000
LEVEL = 0.95


def bootstrap_ratio(numerators: Sequence[float], denominators: Sequence[float], *, resamples: int = RESAMPLES,
                    level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """(low, high) of the `level` percentile interval of Σ numerators / Σ denominators over rows drawn
    with replacement; NaN bounds when no row has a positive denominator."""
    if len(numerators) != len(denominators):
        raise ValueError(f"{len(numerators)} numerators for {len(denominators)} denominators")
    num = torch.tensor(list(numerators), dtype=torch.float64)  # [N]
    den = torch.tensor(list(denominators), dtype=torch.float64)  # [N]
    if num.numel() == 0 or float(den.sum()) <= 0:
        return math.nan, math.nan
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(num.numel(), (resamples, num.numel()), generator=generator)  # [R, N]
    totals = den[rows].sum(dim=1)  # [R]
    ratios = num[rows].sum(dim=1)[totals > 0] / totals[totals > 0]  # [R'] resamples with something judged
    tail = (1.0 - level) / 2
    low, high = torch.quantile(ratios, torch.tensor([tail, 1.0 - tail], dtype=torch.float64)).tolist()
    return low, high


def with_interval(name: str, numerators: Sequence[float], denominators: Sequence[float]) -> dict[str, float]:
    """`{name: Σ num / Σ den, name_ci_low: ..., name_ci_high: ...}`, the way every accuracy, rate and
    mean quality of a run is written (NaN where nothing was judged)."""
    total = sum(denominators)
    low, high = bootstrap_ratio(numerators, denominators)
    return {name: sum(numerators) / total if total else math.nan, f"{name}_ci_low": low, f"{name}_ci_high": high}


def mean_and_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (NaN values left out; sd 0 for one value)."""
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return math.nan, math.nan
    mean = sum(kept) / len(kept)
    if len(kept) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in kept) / (len(kept) - 1))


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """(low, high) of the `level` Student-t interval of the mean over seeds (NaN values left out; NaN
    bounds for fewer than two values)."""
    kept = [v for v in values if not math.isnan(v)]
    if len(kept) < 2:
        return math.nan, math.nan
    mean, sd = mean_and_sd(kept)
    half = float(student_t.ppf(1.0 - (1.0 - level) / 2, len(kept) - 1)) * sd / math.sqrt(len(kept))
    return mean - half, mean + half
