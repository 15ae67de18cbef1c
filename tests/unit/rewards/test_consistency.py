"""The offline R_contra heuristic against a table of captions: moves in sequence against real
contradictions (a static camera that moves, one motion both ways at once or in two parts), for
every kind of the camera vocabulary, orbit and roll included."""

from __future__ import annotations

import pytest

from reade.rewards.consistency import contradicts


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("A fox runs. The camera stays static, in a wide shot.", False),
        ("A fox runs; static camera. The camera makes a slow pan left.", True),
        ("A static camera, then a truck left.", True),
        ("The camera stays static and rolls clockwise.", True),
        ("Fixed camera; it orbits the statue.", True),
        ("A static camera watches a red truck roll past a pedestal.", False),  # things, not moves
        ("A static camera looks at a panda and a doll.", False),
        # opposite moves in sequence: one move after the other
        ("The camera pans left, then pans right.", False),
        ("The camera makes a slow pan left, then a pan right.", False),
        ("The camera pans left, then right.", False),
        ("The camera makes a slow zoom in. Later it zooms out.", False),
        ("The camera rolls clockwise then rolls counterclockwise.", False),
        ("roll clockwise then roll counterclockwise", False),
        ("orbit left then orbit right", False),
        ("The camera trucks right after trucking left.", False),
        ("A pedestal up, followed by a pedestal down.", False),
        # opposite moves at once, or in two places that disagree
        ("The camera pans left and right at once.", True),
        ("The camera pans left while panning right.", True),
        ("The camera rolls clockwise and counterclockwise.", True),
        ("The camera orbits left and orbits right.", True),
        ("A slow tilt up over the street.\nThe camera makes a slow tilt down.", True),
        ("A slow dolly in. The dog sits, then stands.\nThe camera makes a slow dolly out.", True),
        ("The camera pans left and tilts up, then pans right.", False),
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
