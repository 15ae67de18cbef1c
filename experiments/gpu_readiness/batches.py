"""The inputs of the measured steps, laid out by the repository's processor at the recipe's exact lengths.

SFT rows hold one condition of every kind the processor reads (an identity image, a depth clip, a
camera trajectory and an audio clip): each tower and the camera encoder then get gradients, and
AdamW keeps state for them; a tower no batch reached would hold none, and the measured peak would
undercount a run on mixed data. The text around them is one-token words, as many as make the prompt
and the target exactly the recipe's lengths. GRPO prompts are text only (`condition=text`, as
`rollout=vllm` requires) of exactly the prompt length. Random weights rarely sample the end-of-turn
token, so completions run to the cap: the longest step the recipe allows.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from reade.data.conditions.camera import CameraTrajectory
from reade.models.processing import InterpreterProcessor

from experiments.gpu_readiness.recipes import Lengths

WORD = "garden"  # one token of the tiny tokenizer, also after a space
EMPTY_ELEMENTS = {"objects": [], "actions": [], "camera": [], "style": []}
KEY_ELEMENTS = {"user": {**EMPTY_ELEMENTS, "objects": [{"name": WORD, "attributes": []}]},
                "supplementary": EMPTY_ELEMENTS, "imaginative": EMPTY_ELEMENTS}


def conditions(processor: InterpreterProcessor, seed: int = 0) -> list[tuple[str, object]]:
    """One random condition of each kind at the processor's largest sizes (camera only with an encoder)."""
    rng = np.random.default_rng(seed)
    s = processor.settings
    image, video = int(s.image_max_pixels**0.5), int(s.video_max_pixels**0.5)
    made = [
        ("identity", rng.integers(0, 256, (image, image, 3), dtype=np.uint8)),
        ("depth", rng.integers(0, 256, (s.max_frames, video, video, 3), dtype=np.uint8)),
        ("audio", ((0.1 * rng.standard_normal(int(s.max_audio_seconds * s.sampling_rate))).astype(np.float32),
                   s.sampling_rate)),
    ]
    if processor.camera is not None:
        frames = processor.camera.input.max_frames
        w2c = np.tile(np.eye(4, dtype=np.float32)[:3], (frames, 1, 1))  # [T, 3, 4]: a dolly along x
        w2c[:, 0, 3] = np.linspace(0.0, 1.0, frames, dtype=np.float32)
        made.append(("camera", CameraTrajectory(intrinsics=np.tile(np.float32([1.0, 1.0, 0.5, 0.5]), (frames, 1)), w2c=w2c)))
    return made


def words(count: int) -> str:
    return " ".join([WORD] * count)


def _fill(measure, want: int, what: str) -> str:
    """Words whose `measure` (a token count) is exactly `want`, found by stepping the word count."""
    count = want
    for _ in range(8):
        have = measure(words(count))
        if have == want:
            return words(count)
        count += want - have
        if count < 0:
            raise ValueError(f"{what}: the fixed part alone is longer than {want} tokens")
    raise ValueError(f"{what}: no word count gives exactly {want} tokens")


def filled_text(processor: InterpreterProcessor, conds: list[tuple[str, object]], prompt: int,
                target: int | None) -> tuple[str, str | None]:
    """(instruction, target) that lay out to exactly `prompt` and `target` tokens (target None: no target)."""
    instruction = _fill(lambda text: processor.lengths(text, conds)[0], prompt, "prompt")
    if target is None:
        return instruction, None
    return instruction, _fill(lambda text: processor.lengths(instruction, conds, text)[1], target, "target")


def sft_batch(processor: InterpreterProcessor, shape: Lengths) -> dict[str, torch.Tensor]:
    """`shape.rows` identical rows of `shape.prompt` + `shape.completion` tokens, every condition kind in each."""
    conds = conditions(processor)
    instruction, target = filled_text(processor, conds, shape.prompt, shape.completion)
    return processor([instruction] * shape.rows, [conds] * shape.rows, targets=[target] * shape.rows)


def grpo_rows(processor: InterpreterProcessor, shape: Lengths, prompts: int) -> list[dict]:
    """One step's prompt rows as the GRPO data module yields them: `prompts` text prompts of `shape.prompt` tokens."""
    instruction, _ = filled_text(processor, [], shape.prompt, None)
    return [{"id": f"prompt-{i}", "instruction": instruction, "conditions": [], "key_elements": json.dumps(KEY_ELEMENTS)}
            for i in range(prompts)]
