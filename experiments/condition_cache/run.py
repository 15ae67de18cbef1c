"""Training steps of the default chain's three stages with condition files read afresh and kept.

Run: .venv/bin/python experiments/condition_cache/run.py [--steps 150] [--threads 2]
Needs the default chain's finished stage runs in .cache/stages (`make train` leaves them): each
stage's steps start from its upstream's checkpoint, as in `make train`. Per stage, the same
training batches (same seed) go through collate, forward, backward and an AdamW step, in blocks
of 25 steps that alternate between the two collators so that a machine that slows down costs both.
The kept arm first lays out every training row's files once (its fill time is reported apart).
Prints a Markdown table and writes it to results.md beside this file.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from reade.data.condition_files import EncodedConditions
from reade.models.freezing import freeze
from reade.models.from_config import backbone_from_config
from reade.models.interpreter import target_loss
from reade.utils.chain import job_plan
from reade.utils.instantiate import build
from tests.conftest import compose_train

HERE = Path(__file__).parent
BLOCK = 25


def stage_parts(stage: str, checkpoint: str | None):
    """The datamodule (rows and collators) and the model a stage of the default chain trains."""
    overrides = [f"stage={stage}"] + ([f"stage.init_checkpoint={checkpoint}"] if checkpoint else [])
    cfg = compose_train(overrides)
    settings = OmegaConf.to_object(cfg.stage)
    datamodule = build(cfg.stage.datamodule)(settings=settings)
    datamodule.load()
    model, processor = backbone_from_config(cfg.backbone, cfg.paths.cache_dir, list(cfg.condition.kinds),
                                            init_checkpoint=checkpoint)
    datamodule.processor = processor
    freeze(model, list(getattr(settings, "frozen", []) or []))
    return cfg, datamodule, model


def timed_steps(model, optimizer, collator, batches) -> list[float]:
    times = []
    for rows in batches:
        start = time.perf_counter()
        loss = target_loss(model, **collator(rows))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    return times


def bench_stage(stage: str, checkpoint: str | None, steps: int) -> dict:
    cfg, datamodule, model = stage_parts(stage, checkpoint)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    rows = datamodule.splits["train"]
    size = cfg.stage.batch_size
    order = random.Random(0).sample(range(len(rows)), len(rows))
    batches = [[rows[order[(step * size + i) % len(rows)]] for i in range(size)] for step in range(steps)]
    collators = {arm: datamodule.collator(with_targets=True, train=True) for arm in ("afresh", "kept")}
    collators["afresh"].conditions = EncodedConditions(collators["afresh"].processor, 0)
    start = time.perf_counter()
    for row in rows:
        collators["kept"].conditions.row(row)
    fill = time.perf_counter() - start
    times = {"afresh": [], "kept": []}
    timed_steps(model, optimizer, collators["afresh"], batches[:3])  # warm-up, not counted
    for block in range(0, steps, BLOCK):
        for arm in (("afresh", "kept") if block // BLOCK % 2 == 0 else ("kept", "afresh")):
            random.seed(block)
            times[arm] += timed_steps(model, optimizer, collators[arm], batches[block:block + BLOCK])
    kept = collators["kept"].conditions
    return {"stage": stage, "rows": len(rows), "batch": size, "steps": len(times["kept"]),
            "afresh": statistics.median(times["afresh"]), "kept": statistics.median(times["kept"]),
            "afresh_mean": statistics.fmean(times["afresh"]), "kept_mean": statistics.fmean(times["kept"]),
            "fill": fill, "mb": kept.used / 2**20, "max_steps": cfg.stage.max_steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    plan = job_plan(compose_train([]))
    finished = [step.cache for step in plan[:-1]]
    if not all(folder is not None and (folder / "DONE").is_file() for folder in finished):
        raise SystemExit(f"the default chain's stage runs are not all finished in .cache/stages ({finished}): run `make train` first")
    starts = {"camera_pretrain": None, "ground": str(finished[0] / "checkpoint"), "sft": str(finished[1] / "checkpoint")}
    results = [bench_stage(stage, checkpoint, args.steps) for stage, checkpoint in starts.items()]
    lines = ["| stage | rows, batch | step afresh (median, mean) | step kept (median, mean) | saved per step | "
             "fill once | kept MB | saved over the stage's steps |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        saved = r["afresh_mean"] - r["kept_mean"]
        lines.append(f"| {r['stage']} | {r['rows']}, {r['batch']} | {r['afresh']:.3f} s, {r['afresh_mean']:.3f} s | "
                     f"{r['kept']:.3f} s, {r['kept_mean']:.3f} s | {saved:.3f} s ({saved / r['afresh_mean']:.0%}) | "
                     f"{r['fill']:.1f} s | {r['mb']:.0f} | {r['max_steps']} x {saved:.3f} s = {r['max_steps'] * saved / 60:.1f} min |")
    table = "\n".join(lines)
    header = (f"{args.steps} steps an arm, {args.threads} thread(s), blocks of {BLOCK} alternating; "
              f"`.venv/bin/python experiments/condition_cache/run.py --steps {args.steps} --threads {args.threads}`\n\n")
    (HERE / "results.md").write_text(header + table + "\n")
    print(header + table)


if __name__ == "__main__":
    main()
