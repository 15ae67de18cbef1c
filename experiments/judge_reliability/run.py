"""Paper D.4 for any two judges: repeat stability of each, and their agreement.

    python experiments/judge_reliability/run.py --judge embedding --other lexical
    python experiments/judge_reliability/run.py --judge vllm --other openai \\
        --judge-override judge.model=Qwen/Qwen3-30B-A3B-Instruct-2507 \\
        --other-override judge.model=gpt-4o judge.base_url=https://api.openai.com/v1

Inputs are the probe captions of the synthetic test split (reade.rewards.probes: gold, another
sample's, camera removed, style removed), so scores spread over [0, 1] as predictions do. Each judge
scores every (caption, U/S/Z set) `--repeats` times at `--temperature` (paper: 5 at 0.3) with the
verdict cache bypassed. Per input: the variance over repeats and the coefficient of variation
(std / mean); over inputs their mean and median; between the judges the mean absolute error of
their mean scores. The table is written to results.md beside this script (or --out).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

import reade.config  # noqa: F401  (registers the schemas)
from reade.data.synthesize import synthesize
from reade.rewards.judges.base import CoverageQuery, Judge
from reade.rewards.probes import probes
from reade.rewards.text import judged_text
from reade.utils.instantiate import build

ROOT = Path(__file__).resolve().parents[2]
SETS = ("user", "supplementary", "imaginative")


def make_judge(name: str, overrides: list[str], temperature: float) -> Judge:
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose("score", overrides=["input=-", "output=-", f"judge={name}", "judge.cache_dir=null", *overrides])
    if "temperature" in cfg.judge:
        cfg.judge.temperature = temperature
    return build(cfg.judge)


def queries(n: int, data_dir: Path) -> list[CoverageQuery]:
    synthesize(data_dir, n_train=2, n_val=2, n_test=n, seed=0)
    rows = [json.loads(line) for line in (data_dir / "test.jsonl").read_text().splitlines()]
    out = []
    for probe in probes(rows):
        text = judged_text(probe.prediction, probe.sample.key_elements)
        out.extend(CoverageQuery(getattr(probe.sample.key_elements, s), text) for s in SETS)
    return [q for q in out if q.elements.elements()]  # an empty set is 1.0 by rule, not by the judge


def repeat_scores(judge: Judge, items: list[CoverageQuery], repeats: int) -> tuple[torch.Tensor, float]:
    """[N, repeats] coverage scores and the seconds they took."""
    start = time.perf_counter()
    runs = [judge.run(judge.coverage(items, use_cache=False)) for _ in range(repeats)]
    return torch.tensor(runs, dtype=torch.float64).T, time.perf_counter() - start


def stability(scores: torch.Tensor) -> dict[str, float]:
    """Over inputs answered in every repeat: variance (unbiased) and coefficient of variation."""
    answered = scores[~scores.isnan().any(dim=1)]  # [N', R]
    variance = answered.var(dim=1, unbiased=True) if answered.shape[1] > 1 else torch.zeros(len(answered))
    mean = answered.mean(dim=1)
    cv = variance.sqrt()[mean > 0] / mean[mean > 0]
    return {
        "inputs": len(scores),
        "failed": int(scores.isnan().any(dim=1).sum()),
        "mean score": float(mean.mean()),
        "variance, mean": float(variance.mean()),
        "variance, median": float(variance.median()),
        "CV, mean": float(cv.mean()) if len(cv) else math.nan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", default="embedding")
    parser.add_argument("--other", default="lexical")
    parser.add_argument("--judge-override", nargs="*", default=[])
    parser.add_argument("--other-override", nargs="*", default=[])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=0.3)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "judge_reliability")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.md"))
    args = parser.parse_args()

    items = queries(args.samples, args.data_dir)
    results, means = {}, {}
    for label, name, overrides in [("judge", args.judge, args.judge_override), ("other", args.other, args.other_override)]:
        judge = make_judge(name, overrides, args.temperature)
        scores, seconds = repeat_scores(judge, items, args.repeats)
        results[name] = stability(scores) | {"seconds": seconds, "identity": judge.identity()}
        means[label] = scores.nanmean(dim=1)
        judge.close()
    both = ~(means["judge"].isnan() | means["other"].isnan())
    mae = float((means["judge"][both] - means["other"][both]).abs().mean())
    table = render(args, results, mae, len(items))
    args.out.write_text(table)
    print(table)


def render(args: argparse.Namespace, results: dict, mae: float, n_items: int) -> str:
    names = list(results)
    rows = ["inputs", "failed", "mean score", "variance, mean", "variance, median", "CV, mean", "seconds"]
    lines = [
        f"Judge reliability: {n_items} (caption, key-element set) inputs from {args.samples} synthetic test samples "
        f"x 4 probe captions, {args.repeats} repeats at temperature {args.temperature}, cache bypassed.",
        "",
        f"| | {' | '.join(names)} |",
        f"|---|{'---|' * len(names)}",
    ]
    for row in rows:
        cells = [results[n][row] for n in names]
        lines.append(f"| {row} | {' | '.join(f'{c:.4g}' if isinstance(c, float) else str(c) for c in cells)} |")
    lines += ["", f"Agreement: mean absolute error between the two judges' mean scores = {mae:.4f}", ""]
    lines += [f"- `{n}`: `{json.dumps(results[n]['identity'])}`" for n in names]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
