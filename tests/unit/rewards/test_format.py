"""Paper eq. 2 against a table of hand-checked outputs."""

from __future__ import annotations

import pytest

from reade.rewards.format import format_reward

PARTS = (
    "1. Dense caption: A fox runs.\n2. Main object caption: A red fox.\n3. Background caption: A forest.\n"
    "4. Movement caption: It runs.\n5. Style caption: Watercolor.\n6. Camera caption: Static."
)
INLINE = PARTS.replace("\n", " ")  # the six parts on one line, as the paper's Table 8 prints them
MIXED = PARTS.replace("\n4.", " 4.")
FIVE_PARTS = PARTS.rsplit("\n", 1)[0]
SWAPPED = PARTS.replace("5. Style caption", "5. Camera caption").replace("6. Camera caption", "6. Style caption")


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"<think>plan</think>\n<answer>\n{PARTS}\n</answer>", 1.0),
        (f"<think>\nStep 1.\nStep 2.\n</think><answer>{PARTS}</answer>\n", 1.0),
        (f"<think>plan</think>\n<answer>\n{INLINE}\n</answer>", 1.0),
        (f"<think>plan</think><answer>{INLINE}</answer>", 1.0),
        (f"<think>plan</think>\n<answer>\n{MIXED}\n</answer>", 1.0),  # one layout within the other
        (f"<answer>{INLINE}</answer>", 0.2),  # inline, no think block
        (f"<think>plan</think>\n<answer>\n{INLINE.rsplit(' 6.', 1)[0]}\n</answer>", 0.2),  # inline, a part missing
        (f"<answer>\n{PARTS}\n</answer>", 0.2),  # no think block
        (f"<think></think><answer>\n{PARTS}\n</answer>", 0.2),  # empty think
        (f"<think>plan</think>\n<answer>\n{FIVE_PARTS}\n</answer>", 0.2),  # a part missing
        (f"<think>plan</think>\n<answer>\n{SWAPPED}\n</answer>", 0.2),  # parts out of order
        ("<think>plan</think>\n<answer>\nA fox runs.\n</answer>", 0.2),  # free text, not six parts
        (f"<think>plan</think>\n{PARTS}", 0.2),  # no answer tags
        (f"<think>plan</think>\n<answer>\n{PARTS}\n</answer> trailing", 0.2),  # text after </answer>
        (f"<think>plan</think> between <answer>\n{PARTS}\n</answer>", 0.2),  # text between blocks
        ("A fox runs through a forest.", 0.0),
        ("", 0.0),
        (f"<think>plan <answer>{PARTS}</answer>", 0.2),  # think never closed; the answer alone holds
    ],
)
def test_format_reward(text, expected):
    assert format_reward(text) == expected
