"""Caption metrics per aspect (paper appendix E.1, Table 13; Fig. 3's dense-caption accuracy).

Intention accuracy of an aspect is the fraction of its gold key elements (`reade.rewards.aspects`)
that the judge finds in the prediction's part for that aspect, pooled over the split (elements,
not samples, are averaged: a row with six camera elements weighs six times a row with one). The
judge is asked element by element, so that the same verdicts also give, where the rows record the
provenance of their elements (DESIGN.md section 3):

- `acc_inferable_<aspect>`: the same accuracy over the elements a reader of the instruction and the
  conditions could find (all but the generator's free draws). An element found only in a condition
  file of a kind the model was not given (`condition=text` drops them) counts as free here;
- `acc_text`, `acc_condition`, `acc_derived` (and `acc_condition_<kind>`): the dense caption's
  accuracy over the elements stated in the instruction, carried only by a condition file, or
  reached by the reasoning the instruction asks for;
- `acc_inferable_dense_<mode>` and `acc_derived_<mode>`: the same over the rows of one reasoning
  mode (`meta.reasoning` of the synthetic rows: riddle, transformation, context, match, and the test
  split's held-out `riddle_in_context`).

The quality score (0-5) compares the predicted part with the gold caption's same part. An output
whose six-part answer does not parse has no parts: its aspect texts are empty, which finds nothing
and scores 0; its "dense" text is what a generator would still get from it (`caption_text`). Texts
are sanitised for the judge as the rewards' are, except that short keyword lists count, as a
generator reads them (`reade.rewards.text`). A NaN verdict (a failed judge) is left out and counted.
Every accuracy, quality and rate comes with a bootstrap 95 % interval over rows
(`<key>_ci_low`, `<key>_ci_high`; `reade.results.intervals`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from reade.results.intervals import with_interval
from reade.rewards.aspects import ASPECT_PARTS, aspect_elements
from reade.rewards.elements import element_list
from reade.rewards.judges.base import ElementQuery, Judge, QualityQuery
from reade.rewards.text import EVALUATION_LIST_MIN_ITEMS, caption_text, sanitised
from reade.schema import CONDITION_KINDS, FREE, SampleKeyElements, StructuredCaption, parse_output

log = logging.getLogger(__name__)

# accuracies also reported per reasoning mode (`acc_derived_riddle_in_context`)
GROUPED = ("inferable_dense", "derived")
# provenance source -> the dense-caption accuracy key that pools it
SOURCE_KEYS = {"text": "text", "derived": "derived", **{f"condition:{k}": f"condition_{k}" for k in CONDITION_KINDS}}


@dataclass(frozen=True)
class EvalItem:
    """One test row's prediction with what it is scored against; `kinds` are the condition kinds the
    model was given for the row (None: every kind the provenance names)."""

    id: str
    prediction: str
    key_elements: SampleKeyElements
    gold: StructuredCaption | None = None
    kinds: frozenset[str] | None = None
    group: str | None = None  # the row's reasoning mode (`meta.reasoning`), if any

    def with_group(self, keys: list[str]) -> list[str]:
        """`keys`, plus the row's group's copy of those that are also reported per group."""
        return keys + [f"{key}_{self.group}" for key in keys if self.group and key in GROUPED]

    def source(self, key: str) -> str | None:
        """Where a reader finds the element: None without provenance, free when its condition was not given."""
        if self.key_elements.provenance is None:
            return None
        source = self.key_elements.provenance[key]
        if source.startswith("condition:") and self.kinds is not None and source.split(":", 1)[1] not in self.kinds:
            return FREE
        return source


def aspect_texts(prediction: str, key_elements: SampleKeyElements) -> dict[str, str]:
    """The sanitised predicted text of each aspect (empty when the answer does not parse)."""
    caption = parse_output(prediction).caption
    texts = {aspect: getattr(caption, part) if caption else "" for aspect, part in ASPECT_PARTS.items()}
    if caption is None:
        texts["dense"] = caption_text(prediction)
    return {aspect: sanitised(text, key_elements, EVALUATION_LIST_MIN_ITEMS) for aspect, text in texts.items()}


def accuracy_keys(aspect: str, source: str | None) -> list[str]:
    """The accuracies an element of `aspect` from `source` counts in (without the `acc_` prefix)."""
    keys = [aspect]
    if source is not None and source != FREE:
        keys.append(f"inferable_{aspect}")
        if aspect == "dense":
            keys.append(SOURCE_KEYS[source])
            if source.startswith("condition:"):
                keys.append("condition")
    return keys


def row_keys(aspect: str, with_provenance: bool) -> list[str]:
    """Every accuracy an element of `aspect` can count in, so that a row reports zero where it has none."""
    sources = SOURCE_KEYS if with_provenance else [None]
    return list(dict.fromkeys(key for source in sources for key in accuracy_keys(aspect, source)))


async def aevaluate(judge: Judge, items: Sequence[EvalItem]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """(split metrics, one row per item): `acc_<key>`, `quality_<aspect>`, the format and answer rates,
    counts and intervals; every element and quality query of the split in one batched call each.

    A row's `elements[key]` counts the elements judged for that accuracy (NaN verdicts left out and
    counted in `nan[aspect]`), `found[key]` those the judge found."""
    element_keys, element_queries, quality_keys, quality_queries = [], [], [], []
    rows = []
    for index, item in enumerate(items):
        parsed = parse_output(item.prediction)
        texts = aspect_texts(item.prediction, item.key_elements)
        elements = aspect_elements(item.key_elements, item.gold)
        rows.append({"id": item.id, "output": item.prediction, "format_ok": parsed.ok,
                     "answer_ok": parsed.caption is not None, "elements": {}, "found": {}, "nan": {}, "quality": {}})
        for aspect in ASPECT_PARTS:
            rows[-1]["nan"][aspect] = 0
            for key in item.with_group(row_keys(aspect, item.key_elements.provenance is not None)):
                rows[-1]["elements"][key] = 0
                rows[-1]["found"][key] = 0.0
            for element in element_list(elements[aspect]):
                element_keys.append((index, aspect, item.with_group(accuracy_keys(aspect, item.source(element.key)))))
                element_queries.append(ElementQuery(element, texts[aspect]))
            if item.gold is not None:
                reference = getattr(item.gold, ASPECT_PARTS[aspect])
                quality_keys.append((index, aspect))
                quality_queries.append(QualityQuery(ASPECT_PARTS[aspect], texts[aspect], reference))
    verdicts, qualities = await asyncio.gather(judge.elements(element_queries), judge.quality(quality_queries))
    for (index, aspect, keys), verdict in zip(element_keys, verdicts):
        row = rows[index]
        if math.isnan(verdict):
            row["nan"][aspect] += 1
            continue
        for key in keys:
            row["elements"][key] += 1
            row["found"][key] += verdict
    for (index, aspect), score in zip(quality_keys, qualities):
        rows[index]["quality"][aspect] = score
    return split_metrics(rows), rows


def evaluate_items(judge: Judge, items: Sequence[EvalItem]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """`aevaluate` for synchronous callers."""
    return judge.run(aevaluate(judge, items))


def split_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Pooled accuracies, mean qualities and rates, each with its bootstrap interval over rows; NaN
    verdicts left out and counted. An accuracy whose rows judged no element is NaN."""
    metrics: dict[str, float] = {}
    keys = list(dict.fromkeys(key for row in rows for key in row["elements"]))
    for key in keys:
        judged = [row for row in rows if key in row["elements"]]
        metrics.update(with_interval(f"acc_{key}", [row["found"][key] for row in judged],
                                     [row["elements"][key] for row in judged]))
    for aspect in ASPECT_PARTS:
        scores = [row["quality"][aspect] for row in rows if aspect in row["quality"]]
        good = [s for s in scores if not math.isnan(s)]
        metrics.update(with_interval(f"quality_{aspect}", good, [1.0] * len(good)))
        metrics[f"nan_{aspect}"] = float(sum(row["nan"].get(aspect, 0) for row in rows) + len(scores) - len(good))
    for rate, field in (("format_rate", "format_ok"), ("answer_rate", "answer_ok")):
        metrics.update(with_interval(rate, [float(row[field]) for row in rows], [1.0] * len(rows)))
    metrics["samples"] = float(len(rows))
    return metrics


def caption_scores(judge: Judge, rows: list[dict], outputs: list[dict], samples_path: Path, tag: str = "") -> dict[str, float]:
    """`outputs` (a decoded row each: its `id` and `output`, and whatever else the decoder recorded)
    scored per aspect against the test `rows` with the same ids: `eval/<metric><tag>` numbers (an
    interval's bounds `eval/<metric><tag>_ci_low`), and one JSON line per output (what the decoder
    recorded, the row's key elements, then elements, found, quality) in `samples_path`: with its key
    elements the file is `reade.score` input as it stands (`prediction_field=output`)."""
    by_id = {row["id"]: row for row in rows}
    unknown = [output["id"] for output in outputs if output["id"] not in by_id]
    if unknown:
        raise ValueError(f"outputs for rows the test split does not hold: {unknown[:5]}")
    items = []
    for output in outputs:
        row = by_id[output["id"]]
        items.append(EvalItem(row["id"], output["output"], SampleKeyElements.from_dict(json.loads(row["key_elements"])),
                              StructuredCaption.from_dict(json.loads(row["caption"])) if row["caption"] else None,
                              kinds=frozenset(c["kind"] for c in row["conditions"]), group=row.get("reasoning")))
    scores, samples = evaluate_items(judge, items)
    samples_path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{**output, "key_elements": item.key_elements.to_dict(), **sample}
             for output, item, sample in zip(outputs, items, samples)]
    samples_path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    log.info("caption metrics%s over %d rows (%s judge): %s", tag, len(items), judge.backend,
             ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k.startswith("acc_") and "_ci_" not in k))
    return {f"eval/{tagged(k, tag)}": v for k, v in scores.items()}


def tagged(name: str, tag: str) -> str:
    """`acc_dense` -> `acc_dense_before`, and `acc_dense_ci_low` -> `acc_dense_before_ci_low`."""
    for bound in ("_ci_low", "_ci_high"):
        if name.endswith(bound):
            return f"{name[: -len(bound)]}{tag}{bound}"
    return f"{name}{tag}"


def report_lines(scores: dict[str, float], judge: str) -> list[str]:
    """The printed table of `caption_scores`' numbers: each accuracy with its 95 % interval, the
    inferable-only accuracy beside it where the rows record provenance."""

    def cell(key: str) -> str:
        if f"eval/{key}" not in scores:
            return ""
        return f"{scores[f'eval/{key}']:.3f} [{scores[f'eval/{key}_ci_low']:.3f}, {scores[f'eval/{key}_ci_high']:.3f}]"

    lines = [f"{int(scores['eval/samples'])} held-out rows, {judge} judge: format rate {scores['eval/format_rate']:.3f}, "
             f"six-part answer rate {scores['eval/answer_rate']:.3f}",
             f"{'aspect':<12} {'accuracy [95% CI]':<24} {'inferable only [95% CI]':<24} {'quality':>7}"]
    lines += [f"{a:<12} {cell(f'acc_{a}'):<24} {cell(f'acc_inferable_{a}'):<24} {scores[f'eval/quality_{a}']:>7.2f}"
              for a in ASPECT_PARTS]
    return lines + [f"dense, {source:<21} {cell(f'acc_{source}')}" for source in ("text", "condition", "derived")
                    if f"eval/acc_{source}" in scores]
