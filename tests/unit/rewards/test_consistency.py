"""The offline R_contra heuristic against a table of captions."""

from __future__ import annotations

import pytest

from reade.rewards.consistency import contradicts


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("A fox runs. The camera stays static, in a wide shot.", False),
        ("A fox runs; static camera. The camera makes a slow pan left.", True),
        ("The camera makes a slow pan left, then a pan right.", True),
        ("The camera makes a slow zoom in. Later it zooms out.", True),
        ("The camera makes a slow zoom in and a tilt up.", False),
        ("A beach in bright midday sun. Cool moonlight falls on the sand.", True),
        ("A street at night under cool moonlight.", False),
        ("A red truck turns, and the blue truck stops.", True),
        ("A red truck with white stripes next to a blue car.", False),
        ("A red truck turns. A blue truck waits.", False),  # two sentences may be two trucks
        ("Golden hour light over a park in soft morning light.", False),
        ("", False),
    ],
)
def test_contradicts(caption, expected):
    assert contradicts(caption) is expected
