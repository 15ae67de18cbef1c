"""Caption metrics per aspect (paper appendix E.1, Table 13; Fig. 3's dense-caption accuracy).

Intention accuracy of an aspect is the fraction of its gold key elements (`reade.rewards.aspects`)
that the judge finds in the prediction's part for that aspect, pooled over the split (elements,
not samples, are averaged: a row with six camera elements weighs six times a row with one). The
quality score (0-5) compares the predicted part with the gold caption's same part. An output whose
six-part answer does not parse has no parts: its aspect texts are empty, which finds nothing and
scores 0; its "dense" text is what a generator would still get from it (`caption_text`). Texts are
sanitised for the judge as the rewards' are. A NaN verdict (a failed judge) is left out and counted.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Sequence

from reade.rewards.aspects import ASPECT_PARTS, aspect_elements
from reade.rewards.judges.base import CoverageQuery, Judge, QualityQuery
from reade.rewards.text import caption_text, sanitised
from reade.schema import SampleKeyElements, StructuredCaption, parse_output


@dataclass(frozen=True)
class EvalItem:
    """One test row's prediction with what it is scored against."""

    id: str
    prediction: str
    key_elements: SampleKeyElements
    gold: StructuredCaption | None = None


def aspect_texts(prediction: str, key_elements: SampleKeyElements) -> dict[str, str]:
    """The sanitised predicted text of each aspect (empty when the answer does not parse)."""
    caption = parse_output(prediction).caption
    texts = {aspect: getattr(caption, part) if caption else "" for aspect, part in ASPECT_PARTS.items()}
    if caption is None:
        texts["dense"] = caption_text(prediction)
    return {aspect: sanitised(text, key_elements) for aspect, text in texts.items()}


async def aevaluate(judge: Judge, items: Sequence[EvalItem]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """(split metrics, one row per item): `acc_<aspect>`, `quality_<aspect>`, the format and answer
    rates, and counts; every coverage and quality query of the split in one batched call each."""
    coverage_keys, coverage_queries, quality_keys, quality_queries = [], [], [], []
    rows = []
    for index, item in enumerate(items):
        parsed = parse_output(item.prediction)
        texts = aspect_texts(item.prediction, item.key_elements)
        elements = aspect_elements(item.key_elements, item.gold)
        rows.append({"id": item.id, "output": item.prediction, "format_ok": parsed.ok,
                     "answer_ok": parsed.caption is not None, "elements": {}, "found": {}, "quality": {}})
        for aspect in ASPECT_PARTS:
            count = len(elements[aspect].elements())
            rows[-1]["elements"][aspect] = count
            if count:
                coverage_keys.append((index, aspect, count))
                coverage_queries.append(CoverageQuery(elements[aspect], texts[aspect]))
            if item.gold is not None:
                reference = getattr(item.gold, ASPECT_PARTS[aspect])
                quality_keys.append((index, aspect))
                quality_queries.append(QualityQuery(ASPECT_PARTS[aspect], texts[aspect], reference))
    coverages, qualities = await asyncio.gather(judge.coverage(coverage_queries), judge.quality(quality_queries))
    for (index, aspect, count), fraction in zip(coverage_keys, coverages):
        rows[index]["found"][aspect] = fraction * count
    for (index, aspect), score in zip(quality_keys, qualities):
        rows[index]["quality"][aspect] = score
    return split_metrics(rows), rows


def evaluate_items(judge: Judge, items: Sequence[EvalItem]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """`aevaluate` for synchronous callers."""
    return judge.run(aevaluate(judge, items))


def split_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Pooled accuracies and mean qualities per aspect; NaN verdicts left out and counted."""
    metrics: dict[str, float] = {}
    for aspect in ASPECT_PARTS:
        found = [(row["found"][aspect], row["elements"][aspect]) for row in rows if aspect in row["found"]]
        kept = [(f, n) for f, n in found if not math.isnan(f)]
        total = sum(n for _, n in kept)
        metrics[f"acc_{aspect}"] = sum(f for f, _ in kept) / total if total else float("nan")
        scores = [row["quality"][aspect] for row in rows if aspect in row["quality"]]
        good = [s for s in scores if not math.isnan(s)]
        metrics[f"quality_{aspect}"] = sum(good) / len(good) if good else float("nan")
        metrics[f"nan_{aspect}"] = float(len(found) - len(kept) + len(scores) - len(good))
    count = len(rows)
    metrics["format_rate"] = sum(row["format_ok"] for row in rows) / count if count else float("nan")
    metrics["answer_rate"] = sum(row["answer_ok"] for row in rows) / count if count else float("nan")
    metrics["samples"] = float(count)
    return metrics
