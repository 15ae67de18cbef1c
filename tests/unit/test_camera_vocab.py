"""The one camera-motion vocabulary: its draw order is part of the synthetic data, and its pairs are opposites."""

from __future__ import annotations

from reade.camera_vocab import DIRECTIONS, KINDS, MOTION_NAMES, OPPOSITE, SCENE_MOTIONS, STATIC


def test_the_orders_the_generators_draw_by_are_frozen():
    """Reordering either tuple would change the data every seed gives."""
    assert KINDS == ("orbit", "pan", "tilt", "roll", "dolly", "truck", "pedestal", "zoom")
    assert SCENE_MOTIONS == ("pan left", "pan right", "tilt up", "tilt down", "dolly in", "dolly out",
                             "zoom in", "zoom out", "static", "orbit")


def test_every_direction_has_its_opposite_and_every_name_is_a_kind_and_direction():
    assert all(OPPOSITE[one] == two and OPPOSITE[two] == one for one, two in DIRECTIONS.values())
    assert len(MOTION_NAMES) == 2 * len(KINDS)
    assert all(name.split()[1] in DIRECTIONS[name.split()[0]] for name in MOTION_NAMES)
    assert set(SCENE_MOTIONS) - set(MOTION_NAMES) == {STATIC, "orbit"}
