"""Judge throughput on this machine, and how many requests an LLM judge costs per caption.

    python experiments/bench_judge/run.py [--samples 32]
    python experiments/bench_judge/run.py --completions <grpo run>/completions.jsonl --train-file <train.jsonl>

Inputs: the probe captions of the synthetic test split (reade.rewards.probes), judged through the
reward assigner as GRPO and reade.score judge them (three key-element sets and one contradiction
check per caption), with the disk cache off. For the embedding judge the model is loaded before the
clock starts; "cold" is a fresh judge (no phrase vectors in memory), "warm" the same judge again
(the G completions of one prompt share most phrases). Elements/s counts every key element judged.

Requests per caption: every backend goes through the same base class, which asks its backend once
per non-trivial verdict (a set with elements, a non-empty caption); an LLM judge sends one chat
request per verdict, plus a re-ask for each answer that does not parse. The count below is that
number of verdicts asked, read from the judge's own counter.

With `--completions`: the reward phase of GRPO alone, on the completions a GRPO run logged
(`completions.jsonl`, every `stage.log_completions_every` steps), each logged step judged as that
step's reward call judges it (`RewardAssigner.score` on its G completions per prompt), one
embedding judge for the whole run so that its memo carries over from step to step, disk cache off.
Completions are rebuilt from their logged think and answer blocks. It reports per-step seconds,
how many of them the sentence model's `encode` took, its calls and the texts it embedded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from reade.data.synthesize import synthesize
from reade.rewards.assigner import RewardAssigner
from reade.rewards.content import RewardWeights
from reade.rewards.judges.embedding import EmbeddingJudge
from reade.rewards.judges.lexical import LexicalJudge
from reade.rewards.probes import probes
from reade.schema import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN, SampleKeyElements

ROOT = Path(__file__).resolve().parents[2]


def timed(judge, predictions, key_elements) -> float:
    assigner = RewardAssigner(judge, RewardWeights())
    start = time.perf_counter()
    assigner.score(predictions, key_elements, use_cache=False)
    return time.perf_counter() - start


def recorded_steps(completions: Path, train_file: Path) -> list[tuple[list[str], list[SampleKeyElements]]]:
    """The logged GRPO steps in order: each step's completions and their prompts' key elements."""
    key_elements = {}
    for line in train_file.read_text().splitlines():
        row = json.loads(line)
        key_elements[row["id"]] = SampleKeyElements.from_dict(row["key_elements"])
    steps = defaultdict(lambda: ([], []))
    for line in completions.read_text().splitlines():
        logged = json.loads(line)
        predictions, elements = steps[logged["step"]]
        predictions.append(f"{THINK_OPEN}\n{logged['think']}\n{THINK_CLOSE}\n{ANSWER_OPEN}\n{logged['answer']}\n{ANSWER_CLOSE}")
        elements.append(key_elements[logged["id"]])
    return [steps[step] for step in sorted(steps)]


def reward_phase(steps, batch_size: int) -> list[str]:
    """Each logged step's reward call timed on one warm embedding judge, with its encoder's share."""
    judge = EmbeddingJudge(batch_size=batch_size)
    model = judge.load()
    encode, encoded = model.encode, []

    def timed_encode(texts, **kwargs):
        start = time.perf_counter()
        vectors = encode(texts, **kwargs)
        encoded.append((len(texts), time.perf_counter() - start))
        return vectors

    model.encode = timed_encode
    rows = []
    for predictions, key_elements in steps:
        encoded.clear()
        seconds = timed(judge, predictions, key_elements)
        rows.append((seconds, sum(s for _, s in encoded), len(encoded), sum(n for n, _ in encoded)))
    judge.close()
    median = [statistics.median(column) for column in zip(*rows)]
    return [
        f"{len(steps)} logged GRPO steps, {sum(len(p) for p, _ in steps)} completions, embedding judge "
        f"(batch_size {batch_size}), memo carried from step to step, disk cache off.",
        "",
        "| step | seconds | encode s | encoder calls | texts embedded |",
        "|---|---|---|---|---|",
        *(f"| {i} | {s:.3f} | {e:.3f} | {c} | {n} |" for i, (s, e, c, n) in enumerate(rows)),
        f"| median | {median[0]:.3f} | {median[1]:.3f} | {median[2]:g} | {median[3]:g} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench_judge")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.md"))
    parser.add_argument("--completions", type=Path, help="a GRPO run's completions.jsonl: time its reward phase")
    parser.add_argument("--train-file", type=Path, help="the train split that run drew its prompts from")
    parser.add_argument("--batch-size", type=int, default=EmbeddingJudge().batch_size)
    args = parser.parse_args()

    if args.completions:
        lines = reward_phase(recorded_steps(args.completions, args.train_file), args.batch_size)
        print("\n".join(lines))
        return
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
