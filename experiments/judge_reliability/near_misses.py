"""Near misses: the per-aspect accuracy of finished `reade.evaluate` jobs' outputs under the
embedding judge of any checkout of this repository, so a judge change is measured on the same outputs.

    git worktree add /tmp/before b116f42        # the judge before near misses were excluded
    python experiments/judge_reliability/near_misses.py --source /tmp/before \\
        --test data/synthetic/seed0-n512-32-256/test.jsonl logs/evaluate/multiruns/<time>/*/
    python experiments/judge_reliability/near_misses.py --source . --test ... logs/evaluate/multiruns/<time>/*/

Each folder is an evaluation job (`eval_samples.jsonl`, `.hydra/config.yaml` naming its baseline or
checkpoint). The rows' provenance is left out, so an older checkout's schema reads them; the printed
keys are the plain `acc_<aspect>` both versions compute. One JSON line per job on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the checkout whose judge scores the outputs")
    parser.add_argument("--test", type=Path, required=True, help="the test split the jobs were scored on")
    parser.add_argument("jobs", type=Path, nargs="+")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source.resolve()))
    from reade.caption_metrics import EvalItem, evaluate_items
    from reade.rewards.judges.embedding import EmbeddingJudge
    from reade.schema import SampleKeyElements, StructuredCaption

    test = {row["id"]: row for row in map(json.loads, args.test.read_text().splitlines())}
    judge = EmbeddingJudge()
    try:
        for job in args.jobs:
            items = []
            for line in (job / "eval_samples.jsonl").read_text().splitlines():
                output = json.loads(line)
                row = test[output["id"]]
                sets = {k: v for k, v in row["key_elements"].items() if k != "provenance"}
                items.append(EvalItem(row["id"], output["output"], SampleKeyElements.from_dict(sets),
                                      StructuredCaption.from_dict(row["caption"])))
            metrics, _ = evaluate_items(judge, items)
            config = (job / ".hydra" / "config.yaml").read_text()
            name = next((line.split(":", 1)[1].strip() for line in config.splitlines() if line.startswith("baseline:")), "")
            accuracies = {k: round(v, 3) for k, v in metrics.items() if k.startswith("acc_") and "_ci_" not in k
                          and "inferable" not in k}
            print(json.dumps({"job": str(job), "baseline": name, "rows": len(items), **accuracies}), flush=True)
    finally:
        judge.close()


if __name__ == "__main__":
    main()
