"""A start for SFT whose language model is moved back toward the backbone's initial weights (Part 16).

    python experiments/condition_grounding/mix_start.py START BACKBONE OUT --keep 0.5

OUT is START (a stage's checkpoint folder) with every tensor under `--parts` (by default the
language model: `model.*` and `lm_head.*`) replaced by `keep * START + (1 - keep) * BACKBONE`;
the towers, the camera encoder, the processor and `reade_config.yaml` stay START's, so SFT from
`stage.init_checkpoint=OUT` freezes what it would freeze after START's stage. Ash and Adams
(NeurIPS 2020) found that a warm-started network generalises worse than a fresh one at about the
same training loss, and that shrinking its weights toward zero and adding noise closes much of the
gap; mixing toward the initial weights the chain began from is our variant. Parts are matched as
the file's leading module paths (its keys are top-level: `model.layers.0...`, `visual...`), not
anywhere in a name as reade.models.freezing matches a live model's parameters.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

WEIGHTS = "model.safetensors"


def mix(start: dict[str, torch.Tensor], initial: dict[str, torch.Tensor], parts: list[str],
        keep: float) -> tuple[dict[str, torch.Tensor], int]:
    """START's tensors with those under `parts` mixed toward `initial`'s; returns them and how many
    were mixed. A part that names no tensor, or a tensor the backbone lacks or shapes otherwise, is
    refused: a silent partial mix would be a different experiment."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep={keep}: must lie in [0, 1]")
    chosen = [name for name in start if any(name.startswith(f"{part}.") for part in parts)]
    unmatched = [part for part in parts if not any(name.startswith(f"{part}.") for name in chosen)]
    if unmatched:
        raise ValueError(f"{unmatched} name no tensor of the start")
    missing = [name for name in chosen if name not in initial or initial[name].shape != start[name].shape]
    if missing:
        raise ValueError(f"the backbone lacks or shapes otherwise {len(missing)} tensors, e.g. {missing[0]}")
    mixed = dict(start)
    for name in chosen:
        mixed[name] = (keep * start[name] + (1.0 - keep) * initial[name]).contiguous()
    return mixed, len(chosen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("start", type=Path, help="the checkpoint folder SFT would start from")
    parser.add_argument("backbone", type=Path, help="the backbone folder the chain began from")
    parser.add_argument("out", type=Path, help="a new folder")
    parser.add_argument("--keep", type=float, required=True, help="the share of START's weights kept")
    parser.add_argument("--parts", nargs="+", default=["model", "lm_head"])
    args = parser.parse_args(argv)
    for folder in (args.start, args.backbone):
        if not (folder / WEIGHTS).is_file():
            parser.error(f"{folder / WEIGHTS} does not exist")
    if args.out.exists():
        parser.error(f"{args.out} exists: pick a new folder")
    try:
        mixed, count = mix(load_file(args.start / WEIGHTS), load_file(args.backbone / WEIGHTS), args.parts, args.keep)
    except ValueError as error:
        parser.error(str(error))
    staging = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(args.start, staging)
    save_file(mixed, staging / WEIGHTS, metadata={"format": "pt"})
    staging.rename(args.out)
    print(f"{args.out}: {count} tensors under {args.parts} at keep={args.keep}")


if __name__ == "__main__":
    main()
