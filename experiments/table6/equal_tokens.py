"""The steps at which the no-CoT SFT recipe learns from as many target tokens as the CoT recipe does in
its own steps (Table 6's row "no-CoT SFT at equal target tokens").

    python -m experiments.table6.equal_tokens            # the default training split, tokenizer and recipe
    python -m experiments.table6.equal_tokens --train data/synthetic/seed0-n4096-32-256/train.jsonl \
        --steps 3000 --describe-fraction 0.2

A CoT row's target is its trace and its answer; a no-CoT row's is the answer alone. With
`describe_fraction` f, SFT turns a describable row into a describe-the-reference row with probability
f, and that row's target is the same in both recipes. Both recipes draw rows from the same split with
the same batch size, so the ratio of their expected target tokens per row is the ratio of the tokens
a step carries, and the no-CoT steps are the CoT steps times it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from reade.data.collate import describable, describe_row
from reade.data.jsonl import check_lines, dataset_row
from reade.errors import DataError
from reade.models.tokenizer import IM_END, load_tokenizer

DEFAULT_TRAIN = Path("data/synthetic/seed0-n4096-32-256/train.jsonl")


def expected_target_tokens(rows: Iterable[dict[str, Any]], count: Callable[[str], int], describe_fraction: float) -> float:
    """Mean over `rows` (`dataset_row`s with their `target`) of the target tokens a training row
    carries in expectation: a describable row is its describe target with probability `describe_fraction`."""
    total, n = 0.0, 0
    for row in rows:
        own = count(row["target"])
        if describable(row):
            total += describe_fraction * count(describe_row(row)["target"]) + (1 - describe_fraction) * own
        else:
            total += own
        n += 1
    if n == 0:
        raise ValueError("no rows to count")
    return total / n


def equal_token_steps(steps: int, cot_tokens: float, answer_tokens: float) -> int:
    """No-CoT steps that carry the target tokens of `steps` CoT steps, per-row means given."""
    return round(steps * cot_tokens / answer_tokens)


def split_rows(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The split's rows with the CoT target and with the answer-only target, from one read of the
    file; a bad row is an error that names its line, since a count over a part of the split would be
    a count of another split."""
    cot, answer = ("caption", "think"), ("caption",)
    numbered, problems, _ = check_lines(path, cot, progress=False)
    if problems:
        raise DataError(f"{problems[0]} ({len(problems)} problem(s) in all)")
    return ([dataset_row(sample, cot, line) for line, sample in numbered],
            [dataset_row(sample, answer, line) for line, sample in numbered])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--steps", type=int, default=3000, help="the CoT recipe's steps (profile/sft_tiny.yaml)")
    parser.add_argument("--describe-fraction", type=float, default=0.2, help="stage.describe_fraction of both recipes")
    args = parser.parse_args(argv)
    tokenizer = load_tokenizer()

    def count(target: str) -> int:  # the processor's target: the text and its closing <|im_end|>
        return len(tokenizer.encode(target + IM_END, add_special_tokens=False))

    cot_rows, answer_rows = split_rows(args.train)
    cot = expected_target_tokens(cot_rows, count, args.describe_fraction)
    answer = expected_target_tokens(answer_rows, count, args.describe_fraction)
    print(f"{args.train}: target tokens per training row, describe_fraction {args.describe_fraction}: "
          f"CoT {cot:.1f}, no CoT {answer:.1f} (ratio {cot / answer:.3f}); "
          f"{args.steps} CoT steps = {equal_token_steps(args.steps, cot, answer)} no-CoT steps")


if __name__ == "__main__":
    main()
