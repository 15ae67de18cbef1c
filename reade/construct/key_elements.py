"""Stage key_elements: the U/S/Z sets of paper D.2 (Table 9) for one row, in one teacher question.

The paper extracts key elements offline, once, so that the RL reward only has to check them against
each rollout. The teacher reads the request (the source of U), the reasoning trace, whose step 2
describes the non-textual inputs (the source of S), and the six-part caption (what Z is drawn
from), and answers Table 9's JSON, checked against `reade.schema.SampleKeyElements`: the schema the
reward assigner reads. The input is therefore an SFT-ready set, such as the output of stage cot.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from reade.clients.openai_chat import ChatEndpoint
from reade.construct.answers import parse_key_elements
from reade.construct.prompts import PROMPT_VERSION, key_elements_messages
from reade.construct.teacher import Endpoints, ask
from reade.schema import Sample


@dataclass(frozen=True)
class KeyElementsStage:
    """`retries`: re-asks of a malformed answer; sampling of the question: `temperature`, `max_tokens`."""

    name: ClassVar[str] = "key_elements"
    require: ClassVar[tuple[str, ...]] = ("think", "caption")

    retries: int = 2
    temperature: float = 0.0
    max_tokens: int = 1024

    def problem(self, sample: Sample) -> tuple[str, str] | None:
        return None  # `require` says it all

    async def row(self, sample: Sample, endpoints: Endpoints) -> dict[str, Any]:
        return await key_elements_row(sample, endpoints.teacher, self)


async def key_elements_row(sample: Sample, teacher: ChatEndpoint, stage: KeyElementsStage) -> dict[str, Any]:
    """The row with its `key_elements` replaced; raises `Rejected` when the teacher fails."""
    if sample.think is None or sample.caption is None:
        raise ValueError(f"sample {sample.id} needs think and caption to extract key elements from")
    messages = key_elements_messages(sample.instruction, sample.think, sample.caption.render())
    sampling = {"temperature": stage.temperature, "max_tokens": stage.max_tokens}
    elements = await ask(teacher, messages, parse_key_elements, step="key elements",
                         retries=stage.retries, sampling=sampling)
    meta = {**sample.meta, "construct_key_elements": {"prompt_version": PROMPT_VERSION, "teacher": teacher.model}}
    return replace(sample, key_elements=elements, meta=meta).to_dict()
