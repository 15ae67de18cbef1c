"""Part 5's side-by-side timing: one training step of a stage with the loss from the logits of every
position (`model(**batch).loss`, the thinker's own) and with the loss from the labelled positions
only (`InterpreterModel.target_loss`), on the same batches, in one process.

Each variant trains its own copy of the starting checkpoint with the stage's optimizer settings; the
two alternate batch by batch (A B, then B A) so that a change in the machine's load falls on both.
Printed: the median step (forward, backward, optimizer step; the batch is built before the clock
starts), the ratio, the share of positions that are padding and that carry a label, and the largest
difference of the two losses on the first batch, where the weights are still equal.

    python experiments/condition_grounding/step_time.py CHECKPOINT STAGE STEPS [OVERRIDE ...]

STAGE is `ground`, `sft` or `camera_pretrain`; the overrides are reade.train's (data, seed, ...).
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
from reade.models.backbone import load_backbone
from reade.models.freezing import freeze
from reade.utils.instantiate import build

CONF = Path(__file__).resolve().parents[2] / "conf"


def batches(stage: str, checkpoint: str, steps: int, overrides: list[str]):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        cfg = compose("train", overrides=[f"stage={stage}", *overrides], return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)  # the stage node reads the run folder from it
    settings = OmegaConf.to_object(cfg.stage)
    model, processor = load_backbone(checkpoint)
    datamodule = build(cfg.stage.datamodule)(settings=settings)
    datamodule.load()
    datamodule.processor = processor
    if getattr(settings, "frozen", None):
        freeze(model, list(settings.frozen))  # as SFTModule does
    loader = iter(datamodule.train_dataloader())
    return model, settings, [next(loader) for _ in range(steps)]


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
    model, settings, train_batches = batches(stage, checkpoint, int(steps), overrides)
    variants = {"every position": lambda m, b: m(**b, use_cache=False).loss,
                "labelled positions": lambda m, b: m.target_loss(**b)}
    models = {name: copy.deepcopy(model).train() for name in variants}
    optimizers = {name: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=settings.optimizer.lr)
                  for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in variants}
    first_losses = {}
    for index, batch in enumerate(train_batches):
        order = list(variants) if index % 2 == 0 else list(reversed(variants))
        for name in order:
            seconds, loss = timed_step(models[name], optimizers[name], batch, variants[name])
            times[name].append(seconds)
            if index == 0:
                first_losses[name] = loss
    positions = sum(b["input_ids"].numel() for b in train_batches)
    padding = sum(int((b["attention_mask"] == 0).sum()) for b in train_batches) / positions
    labelled = sum(int((b["labels"] != -100).sum()) for b in train_batches) / positions
    print(f"stage={stage} {checkpoint} {len(train_batches)} batches of {train_batches[0]['input_ids'].shape[0]} rows, "
          f"torch threads {torch.get_num_threads()}; positions: padding {padding:.3f}, labelled {labelled:.3f}")
    medians = {name: statistics.median(t[1:]) for name, t in times.items()}  # the first step warms the allocator
    for name, median in medians.items():
        print(f"  {name:20s} median step {median:.3f} s")
    print(f"  speed-up {medians['every position'] / medians['labelled positions']:.2f}x; first-batch losses "
          f"{first_losses['every position']:.6f} and {first_losses['labelled positions']:.6f}")


if __name__ == "__main__":
    main()
