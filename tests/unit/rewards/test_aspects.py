"""Gold key elements sorted into caption aspects, and the per-aspect metrics over a split."""

from __future__ import annotations

import math

import pytest

from reade.caption_metrics import EvalItem, aspect_texts, evaluate_items, split_metrics
from reade.rewards.aspects import aspect_elements, merged
from reade.rewards.judges.lexical import LexicalJudge
from reade.schema import SampleKeyElements, StructuredCaption, render_output

KEY_ELEMENTS = SampleKeyElements.from_dict({
    "user": {"objects": [{"name": "dog", "attributes": []}, {"name": "city street", "attributes": []}],
             "actions": [], "camera": [], "style": []},
    "supplementary": {"objects": [{"name": "dog", "attributes": ["white", "red harness"]},
                                  {"name": "girl", "attributes": ["purple coat"]}],
                      "actions": [], "camera": [], "style": []},
    "imaginative": {"objects": [{"name": "city street", "attributes": ["street lamps"]},
                                {"name": "engine", "attributes": ["humming"]}],
                    "actions": ["jumping"], "camera": ["dolly in", "low angle"], "style": ["documentary"]},
})
GOLD = StructuredCaption(
    dense="A white dog with a red harness jumps on a city street next to a girl; documentary style, slow dolly in.",
    main_object="A white dog with a red harness. Nearby: a girl in a purple coat.",
    background="A city street with street lamps, where an engine is humming nearby.",
    movement="The dog is jumping up and down.",
    style="Documentary style.",
    camera="A slow dolly in at a low angle.",
)


def test_u_s_z_merge_into_one_object_each():
    objects = {o.name: o.attributes for o in merged(KEY_ELEMENTS).objects}
    assert objects == {"dog": ("white", "red harness"), "city street": ("street lamps",),
                       "girl": ("purple coat",), "engine": ("humming",)}


@pytest.mark.parametrize("gold, main, background", [
    (GOLD, ["dog", "girl"], ["city street", "engine"]),  # the gold background caption names the scene
    (None, ["dog", "city street", "girl", "engine"], []),  # no gold caption: every object is the main object's
])
def test_objects_go_where_the_gold_caption_puts_them(gold, main, background):
    aspects = aspect_elements(KEY_ELEMENTS, gold)
    assert [o.name for o in aspects["main_object"].objects] == main
    assert [o.name for o in aspects["background"].objects] == background
    assert aspects["action"].actions == ("jumping",) and aspects["camera"].camera == ("dolly in", "low angle")
    assert aspects["style"].style == ("documentary",) and len(aspects["dense"].elements()) == 13


def test_an_unparsed_output_has_no_parts_but_keeps_its_dense_text():
    texts = aspect_texts("A dog jumps on a city street. Final Score: 1", KEY_ELEMENTS)
    assert texts["dense"] == "A dog jumps on a city street." and texts["camera"] == "" and texts["main_object"] == ""


def test_the_gold_caption_scores_full_accuracy_and_a_missing_part_scores_nothing():
    judge = LexicalJudge()
    gold = render_output("Step 1: a dog.", GOLD)
    no_camera = render_output("Step 1: a dog.", StructuredCaption(**{**GOLD.to_dict(), "camera": "Static."}))
    metrics, rows = evaluate_items(judge, [EvalItem("a", gold, KEY_ELEMENTS, GOLD), EvalItem("b", no_camera, KEY_ELEMENTS, GOLD)])
    parts = {k: v for k, v in rows[0]["found"].items() if k != "dense"}
    assert parts == {k: v for k, v in rows[0]["elements"].items() if k != "dense"}  # each gold part has its elements
    assert rows[0]["found"]["dense"] == 8  # the short gold dense caption leaves out 5 of the 13
    assert rows[1]["found"]["camera"] == 0 and rows[1]["quality"]["camera"] < rows[0]["quality"]["camera"] == 5.0
    assert metrics["acc_camera"] == 0.5 and metrics["acc_main_object"] == 1.0  # pooled: 2 of 4 camera elements
    assert metrics["format_rate"] == metrics["answer_rate"] == 1.0 and metrics["samples"] == 2


def test_pooling_weighs_elements_and_leaves_failed_verdicts_out():
    rows = [  # the third row's two camera verdicts failed: counted under nan, judged no element
        {"format_ok": True, "answer_ok": True, "elements": {"camera": 3}, "found": {"camera": 3.0}, "nan": {"camera": 0},
         "quality": {"camera": 4.0}},
        {"format_ok": False, "answer_ok": True, "elements": {"camera": 1}, "found": {"camera": 0.0}, "nan": {"camera": 0},
         "quality": {"camera": 2.0}},
        {"format_ok": False, "answer_ok": False, "elements": {"camera": 0}, "found": {"camera": 0.0}, "nan": {"camera": 2},
         "quality": {"camera": math.nan}},
    ]
    for row in rows:
        for aspect in ("main_object", "background", "action", "style", "dense"):
            row["elements"][aspect], row["found"][aspect] = 0, 0.0
    metrics = split_metrics(rows)
    assert metrics["acc_camera"] == 0.75 and metrics["quality_camera"] == 3.0 and metrics["nan_camera"] == 3
    assert math.isnan(metrics["acc_style"]) and metrics["format_rate"] == pytest.approx(1 / 3)
    assert metrics["acc_camera_ci_low"] <= 0.75 <= metrics["acc_camera_ci_high"]
    assert math.isnan(metrics["acc_style_ci_low"]) and math.isnan(metrics["acc_style_ci_high"])
