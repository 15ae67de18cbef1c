"""Judge throughput on this machine, and how many requests an LLM judge costs per caption.

    python experiments/bench_judge/run.py [--samples 32]

Inputs: the probe captions of the synthetic test split (reade.rewards.probes), judged through the
reward assigner as GRPO and reade.score judge them (three key-element sets and one contradiction
check per caption), with the disk cache off. For the embedding judge the model is loaded before the
clock starts; "cold" is a fresh judge (no phrase vectors in memory), "warm" the same judge again
(the G completions of one prompt share most phrases). Elements/s counts every key element judged.

Requests per caption: every backend goes through the same base class, which asks its backend once
per non-trivial verdict (a set with elements, a non-empty caption); an LLM judge sends one chat
request per verdict, plus a re-ask for each answer that does not parse. The count below is that
number of verdicts asked, read from the judge's own counter.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from reade.data.synthesize import synthesize
from reade.rewards.assigner import RewardAssigner
from reade.rewards.content import RewardWeights
from reade.rewards.judges.embedding import EmbeddingJudge
from reade.rewards.judges.lexical import LexicalJudge
from reade.rewards.probes import probes

ROOT = Path(__file__).resolve().parents[2]


def timed(judge, predictions, key_elements) -> float:
    assigner = RewardAssigner(judge, RewardWeights())
    start = time.perf_counter()
    assigner.score(predictions, key_elements, use_cache=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench_judge")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.md"))
    args = parser.parse_args()

    synthesize(args.data_dir, n_train=2, n_val=2, n_test=args.samples, seed=0)
    rows = [json.loads(line) for line in (args.data_dir / "test.jsonl").read_text().splitlines()]
    captions = probes(rows)
    predictions = [p.prediction for p in captions]
    key_elements = [p.sample.key_elements for p in captions]
    elements = sum(len(getattr(k, s).elements()) for k in key_elements for s in ("user", "supplementary", "imaginative"))

    lexical = LexicalJudge()
    lexical_s = timed(lexical, predictions, key_elements)
    asked = lexical.stats.asked
    embedding = EmbeddingJudge()
    start = time.perf_counter()
    embedding.load()
    load_s = time.perf_counter() - start
    cold_s = timed(embedding, predictions, key_elements)
    warm_s = timed(embedding, predictions, key_elements)

    lines = [
        f"{len(captions)} captions ({args.samples} synthetic test samples x 4 probes), {elements} key elements, "
        "judged through RewardAssigner with the disk cache off.",
        "",
        "| judge | seconds | captions/s | elements/s |",
        "|---|---|---|---|",
        f"| lexical | {lexical_s:.2f} | {len(captions) / lexical_s:.0f} | {elements / lexical_s:.0f} |",
        f"| embedding, cold | {cold_s:.2f} | {len(captions) / cold_s:.1f} | {elements / cold_s:.0f} |",
        f"| embedding, warm | {warm_s:.2f} | {len(captions) / warm_s:.1f} | {elements / warm_s:.0f} |",
        "",
        f"Embedding model load (once per process): {load_s:.1f} s.",
        "",
        f"LLM judges (openai, vllm, hf): {asked} requests for {len(captions)} captions = "
        f"{asked / len(captions):.2f} requests per caption (at most 4: three sets and one contradiction check; "
        "empty sets cost none), plus one per re-asked unparseable answer.",
    ]
    for judge in (lexical, embedding):
        judge.close()
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
