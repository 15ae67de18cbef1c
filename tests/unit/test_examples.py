"""The files under examples/ that the README's interpret commands read verbatim on a fresh clone."""

from __future__ import annotations

from reade.data.conditions.camera import read_camera
from reade.data.conditions.camera_motion import describe_camera
from reade.data.jsonl import REQUIRED_FIELDS, check_lines
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"


def test_the_example_camera_is_the_zoom_in_its_instruction_asks_for():
    assert describe_camera(read_camera(EXAMPLES / "cam.txt")).names == ("zoom in",)


def test_the_example_rows_are_batch_interpret_input():
    numbered, problems, rows = check_lines(EXAMPLES / "rows.jsonl", REQUIRED_FIELDS["inference"], progress=False)
    assert problems == [] and rows == len(numbered) == 2
    assert [sample.conditions[0].kind for _, sample in numbered if sample.conditions] == ["camera"]
