"""Camera-to-text data for camera-encoder pretraining: random trajectories, each captioned by the describer.

    python -m reade.data.camera_captions --out data/camera/seed0-n4096 [--n-train 4096 --n-val 64 --n-test 256]

Every row is an ordinary sample of the data contract (DESIGN.md section 3) with one camera condition:

    {"id": "train-000017", "instruction": "How does the camera move?",
     "conditions": [{"kind": "camera", "path": "assets/train-000017.txt"}],
     "meta": {"camera_caption": "a slow pan left and tilt up", "camera_motions": ["pan left", "tilt up"],
              "combined": true, "frames": 11}}

The caption is `describe_camera(trajectory).text`, plain text without `<think>`/`<answer>`: this task
only teaches the encoder to put what the camera does into words the LLM reads, and the describer's
words are the ones the SFT camera captions use ("a slow pan left"). `meta` is for people; the
training stage labels every trajectory with the describer again when it loads, so any JSONL of
camera conditions (RealEstate10K paths, say) trains the same way.

Trajectories come from `reade.data.synthetic.camera_moves`: one move of any kind the describer
names (`combined_fraction` of the rows take two), a few static cameras, random amounts, lengths,
pacing and world poses; each split draws from its own random stream, so the test paths are new.
Written like `reade.data.synthesize`: deterministic, idempotent (`manifest.json`), staged and renamed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from reade.camera_vocab import KINDS, SPEEDS
from reade.data.conditions import write_camera
from reade.data.synthetic.camera_moves import sample_trajectory
from reade.utils.io import write_dataset_once

GENERATOR_VERSION = 1
SPLITS = ("train", "val", "test")
STATIC_FRACTION = 0.03
INSTRUCTIONS = (
    "Describe the camera motion.",
    "How does the camera move?",
    "What does the camera do in this clip?",
    "Name the camera movement.",
    "Describe how the camera moves.",
    "Caption the camera trajectory.",
    "Which camera motion is this?",
    "Tell me the camera move.",
)


def synthesize_camera(
    out_dir: Path, n_train: int, n_val: int, n_test: int, seed: int = 0, combined_fraction: float = 0.4,
    kinds: Sequence[str] = KINDS, speeds: Sequence[str] = SPEEDS,
) -> dict[str, Path]:
    """Write `{train,val,test}.jsonl` and `assets/*.txt` under out_dir (once); returns split -> JSONL path.

    `kinds` and `speeds` narrow the moves drawn (default: every kind and speed the describer names).
    """
    out_dir = Path(out_dir)
    counts = {"train": n_train, "val": n_val, "test": n_test}
    if any(n < 0 for n in counts.values()):
        raise ValueError(f"sample counts must be >= 0, got {counts}")
    if not 0.0 <= combined_fraction <= 1.0:
        raise ValueError(f"combined_fraction must lie in [0, 1], got {combined_fraction}")
    kinds, speeds = list(kinds), list(speeds)
    manifest = {
        "generator": "reade.data.camera_captions",
        "version": GENERATOR_VERSION,
        "args": {**counts, "seed": seed, "combined_fraction": combined_fraction, "kinds": kinds, "speeds": speeds},
    }
    write_dataset_once(out_dir, manifest, lambda staging: _write_splits(staging, counts, seed, combined_fraction, kinds, speeds))
    return {split: out_dir / f"{split}.jsonl" for split in SPLITS}


def _write_splits(root: Path, counts: dict[str, int], seed: int, combined_fraction: float, kinds: list[str],
                  speeds: list[str]) -> None:
    (root / "assets").mkdir()
    with tqdm(total=sum(counts.values()), desc="camera trajectories", unit="sample") as bar:
        for split_index, split in enumerate(SPLITS):
            with (root / f"{split}.jsonl").open("w", encoding="utf-8") as jsonl:
                for index in range(counts[split]):
                    rng = np.random.default_rng([seed, split_index, index])
                    row = _write_sample(root, split, index, rng, combined_fraction, kinds, speeds)
                    jsonl.write(json.dumps(row) + "\n")
                    bar.update()


def _write_sample(root: Path, split: str, index: int, rng: np.random.Generator, combined_fraction: float,
                  kinds: list[str], speeds: list[str]) -> dict[str, Any]:
    sample_id = f"{split}-{index:06d}"
    draw = rng.random()
    static = draw < STATIC_FRACTION
    combined = not static and draw < STATIC_FRACTION + combined_fraction * (1 - STATIC_FRACTION)
    trajectory, description = sample_trajectory(rng, combined=combined, static=static, kinds=kinds, speeds=speeds)
    path = f"assets/{sample_id}.txt"
    write_camera(root / path, trajectory)
    return {
        "id": sample_id,
        "instruction": str(rng.choice(INSTRUCTIONS)),
        "conditions": [{"kind": "camera", "path": path}],
        "meta": {
            "camera_caption": description.text,
            "camera_motions": list(description.names),
            "combined": len(description.motions) > 1,
            "frames": len(trajectory.w2c),
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-train", type=int, default=4096)
    parser.add_argument("--n-val", type=int, default=64)
    parser.add_argument("--n-test", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--combined-fraction", type=float, default=0.4)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--speeds", nargs="+", default=list(SPEEDS), choices=list(SPEEDS))
    args = parser.parse_args(argv)
    paths = synthesize_camera(args.out, args.n_train, args.n_val, args.n_test, seed=args.seed,
                              combined_fraction=args.combined_fraction, kinds=args.kinds, speeds=args.speeds)
    for split, path in paths.items():
        print(f"{split}: {path}")


if __name__ == "__main__":
    main()
