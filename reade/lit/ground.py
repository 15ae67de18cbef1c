"""Condition grounding: describe-the-reference training that teaches a backbone's towers what its
conditions show, before SFT asks it to use them.

Qwen2.5-Omni's vision and audio towers come pretrained; the tiny default's are random. SFT alone
taught them little (the SFT interpreter found 0.12 to 0.22 of the identity-image elements over
three seeds, experiments/condition_grounding); our reading, not a measured cause, is that most of a
caption's tokens can be copied from the instruction, so few send a gradient into a tower. Here every row is a describe-the-reference row
(`DESCRIBE_INSTRUCTION`, one `describe_target` line per condition), so every target token comes from
a condition. SFT's loss, loaders and decoding are reused as they are; the test loop asks the held-out
rows the same question and scores each condition's line against its description:

    eval/describe_recall[_<kind>]   content words of the description found in its line
    eval/describe_exact[_<kind>]    lines equal to the description (case and final stop aside)

each a ratio over conditions with a 95 % bootstrap interval over rows (`_ci_low`, `_ci_high`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from reade.config.data import DataConfig
from reade.config.ground import GroundSettings
from reade.data.collate import InterpreterCollator, describable, describe_row
from reade.errors import DataError
from reade.lit.eval_rows import all_rows, write_samples
from reade.lit.sft import SFTDataModule, SFTModule
from reade.models.decoding import greedy_completions
from reade.models.prompt import condition_labels
from reade.results.intervals import with_interval

log = logging.getLogger(__name__)

# Words every description shares whatever the condition shows; left out of the word recall.
FUNCTION_WORDS = frozenset("a an the with in of and one".split())
MEASURES = ("recall", "exact")


def read_descriptions(text: str, kinds: list[str]) -> list[str]:
    """What an answer to `DESCRIBE_INSTRUCTION` says of each condition, found by its label
    (`condition_labels`, in any line order), without the label and the final stop; '' where no line
    starts with the label."""
    lines = [line.strip() for line in text.splitlines()]
    said = []
    for label in condition_labels(kinds):
        line = next((line for line in lines if line.startswith(label)), label)
        said.append(line[len(label):].strip().rstrip("."))
    return said


def description_words(text: str) -> set[str]:
    """The lower-cased content words of a description (`FUNCTION_WORDS` left out)."""
    return set(re.findall(r"[a-z]+", text.lower())) - FUNCTION_WORDS


def description_score(said: str, gold: str) -> tuple[float, float]:
    """(exact, recall): whether `said` is the description word for word (case and a final stop aside),
    and the share of the description's content words it contains (the exact match where it has none)."""
    words = description_words(gold)
    exact = float(said.strip().rstrip(".").lower() == gold.strip().rstrip(".").lower())
    recall = len(words & description_words(said)) / len(words) if words else exact
    return exact, recall


def describe_metrics(rows: list[dict[str, Any]], tag: str = "") -> dict[str, float]:
    """`eval/describe_<measure>[_<kind>]<tag>` of scored rows (each with its conditions' `kinds` and
    per-condition `recall` and `exact`): the measure summed over the conditions (of that kind) divided
    by their number, with its bootstrap interval over rows (`with_interval`); a kind no row has is
    left out."""
    metrics: dict[str, float] = {}
    for measure in MEASURES:
        for kind in [None, *sorted({k for row in rows for k in row["kinds"]})]:
            shares = [[v for k, v in zip(row["kinds"], row[measure]) if kind in (None, k)] for row in rows]
            shares = [share for share in shares if share]  # the rows with a condition of this kind
            name = f"eval/describe_{measure}{'_' + kind if kind else ''}{tag}"
            metrics |= with_interval(name, [sum(share) for share in shares], [len(share) for share in shares])
    return metrics


class GroundDataModule(SFTDataModule):
    """SFT's splits and loaders, every row a describe-the-reference row: the rows whose conditions all
    carry a description (after `condition.kinds` dropped the others); the rest are left out, logged and
    counted (`data/<split>_not_described`). A split with no such row is a DataError naming its file.
    `stage.train_rows_with` narrows the training split further (`rows_with_kinds`)."""

    def __init__(self, *, settings: GroundSettings, data: DataConfig, kinds: list[str], processor=None):
        super().__init__(settings=settings, data=data, kinds=kinds, processor=processor)
        self.not_described: dict[str, int] = {}
        self.without_kinds: int | None = None  # training rows `stage.train_rows_with` left out, once it ran

    @staticmethod
    def consumer_of(settings: GroundSettings) -> str:
        return "inference"  # the targets are the descriptions: no trace or caption needed

    def load(self) -> None:
        super().load()
        for split, dataset in self.splits.items():
            if split in self.not_described:
                continue  # loaded and rewritten by an earlier call
            kept = dataset.filter(describable)
            if len(kept) == 0:
                raise DataError(f"{self.files[split]}: none of its {len(dataset)} row(s) has conditions that all carry a "
                                f"description (conditions[].description, condition.kinds={self.kinds}); "
                                "stage=ground trains and evaluates on those only")
            self.not_described[split] = len(dataset) - len(kept)
            log.info("%s: %d of %d row(s) describe every condition; %d left out (no condition, or one without a "
                     "description)", self.files[split], len(kept), len(dataset), self.not_described[split])
            if split == "train" and self.settings.train_rows_with:
                kept = self.rows_with_kinds(kept)
            self.splits[split] = kept.map(describe_row)  # what SFT's describe_fraction makes of a row

    def rows_with_kinds(self, dataset):
        """The training rows holding a condition of a `stage.train_rows_with` kind in use; the others
        counted. Kinds the condition option drops are ignored (one profile serves every option); when
        it drops them all, every row is kept, and the log says so."""
        wanted = set(self.settings.train_rows_with) & set(self.kinds)
        if not wanted:
            log.info("stage.train_rows_with=%s: none of these kinds is in condition.kinds=%s; every describable "
                     "row is kept", self.settings.train_rows_with, self.kinds)
            return dataset
        kept = dataset.filter(lambda row: any(c["kind"] in wanted for c in row["conditions"]))
        if len(kept) == 0:
            raise DataError(f"{self.files['train']}: none of its {len(dataset)} describable row(s) holds a condition of "
                            f"stage.train_rows_with={sorted(wanted)}")
        self.without_kinds = len(dataset) - len(kept)
        log.info("%s: %d of %d describable row(s) hold a condition of %s (stage.train_rows_with); %d left out",
                 self.files["train"], len(kept), len(dataset), sorted(wanted), self.without_kinds)
        return kept

    def data_summary(self) -> dict[str, float]:
        summary = super().data_summary() | {f"data/{split}_not_described": n for split, n in self.not_described.items()}
        return summary if self.without_kinds is None else summary | {"data/train_without_kinds": self.without_kinds}

    def collator(self, *, with_targets: bool, train: bool) -> DescribeCollator:
        return DescribeCollator(self.processor, with_targets=with_targets, max_length=self.data.max_length,
                                condition_cache_mb=self.data.condition_cache_mb)


class DescribeCollator(InterpreterCollator):
    """The interpreter's collator (no dropout, no describe fraction: the rows are describe rows), plus
    each held-out row's condition kinds and descriptions for scoring at test time."""

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().__call__(rows)
        if not self.with_targets:
            batch["kinds"] = [[c["kind"] for c in row["conditions"]] for row in rows]
            batch["descriptions"] = [[c["description"] for c in row["conditions"]] for row in rows]
        return batch


class GroundModule(SFTModule):
    """SFT's loss, optimizer and schedule on describe-the-reference rows; the test loop scores each
    condition's line of the held-out answers (module docstring)."""

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        ids, _ = batch.pop("ids"), batch.pop("instructions")
        kinds, gold = batch.pop("kinds"), batch.pop("descriptions")
        texts = greedy_completions(self.model, self.processor, batch, self.settings.eval.max_new_tokens)
        for sample_id, text, row_kinds, row_gold in zip(ids, texts, kinds, gold):
            scores = [description_score(said, g) for said, g in zip(read_descriptions(text, row_kinds), row_gold)]
            self._eval_rows.append({"id": sample_id, "output": text, "kinds": row_kinds, "gold": row_gold,
                                    "exact": [s[0] for s in scores], "recall": [s[1] for s in scores]})

    def on_test_epoch_end(self) -> None:
        rows = self.eval_outputs = all_rows(self._eval_rows)
        self.log_dict(describe_metrics(rows, self.eval_tag), rank_zero_only=True)
        path = write_samples(self.output_dir, self.eval_tag, rows) if self.trainer.is_global_zero else None
        if path is not None:
            log.info("held-out condition descriptions%s: %d row(s); outputs in %s", self.eval_tag, len(rows), path)

    def summary_lines(self, metrics: dict[str, Any]) -> list[str]:
        recall = metrics.get("eval/describe_recall")
        if recall is None:
            return []
        prefix, suffixes = "eval/describe_recall_", ("_ci_low", "_ci_high", "_before")
        kinds = sorted(key.removeprefix(prefix) for key in metrics if key.startswith(prefix) and not key.endswith(suffixes))
        per_kind = ", ".join(f"{kind} {metrics[prefix + kind]:.3f}" for kind in kinds)
        before = metrics.get("eval/describe_recall_before")
        return [f"held-out condition descriptions, content words recalled: trained {recall:.3f} ({per_kind}), "
                f"untrained {'n/a' if before is None else f'{before:.3f}'}; "
                f"lines word for word {metrics['eval/describe_exact']:.3f}"]
