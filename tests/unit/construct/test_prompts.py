"""The teacher prompts: our own wording of paper D.1/D.2 (no sentence of the paper's templates), the
output shapes the parsers expect, and the data in the user turn."""

from __future__ import annotations

import pytest

from reade.construct import prompts
from reade.construct.prompts import (
    SUPPLEMENT_SYSTEM,
    align_messages,
    intent_messages,
    key_elements_messages,
    supplement_messages,
)
from reade.schema import CAPTION_TITLES

SYSTEMS = [value for name, value in vars(prompts).items() if name.endswith("_SYSTEM")]
PAPER_PHRASES = [  # from the appendix's templates; none may appear in ours
    "You are a reasoning agent",
    "interpret the user's intent",
    "PLEASE STRICTLY FOLLOW THE OUTPUT FORMAT",
    "Output Requirements",
    "Do not include irrelevant explanations or extra commentary",
    "Identify points of alignment across modalities",
    "gold video description",
    "current available description",
    "Provide only the missing details",
]


@pytest.mark.parametrize("phrase", PAPER_PHRASES)
def test_no_prompt_copies_the_papers_wording(phrase):
    assert len(SYSTEMS) == 8
    assert all(phrase.lower() not in system.lower() for system in SYSTEMS)


def test_step_4_asks_for_the_six_parts_in_table_8_order():
    positions = [SUPPLEMENT_SYSTEM.index(f"{i}. {title}:") for i, title in enumerate(CAPTION_TITLES.values(), 1)]
    assert positions == sorted(positions) and "Missing details:" in SUPPLEMENT_SYSTEM


def test_the_data_goes_in_the_user_turn():
    assert intent_messages("A fox runs.", ["identity", "camera"])[1]["content"] == (
        "Request:\nA fox runs.\n\nOther inputs attached: identity image, camera trajectory")
    assert intent_messages("A fox runs.", [])[1]["content"].endswith("Other inputs attached: none")
    assert "Intent:\nA fox.\n\nOther inputs:\nDepth sequence: near." in align_messages("x", "A fox.", "Depth sequence: near.")[1]["content"]
    assert supplement_messages("GOLD", "NOW")[1]["content"] == "Reference description:\nGOLD\n\nUnderstood so far:\nNOW"
    assert [m["role"] for m in key_elements_messages("i", "t", "c")] == ["system", "user"]
