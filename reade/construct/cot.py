"""Stage cot: the four reasoning steps of paper D.1 for one row, as separate teacher questions.

1. intent: the operation (create / add / modify / remove) and the core objective of the request;
2. non-textual understanding, one description per condition: identity images and a few frames of
   depth and pose sequences go to the vision endpoint as images; a camera trajectory is named by the
   analytic describer (`reade.data.conditions.camera_motion`, no model: the paper's captioner needs
   the source video, which a trajectory file does not come with); audio goes to the audio endpoint.
   A condition whose endpoint is not configured is skipped, and the reason is recorded in
   `meta.construct.conditions`;
3. multimodal alignment, conflicts settled in favour of the text (asked only when step 2 described
   something: with text alone there is nothing to align);
4. supplementary details grounded in the gold caption, and the six-part caption of the answer.

The gold caption is `meta.gold_caption` (free text, or a rendered six-part caption) or else the
row's six-part `caption`; the output row keeps it in `meta.gold_caption`, so the output is again a
valid input. Steps 1 and 2 do not depend on each other and run at once; conditions are described at
once too.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from reade.clients.openai_chat import audio_part, image_part
from reade.construct.answers import parse_completion, parse_intent, parse_sentences
from reade.construct.prompts import (
    KIND_NAMES,
    PROMPT_VERSION,
    align_messages,
    describe_messages,
    intent_messages,
    supplement_messages,
)
from reade.construct.teacher import Endpoints, ask
from reade.data.conditions import condition_frames, read_condition
from reade.data.conditions.camera_motion import describe_camera
from reade.models.media import sample_frames
from reade.schema import Condition, Sample, render_think

NO_CONDITIONS = "No non-textual input is described, so the written request alone defines the video."
TEXT_ONLY = "There is nothing to align: the written request is the whole intent."


@dataclass(frozen=True)
class CotStage:
    """`retries`: re-asks of a malformed answer; `frames`: how many evenly spaced frames of a depth or
    pose sequence the vision endpoint sees; sampling of every question: `temperature`, `max_tokens`."""

    name: ClassVar[str] = "cot"
    require: ClassVar[tuple[str, ...]] = ()  # beyond a gold caption, which `problem` checks

    retries: int = 2
    frames: int = 4
    temperature: float = 0.0
    max_tokens: int = 1024

    def problem(self, sample: Sample) -> tuple[str, str] | None:
        """(field, message) when the row cannot be built at all."""
        if gold_caption(sample) is None:
            return "meta.gold_caption", f"sample {sample.id} has no gold caption: set meta.gold_caption or caption"
        return None

    async def row(self, sample: Sample, endpoints: Endpoints) -> dict[str, Any]:
        return await cot_row(sample, endpoints, self)


@dataclass(frozen=True)
class Understood:
    kind: str
    text: str | None  # None: skipped
    note: dict[str, str]  # {"described_by": ...} or {"skipped": reason}


def gold_caption(sample: Sample) -> str | None:
    gold = sample.meta.get("gold_caption")
    if isinstance(gold, str) and gold.strip():
        return gold.strip()
    return sample.caption.render() if sample.caption is not None else None


async def cot_row(sample: Sample, endpoints: Endpoints, stage: CotStage) -> dict[str, Any]:
    """The output row (condition paths as in `sample`); raises `Rejected` when a step fails."""
    gold = gold_caption(sample)
    if gold is None:  # the loader checks this first; a direct caller gets the same message
        raise ValueError(f"sample {sample.id} has no gold caption (meta.gold_caption or caption)")
    sampling = {"temperature": stage.temperature, "max_tokens": stage.max_tokens}
    teacher = endpoints.teacher

    intent, understood = await asyncio.gather(
        ask(teacher, intent_messages(sample.instruction, [c.kind for c in sample.conditions]), parse_intent,
            step="step 1 (intent)", retries=stage.retries, sampling=sampling),
        asyncio.gather(*(_understand(c, endpoints, stage, sampling) for c in sample.conditions)),
    )
    descriptions = _descriptions(understood)
    if descriptions:
        alignment = await ask(teacher, align_messages(sample.instruction, intent.objective, descriptions),
                              parse_sentences, step="step 3 (alignment)", retries=stage.retries, sampling=sampling)
    else:
        descriptions, alignment = NO_CONDITIONS, TEXT_ONLY
    understood_so_far = f"Intent: {intent.objective}\nAlignment with the other inputs: {alignment}"
    details, caption = await ask(teacher, supplement_messages(gold, understood_so_far), parse_completion,
                                 step="step 4 (supplementary details)", retries=stage.retries, sampling=sampling)

    steps = (intent.objective, descriptions, alignment, details)
    think = render_think(steps)
    construct = {
        "prompt_version": PROMPT_VERSION,
        "teacher": teacher.model,
        "operation": intent.operation,
        "conditions": [{"kind": u.kind, **u.note} for u in understood],
    }
    meta = {**sample.meta, "gold_caption": gold, "construct": construct}
    return Sample(sample.id, sample.instruction, sample.conditions, think, caption, sample.key_elements, meta).to_dict()


async def _understand(condition: Condition, endpoints: Endpoints, stage: CotStage, sampling: dict) -> Understood:
    kind, path = condition.kind, Path(condition.path)
    step = f"step 2 ({kind} {path.name})"
    if kind == "camera":
        motion = describe_camera(read_condition(kind, path))
        text = f"The camera makes {motion.text}." if motion.motions else f"{motion.text.capitalize()}."
        return Understood(kind, text, {"described_by": "camera_motion"})
    endpoint = endpoints.audio if kind == "audio" else endpoints.vision
    if endpoint is None:
        which = "audio" if kind == "audio" else "vision"
        return Understood(kind, None, {"skipped": f"no {which} endpoint is configured ({which}=null)"})
    if kind == "audio":
        media = [audio_part(path.read_bytes())]
    elif kind == "identity":
        media = [image_part(read_condition(kind, path))]
    else:
        frames = sample_frames(condition_frames(kind, read_condition(kind, path)), stage.frames)
        media = [image_part(frame) for frame in frames]
    text = await ask(endpoint, describe_messages(kind, media), parse_sentences,
                     step=step, retries=stage.retries, sampling=sampling)
    return Understood(kind, text, {"described_by": endpoint.model})


def _descriptions(understood: list[Understood]) -> str:
    """One sentence group per described condition, numbered where a kind occurs more than once."""
    described = [u for u in understood if u.text is not None]
    totals, seen = Counter(u.kind for u in described), Counter()
    parts = []
    for u in described:
        seen[u.kind] += 1
        label = KIND_NAMES[u.kind].capitalize() + (f" {seen[u.kind]}" if totals[u.kind] > 1 else "")
        parts.append(f"{label}: {u.text}")
    return " ".join(parts)
