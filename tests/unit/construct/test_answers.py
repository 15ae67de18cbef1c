"""Every teacher answer is checked: a table of good and malformed answers per parser."""

from __future__ import annotations

import pytest

from reade.construct.answers import (
    MAX_SENTENCES_CHARS,
    AnswerError,
    parse_completion,
    parse_intent,
    parse_key_elements,
    parse_sentences,
)
from tests.construct_teacher import KEY_ELEMENTS, completion


@pytest.mark.parametrize(
    "answer, operation, objective",
    [
        ("Operation: create\nObjective: A new video of a fox.", "create", "A new video of a fox."),
        ("<think>hmm</think>\nOperation: **Modify**\nObjective: Make the car red.\nKeep the road.", "modify",
         "Make the car red. Keep the road."),
        ("operation: remove.\nobjective:   Take the dog out.", "remove", "Take the dog out."),
    ],
)
def test_an_intent_gives_its_operation_and_objective(answer, operation, objective):
    intent = parse_intent(answer)
    assert (intent.operation, intent.objective) == (operation, objective)


@pytest.mark.parametrize(
    "answer, problem",
    [
        ("Operation: create", "two lines"),
        ("Operation: generate\nObjective: A fox.", "first line"),
        ("The user wants a fox.\nObjective: A fox.", "first line"),
        ("Operation: add\nGoal: A fox.", "Objective"),
        ("Operation: add\nObjective:   ", "empty"),
    ],
)
def test_a_malformed_intent_says_what_is_wrong(answer, problem):
    with pytest.raises(AnswerError, match=problem):
        parse_intent(answer)


def test_sentences_become_one_line_and_a_reasoning_block_is_dropped():
    assert parse_sentences("<think>let me see</think>\n A fox\n runs.  ") == "A fox runs."


@pytest.mark.parametrize(
    "answer, problem",
    [
        ("   ", "empty"),
        ("<think>only thinking</think>", "empty"),
        ("A fox </think> runs.", "tag </think>"),
        ("A fox <answer> runs.", "tag <answer>"),
        ("word " * MAX_SENTENCES_CHARS, "more than"),
    ],
)
def test_unusable_sentences_are_refused(answer, problem):
    with pytest.raises(AnswerError, match=problem):
        parse_sentences(answer)


def test_a_completion_gives_the_details_and_the_six_part_caption():
    details, caption = parse_completion(completion("Warm light.\nA quiet street."))
    assert details == "Warm light. A quiet street."
    assert caption.dense == "The dense part." and caption.camera == "The camera part."


@pytest.mark.parametrize(
    "answer, problem",
    [
        ("Missing details: warm light.", "1. Dense caption"),
        (completion().replace("Missing details: The scene is lit by warm evening light.", ""), "Missing details"),
        (completion().replace("6. Camera caption", "6. Lens caption"), "expected 'Camera caption'"),
        (completion().replace("\n6. Camera caption: The camera part.", ""), "misses"),
        (completion().replace("3. Background caption: The background part.", "3. Background caption:"), "empty"),
        (completion() + "\nThat is all.", None),  # trailing prose joins part 6: accepted, as the format reward does
    ],
)
def test_a_malformed_completion_says_what_is_wrong(answer, problem):
    if problem is None:
        assert parse_completion(answer)[1].camera == "The camera part. That is all."
        return
    with pytest.raises(AnswerError, match=problem):
        parse_completion(answer)


def test_key_elements_are_read_with_or_without_a_fence():
    elements = parse_key_elements(KEY_ELEMENTS)
    assert elements.user.objects[0].name == "fox" and elements.supplementary.camera == ("zoom in",)
    assert parse_key_elements(f"```json\n{KEY_ELEMENTS}\n```") == elements


@pytest.mark.parametrize(
    "answer, problem",
    [
        ("{'user': {}}", "not JSON"),
        ('{"user": {}, "supplementary": {}}', "missing \\['imaginative'\\]"),
        (KEY_ELEMENTS.replace('"runs"', "3"), r"key_elements.user.actions\[0\]"),
        (KEY_ELEMENTS.replace('"objects": [{"name": "fox", "attributes": ["red"]}], "actions": ["runs"]',
                              '"objects": [], "actions": []'), "user is empty"),
        (KEY_ELEMENTS.replace('"camera": [], "style": []}, "supp', '"camera": [], "style": [], "mood": []}, "supp'),
         "unknown keys"),
    ],
)
def test_malformed_key_elements_name_the_field(answer, problem):
    with pytest.raises(AnswerError, match=problem):
        parse_key_elements(answer)
