"""The camera-caption scorer: a table of captions, gold motions and verdicts."""

from __future__ import annotations

import pytest

from reade.rewards.camera_motion import camera_motion_correct, named_camera_motions

CASES = [
    # (caption, gold, right?)
    ("a slow pan left", ["pan left"], True),
    ("A Fast PAN LEFT.", ["pan left"], True),  # case and punctuation do not matter
    ("a moderate pan right", ["pan left"], False),  # wrong direction
    ("a slow tilt left", ["pan left"], False),  # wrong kind
    ("a slow pan", ["pan left"], False),  # no direction
    ("a slow pan up", ["pan up"], False),  # a direction the kind does not have is never right
    ("a slow pan left and tilt up", ["pan left", "tilt up"], True),
    ("a slow tilt up and pan left", ["pan left", "tilt up"], True),  # order does not matter
    ("a slow pan left", ["pan left", "tilt up"], False),  # one missing
    ("a slow pan left and tilt up", ["pan left"], False),  # one extra
    ("a slow pan left and a fast zoom out", ["pan left", "zoom out"], True),
    ("a slow pan left and pan right", ["pan left"], False),
    ("the camera stays static", ["static"], True),
    ("a static camera makes a slow pan left", ["static"], False),  # static and moving
    ("a slow pan left", ["static"], False),
    ("", ["static"], False),
    ("", ["pan left"], False),
    ("a slow roll clockwise", ["roll clockwise"], True),
    ("a slow roll counterclockwise", ["roll clockwise"], False),
    ("a fast roll counterclockwise", ["roll counterclockwise"], True),
    ("a slow orbit right and dolly in", ["orbit right", "dolly in"], True),
    ("a moderate truck left and pedestal down", ["truck left", "pedestal down"], True),
    ("a moderate pedestal downward", ["pedestal down"], False),  # a word that only starts like one
    ("panning left slowly", ["pan left"], False),  # only the describer's words count
    ("a slow zoom in, a slow zoom in", ["zoom in"], True),  # repeating a motion is no extra motion
]


@pytest.mark.parametrize("caption, gold, right", CASES)
def test_camera_motion_correct(caption, gold, right):
    assert camera_motion_correct(caption, gold) is right


def test_named_motions_mark_malformed_mentions():
    assert named_camera_motions("a slow pan and a zoom in") == {"pan ?", "zoom in"}
    assert named_camera_motions("the camera stays static") == {"static"}
    assert named_camera_motions("rolling hills and a panorama") == frozenset()
