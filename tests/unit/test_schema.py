"""The data contract: round trips, the strict parser against a table of outputs, field-named errors."""

import pytest

from reade.schema import (
    CAPTION_PARTS,
    KeyElements,
    Sample,
    SampleKeyElements,
    SchemaError,
    StructuredCaption,
    parse_output,
    render_output,
)

CAPTION = StructuredCaption(
    dense="A red fox trots across a snowy field at dawn.",
    main_object="A small red fox with a bushy tail.",
    background="A wide snowy field under a pale sky.",
    movement="The fox trots from left to right.",
    style="Cinematic and calm.",
    camera="The camera pans left slowly.",
)
KE = {"objects": [{"name": "fox", "attributes": ["red"]}], "actions": ["trots"], "camera": ["pans left"], "style": []}
ROW = {
    "id": "s-1",
    "instruction": "Fox, snow, pan left",
    "conditions": [{"kind": "identity", "path": "assets/s-1/id0.png"}],
    "think": "Step 1: a fox. Step 2: none. Step 3: aligned. Step 4: dawn light.",
    "caption": CAPTION.to_dict(),
    "key_elements": {"user": KE, "supplementary": KE, "imaginative": KE},
}
GOOD = render_output("Step 1 ... Step 4 ...", CAPTION)


def test_sample_round_trip():
    sample = Sample.from_dict(ROW)
    assert Sample.from_dict(sample.to_dict()) == sample
    assert sample.target() == render_output(ROW["think"], CAPTION)


def test_render_numbers_parts_in_table8_order():
    lines = CAPTION.render().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "1. Dense caption", "2. Main object caption", "3. Background caption",
        "4. Movement caption", "5. Style caption", "6. Camera caption",
    ]


def test_parse_recovers_rendered_output():
    parsed = parse_output(GOOD)
    assert parsed.ok and parsed.caption == CAPTION and parsed.think == "Step 1 ... Step 4 ..."


def _swap(text, a, b):
    return text.replace(a, "\0").replace(b, a).replace("\0", b)


@pytest.mark.parametrize(
    "text, think_ok, answer_ok",
    [
        (GOOD, True, True),
        ("  \n" + GOOD + "\n", True, True),
        (GOOD.replace("<think>\nStep 1 ... Step 4 ...\n</think>", "<think> </think>"), False, True),
        (GOOD.split("<answer>")[0], True, False),
        (GOOD.replace("</answer>", ""), True, False),
        (GOOD + " trailing words", True, False),
        (GOOD.replace("</think>\n", "</think>\nchatter\n"), True, False),
        (GOOD.replace("6. Camera caption: The camera pans left slowly.\n", ""), True, False),
        (GOOD.replace("5. Style caption", "5. Mood caption"), True, False),
        (_swap(GOOD, "2. Main object caption", "3. Background caption"), True, False),
        (GOOD.replace("Cinematic and calm.", ""), True, False),
        ("<answer>\n" + CAPTION.render() + "\n</answer>", False, True),
        ("no tags at all", False, False),
        ("", False, False),
    ],
)
def test_parse_table(text, think_ok, answer_ok):
    parsed = parse_output(text)
    assert (parsed.think_ok, parsed.answer_ok) == (think_ok, answer_ok), parsed.errors


# The paper's Table 8 gold caption as the paper prints it: the six parts inline, on one line.
PAPER_TABLE8 = (
    "1. Dense caption: A woman is seated at a desk in a minimalistic room, working on a laptop. She is wearing a "
    "grey camouflage-patterned shirt and has long blonde hair. 2. Main object caption: A young woman with long, "
    "straight blonde hair, light-colored eyes, and a fair complexion is seated at a white desk. 3. Background "
    "caption: The background is a plain, light-colored wall, creating a minimalist and clean setting. "
    "4. Movement caption: A woman in a gray coat sat in front of the computer, talking, and then the woman left "
    "the camera. 5. Style caption: Clean, minimalist, and professional. 6. Camera caption: The camera is fixed."
)


def test_the_papers_inline_layout_parses_as_one_part_per_line_does():
    inline = parse_output(f"<think>plan</think>\n<answer>\n{PAPER_TABLE8}\n</answer>")
    assert inline.ok, inline.errors
    assert inline.caption.style == "Clean, minimalist, and professional."
    assert inline.caption.background.startswith("The background is a plain")
    assert inline.caption.camera == "The camera is fixed."
    one_line = "<think>plan</think><answer>" + " ".join(CAPTION.render().splitlines()) + "</answer>"
    assert parse_output(one_line).caption == CAPTION


@pytest.mark.parametrize(
    "answer, error",
    [
        (" ".join(CAPTION.render().splitlines()).replace("6. Camera caption: The camera pans left slowly.", ""),
         "answer misses ['Camera caption']"),
        (" ".join(CAPTION.render().replace("2. Main object caption", "2. Background caption").splitlines()),
         "answer part 2 is titled 'Background caption'"),
        ("1. Dense caption: " + " ".join(CAPTION.render().splitlines()), "out of order or repeated"),
    ],
)
def test_the_inline_layout_is_as_strict_as_one_part_per_line(answer, error):
    parsed = parse_output(f"<think>plan</think><answer>{answer}</answer>")
    assert not parsed.answer_ok and any(error in e for e in parsed.errors), parsed.errors


def test_a_number_inside_a_part_does_not_open_a_part():
    text = GOOD.replace("A wide snowy field", "Row 2. Background trees and a wide snowy field")
    assert parse_output(text).caption.background == "Row 2. Background trees and a wide snowy field under a pale sky."


def test_part_continuation_lines_are_joined():
    text = GOOD.replace("A wide snowy field", "A wide\nsnowy field")
    assert parse_output(text).caption.background == CAPTION.background


@pytest.mark.parametrize(
    "change, field",
    [
        ({"instruction": "  "}, "instruction"),
        ({"id": 7}, "id"),
        ({"conditions": [{"kind": "lidar", "path": "x"}]}, "conditions[0].kind"),
        ({"conditions": [{"kind": "depth", "path": ""}]}, "conditions[0].path"),
        ({"conditions": {"kind": "depth"}}, "conditions"),
        ({"conditions": [{"kind": "depth", "path": "d.npz", "description": " "}]}, "conditions[0].description"),
        ({"conditions": [{"kind": "depth", "path": "d.npz", "description": 3}]}, "conditions[0].description"),
        ({"think": "<think>nested</think>"}, "think"),
        ({"caption": {**CAPTION.to_dict(), "style": ""}}, "caption.style"),
        ({"caption": {**CAPTION.to_dict(), "mood": "x"}}, "caption"),
        ({"key_elements": {"user": KE}}, "key_elements"),
        ({"key_elements": {"user": {**KE, "actions": [""]}, "supplementary": KE, "imaginative": KE}}, "key_elements.user.actions[0]"),
        ({"colour": "red"}, "row"),
    ],
)
def test_bad_rows_name_their_field(change, field):
    with pytest.raises(SchemaError) as error:
        Sample.from_dict({**ROW, **change})
    assert error.value.field == field


def test_a_condition_description_round_trips_and_is_optional():
    described = {**ROW, "conditions": [{"kind": "identity", "path": "id0.png", "description": "a white dog"}]}
    sample = Sample.from_dict(described)
    assert sample.conditions[0].description == "a white dog"
    assert sample.to_dict()["conditions"] == described["conditions"]
    assert Sample.from_dict(ROW).to_dict()["conditions"] == ROW["conditions"]  # no key when not given


def test_target_needs_think_and_caption():
    sample = Sample.from_dict({"id": "s-2", "instruction": "A cat"})
    with pytest.raises(SchemaError, match="think"):
        sample.target()


def test_key_elements_flatten_for_the_judge():
    ke = KeyElements.from_dict(KE, "user")
    assert ke.elements() == ["fox", "fox: red", "trots", "pans left"]
    assert SampleKeyElements.from_dict(ROW["key_elements"]).to_dict() == ROW["key_elements"]


def test_caption_parts_are_six():
    assert len(CAPTION_PARTS) == 6


# --- provenance of the key elements ----------------------------------------------------------------

PROVENANCE = {"fox": "text", "fox: red": "condition:identity", "trots": "derived", "pans left": "free"}


def with_provenance(provenance, conditions=ROW["conditions"]):
    return {**ROW, "conditions": conditions, "key_elements": {**ROW["key_elements"], "provenance": provenance}}


def test_provenance_round_trips_and_is_optional():
    sample = Sample.from_dict(with_provenance(PROVENANCE))
    assert sample.key_elements.provenance == PROVENANCE
    assert Sample.from_dict(sample.to_dict()) == sample
    assert Sample.from_dict(ROW).key_elements.provenance is None  # real data without it
    assert sample.key_elements.element_keys() == ["fox", "fox: red", "trots", "pans left"]


@pytest.mark.parametrize("provenance, message", [
    ({**PROVENANCE, "fox": "guessed"}, r"'fox': 'guessed' is not one of"),
    ({k: v for k, v in PROVENANCE.items() if k != "trots"}, r"has no source for \['trots'\]"),
    ({**PROVENANCE, "wolf": "text"}, r"names no key element: \['wolf'\]"),
    ({**PROVENANCE, "fox": "condition:smell"}, "is not one of"),
    (["text"], "expected an object"),
])
def test_provenance_faults_name_the_element(provenance, message):
    with pytest.raises(SchemaError, match=message) as error:
        Sample.from_dict(with_provenance(provenance))
    assert error.value.field == "key_elements.provenance"


def test_a_condition_source_needs_that_condition_in_the_row():
    with pytest.raises(SchemaError, match="condition kinds the row does not carry: {'fox: red': 'condition:identity'}"):
        Sample.from_dict(with_provenance(PROVENANCE, conditions=[]))
