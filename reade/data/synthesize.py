"""Procedural synthetic dataset: the embedded default data and every test's data.

    python -m reade.data.synthesize --out data/synthetic [--n-train 512 --n-val 32 --n-test 32 --seed 0]

Each sample is a scene drawn from small vocabularies (people, animals, vehicles and, for reasoning
instructions, creatures that grow from a young form; actions; backgrounds; ambience sounds; styles;
lighting; ten camera motions; shot sizes and angles). A random subset of the five condition kinds
is rendered from the scene into real files (identity PNGs painting the attribute colours, depth
`.npz`, COCO-17 pose JSON, camera `.txt`, audio WAV), each with a sentence of what it shows
(`conditions[].description`), and zero conditions happen too. The instruction is one of four kinds
(`meta.instruction_kind`): plain, ambiguous, edit (conditions show the scene before the edit; text
wins on conflicts) and reasoning (42 % of the rows; `meta.reasoning`: transformation, context,
riddle, match, and on the test split alone riddle_in_context), each reasoning instruction taking
more than one hop (`reade.data.synthetic.instructions`). The gold caption, the 4-step think trace
and the U/S/Z key elements all derive from the scene, and every key element appears verbatim in
the caption.

Splits share every vocabulary. Held out for test: the (main subject noun, background) pairs in
`reade.data.synthetic.vocab.HELD_OUT_PAIRS` (e.g. dog on a beach, woman in a forest, car on a snowy
mountain, frog in a garden). Train and val never contain them as main subject and background; test
samples use only them wherever the instruction kind allows one (`meta.held_out_pair` says which).

Generation is deterministic (each sample's randomness comes from seed, split and index) and
idempotent: `manifest.json` records the arguments, and a second call with the same ones returns at
once. Files are written to a temporary sibling folder and renamed into place at the end, so an
interrupted run never leaves a half dataset.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from reade.data.conditions import write_audio, write_camera, write_depth, write_identity, write_pose
from reade.data.synthetic.art import identity_image
from reade.data.synthetic.motion import depth_sequence, pose_sequence
from reade.data.synthetic.plan import SPLITS, Plan, plan_sample
from reade.data.synthetic.sound import ambience_audio
from reade.data.synthetic.trajectory import camera_trajectory
from reade.utils.io import write_dataset_once

GENERATOR_VERSION = 4  # 2: provenance of the key elements; the dense part states every inferable fact;
# 3: condition descriptions, figures drawn apart, multi-hop reasoning at 42 %, held-out hop combinations;
# 4: step 2 names each identity reference by its prompt label ("Identity reference 2 shows ...")
PROGRESS_THRESHOLD = 100


def synthesize(
    out_dir: Path,
    n_train: int,
    n_val: int,
    n_test: int,
    seed: int = 0,
    image_size: int = 56,
    frames: int = 4,
    audio_seconds: float = 1.0,
) -> dict[str, Path]:
    """Write `train.jsonl`, `val.jsonl`, `test.jsonl` and `assets/` under out_dir; returns split -> JSONL path.

    A non-empty out_dir without a manifest is refused rather than overwritten: it is not ours.
    """
    out_dir = Path(out_dir)
    counts = {"train": n_train, "val": n_val, "test": n_test}
    if any(n < 0 for n in counts.values()):
        raise ValueError(f"sample counts must be >= 0, got {counts}")
    if image_size < 16 or frames < 2 or audio_seconds <= 0:
        raise ValueError("need image_size >= 16, frames >= 2 (camera paths need two) and audio_seconds > 0")
    manifest = {
        "generator": "reade.data.synthesize",
        "version": GENERATOR_VERSION,
        "args": {"n_train": n_train, "n_val": n_val, "n_test": n_test, "seed": seed,
                 "image_size": image_size, "frames": frames, "audio_seconds": audio_seconds},
    }
    write_dataset_once(
        out_dir, manifest, lambda staging: _write_dataset(staging, counts, seed, image_size, frames, audio_seconds)
    )
    return {split: out_dir / f"{split}.jsonl" for split in SPLITS}


def training_texts(n: int, seed: int = 0) -> Iterator[str]:
    """For each of the first n train samples: its instruction, then its SFT target (render_output of
    think and caption), exactly as synthesize writes them for the same seed; no files, no rendering."""
    for index in range(n):
        sample = plan_sample(seed, "train", index).sample()
        yield sample.instruction
        yield sample.target()


def _write_dataset(root: Path, counts: dict[str, int], seed: int, image_size: int, frames: int,
                   audio_seconds: float) -> None:
    total = sum(counts.values())
    with tqdm(total=total, desc="synthesize", unit="sample", disable=total <= PROGRESS_THRESHOLD) as bar:
        for split in SPLITS:
            with (root / f"{split}.jsonl").open("w", encoding="utf-8") as jsonl:
                for index in range(counts[split]):
                    plan = plan_sample(seed, split, index)
                    _write_conditions(plan, root, image_size, frames, audio_seconds)
                    jsonl.write(json.dumps(plan.sample().to_dict(), ensure_ascii=False) + "\n")
                    bar.update()


def _write_conditions(plan: Plan, root: Path, image_size: int, frames: int, audio_seconds: float) -> None:
    """Renders the source scene: for edits the reference before the edit, otherwise the target itself."""
    source = plan.built.source
    rng = plan.render_rng()
    subjects = iter(plan.built.references)
    for condition in plan.condition_paths():
        path = root / condition.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if condition.kind == "identity":
            write_identity(path, identity_image(next(subjects), image_size))
        elif condition.kind == "depth":
            write_depth(path, depth_sequence(source, image_size, frames))
        elif condition.kind == "pose":
            write_pose(path, pose_sequence(source, image_size, frames, fps=frames / audio_seconds))
        elif condition.kind == "camera":
            write_camera(path, camera_trajectory(source.camera, frames))
        else:
            write_audio(path, ambience_audio(source.ambience, audio_seconds, rng))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-train", type=int, default=512)
    parser.add_argument("--n-val", type=int, default=32)
    parser.add_argument("--n-test", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=56)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--audio-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    paths = synthesize(args.out, args.n_train, args.n_val, args.n_test, seed=args.seed,
                       image_size=args.image_size, frames=args.frames, audio_seconds=args.audio_seconds)
    for split, path in paths.items():
        print(f"{split}: {path}")


if __name__ == "__main__":
    main()
