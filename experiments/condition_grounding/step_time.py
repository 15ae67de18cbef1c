"""Part 5's side-by-side timing of one training step of a stage, three ways, in one process:

- `every position`: the loss from the logits of every position (`model(**batch).loss`, the
  thinker's own), random batches;
- `labelled positions`: the loss from the labelled positions only (`reade.models.interpreter.target_loss`),
  the same random batches;
- `length-grouped`: that loss on batches of rows of similar length (`LengthGroupedBatches`, the
  counts of `reade.train`'s length check).

Each way trains its own copy of the starting checkpoint (the stage's frozen parts frozen, AdamW at
the stage's rate); they take turns batch by batch, in an order that rotates, so that a change in
the machine's load falls on all three. The batches are built before the clock starts. Printed: the
mean and median step, each way's speed-up over the first, the share of positions that are padding
and that carry a label, and the first batch's loss both ways (equal weights, equal batch).

    python experiments/condition_grounding/step_time.py CHECKPOINT STAGE STEPS [OVERRIDE ...]

STAGE is `ground` or `sft`; the overrides are reade.train's (data, seed, ...).
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

import reade.config  # noqa: F401  (registers the schemas the configs extend)
from reade.data.grouped_batches import LengthGroupedBatches
from reade.data.lengths import TokenLimit, within_limit
from reade.models.backbone import load_backbone
from reade.models.freezing import freeze
from reade.models.interpreter import target_loss
from reade.utils.instantiate import build

CONF = Path(__file__).resolve().parents[2] / "conf"
WAYS = {"every position": lambda model, batch: model(**batch, use_cache=False).loss,
        "labelled positions": lambda model, batch: target_loss(model, **batch),
        "length-grouped": lambda model, batch: target_loss(model, **batch)}


def stage_batches(stage: str, checkpoint: str, steps: int, overrides: list[str]):
    """The model, the stage's settings, and `steps` random and `steps` length-grouped training batches."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        cfg = compose("train", overrides=[f"stage={stage}", *overrides], return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)  # the stage node reads the run folder from it
    settings = OmegaConf.to_object(cfg.stage)
    model, processor = load_backbone(checkpoint)
    if settings.frozen:
        freeze(model, list(settings.frozen))  # as SFTModule does
    datamodule = build(cfg.stage.datamodule)(settings=settings)
    datamodule.load()
    datamodule.processor = processor
    split = datamodule.splits["train"] = within_limit(datamodule.splits["train"], datamodule.reports["train"],
                                                      TokenLimit(processor, cfg.data.max_length, "data.max_length"),
                                                      on_error="raise", with_targets=True)
    collate = datamodule.collator(with_targets=True, train=True)
    size = settings.batch_size
    random_order = torch.randperm(len(split)).tolist()
    grouped_order = list(LengthGroupedBatches(split["tokens"], size))
    def batches(order):
        return [collate([split[i] for i in order[k * size:(k + 1) * size]]) for k in range(steps)]
    return model, settings, {"random": batches(random_order), "grouped": batches(grouped_order)}


def timed_step(model, optimizer, batch, loss_of) -> tuple[float, float]:
    start = time.perf_counter()
    loss = loss_of(model, batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start, loss.item()


def main() -> None:
    checkpoint, stage, steps, *overrides = sys.argv[1:]
    torch.manual_seed(0)
    model, settings, batches = stage_batches(stage, checkpoint, int(steps), overrides)
    feeds = {"every position": batches["random"], "labelled positions": batches["random"], "length-grouped": batches["grouped"]}
    models = {way: copy.deepcopy(model).train() for way in WAYS}
    optimizers = {way: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=settings.optimizer.lr)
                  for way, m in models.items()}
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    first_loss = {}
    for index in range(int(steps)):
        ways = list(WAYS)
        for way in ways[index % 3:] + ways[:index % 3]:
            seconds, loss = timed_step(models[way], optimizers[way], feeds[way][index], WAYS[way])
            times[way].append(seconds)
            first_loss.setdefault(way, loss)
    size = batches["random"][0]["input_ids"].shape[0]
    print(f"stage={stage} {checkpoint}: {steps} batches of {size} rows, torch threads {torch.get_num_threads()}")
    for name, feed in batches.items():
        positions = sum(b["input_ids"].numel() for b in feed)
        padding = sum(int((b["attention_mask"] == 0).sum()) for b in feed) / positions
        labelled = sum(int((b["labels"] != -100).sum()) for b in feed) / positions
        print(f"  {name} batches: {positions / len(feed) / size:.0f} positions a row, padding {padding:.3f}, labelled {labelled:.3f}")
    base = statistics.mean(times["every position"][1:])  # the first step warms the allocator
    for way, seconds in times.items():
        mean, median = statistics.mean(seconds[1:]), statistics.median(seconds[1:])
        print(f"  {way:20s} mean step {mean:.3f} s, median {median:.3f} s, speed-up {base / mean:.2f}x")
    print(f"  first batch's loss: every position {first_loss['every position']:.6f}, "
          f"labelled positions {first_loss['labelled positions']:.6f}")


if __name__ == "__main__":
    main()
