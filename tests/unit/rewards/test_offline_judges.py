"""Lexical and embedding judges: tables of matches, and the synthetic test split as a whole."""

from __future__ import annotations

import statistics

import pytest

from reade.rewards.judges.base import CoverageQuery
from reade.rewards.judges.embedding import conflicts, spans_of
from reade.rewards.judges.lexical import LexicalJudge
from reade.rewards.text import judged_text
from reade.schema import CAPTION_PARTS, KeyElements, StructuredCaption, render_output


def one(kind: str, value: str, owner: str = "") -> KeyElements:
    if kind == "object":
        return KeyElements.from_dict({"objects": [{"name": value}]}, "e")
    if kind == "attribute":
        return KeyElements.from_dict({"objects": [{"name": owner, "attributes": [value]}]}, "e")
    return KeyElements.from_dict({"actions" if kind == "action" else kind: [value]}, "e")


def attribute_only(value: str, owner: str, caption: str, judge) -> float:
    """Coverage of the attribute alone: the object name is matched (or not) separately."""
    both = judge.run(judge.coverage([CoverageQuery(one("attribute", value, owner), caption)]))[0]
    name = judge.run(judge.coverage([CoverageQuery(one("object", owner), caption)]))[0]
    return 2 * both - name


LEXICAL = [
    ("object", "truck", "", "A truck turns.", 1.0),
    ("object", "city street", "", "A quiet street in a city.", 1.0),  # words in any order
    ("object", "truck", "", "A lorry turns.", 0.0),
    ("action", "running", "", "The dog runs across the park.", 1.0),  # stemming
    ("camera", "zoom in", "", "The camera makes a slow zoom in.", 1.0),
    ("style", "anime", "", "Watercolor style.", 0.0),
]


@pytest.mark.parametrize("kind, value, owner, caption, expected", LEXICAL)
def test_lexical_judge(kind, value, owner, caption, expected):
    judge = LexicalJudge()
    assert judge.run(judge.coverage([CoverageQuery(one(kind, value, owner), caption)])) == [expected]
    judge.close()


@pytest.mark.parametrize(
    "caption, expected",
    [("A silver truck turns.", 1.0), ("A silver car. A red truck.", 0.0), ("The truck. It is silver.", 0.0)],
)
def test_lexical_attribute_needs_its_object_in_the_same_sentence(caption, expected):
    judge = LexicalJudge()
    assert attribute_only("silver", "truck", caption, judge) == expected
    judge.close()


# Best span cosines measured with all-MiniLM-L6-v2 (threshold 0.5): paraphrases above, other facts below.
PARAPHRASES = [
    ("object", "woman", "", "A lady waves at the camera.", 1.0),  # 0.53 "A lady waves"
    ("object", "city street", "", "Traffic moves along an urban road.", 1.0),  # 0.70 "an urban road"
    ("action", "running", "", "A girl is jogging by the lake.", 1.0),  # 0.80 "jogging"
    ("style", "anime", "", "Rendered in a Japanese animation style.", 1.0),  # 0.61
    ("object", "woman", "", "A man waves at the camera.", 0.0),  # 0.34
    ("object", "city street", "", "Tall pines fill a forest.", 0.0),  # 0.30
    ("style", "anime", "", "A soft watercolor style.", 0.0),  # 0.17
    ("camera", "zoom in", "", "The camera zooms out slowly.", 0.0),  # 0.61, but the opposite direction
    ("attribute", "green harness", "dog", "A dog in a purple harness.", 0.5),  # the dog, not its harness
]


@pytest.mark.parametrize("kind, value, owner, caption, expected", LEXICAL + PARAPHRASES)
def test_embedding_judge(kind, value, owner, caption, expected, embedding_judge):
    verdict = embedding_judge.run(embedding_judge.coverage([CoverageQuery(one(kind, value, owner), caption)]))
    assert verdict == [expected]


@pytest.mark.parametrize(
    "phrase, span, expected",
    [("zoom in", "the camera zooms out", True), ("zoom in", "zoom in then out", False),
     ("pan left", "a pan right", True), ("silver truck", "a truck turns left", False),
     ("green harness dog", "a purple harness", True), ("green harness dog", "a green and purple harness", False),
     ("green harness dog", "a harness", False)],
)
def test_opposite_directions_and_other_colours_never_match(phrase, span, expected):
    assert conflicts(phrase, span) is expected


def test_spans_are_sentences_and_clauses():
    assert spans_of("A truck with stripes turns, while rain falls on the road. Anime style.") == [
        "A truck with stripes turns, while rain falls on the road", "A truck", "stripes turns",
        "rain falls on the road", "rain falls", "the road", "Anime style",
    ]


ASPECTS = {  # what to delete from a gold caption to remove an aspect, from the scene that made it
    "camera": lambda scene: ["slow " + scene["camera"], "static camera", scene["camera"], scene["shot"], scene["angle"]],
    "style": lambda scene: [scene["style"] + " style", scene["style"], scene["lighting"]],
}


def without_aspect(caption: StructuredCaption, aspect: str, scene: dict) -> str:
    parts = {name: getattr(caption, name) for name in CAPTION_PARTS}
    parts[aspect] = "Not described."
    text = "\n".join(parts.values())
    for words in sorted(ASPECTS[aspect](scene), key=len, reverse=True):
        text = text.replace(words, "").replace(words.capitalize(), "")
    return text


def aspect_elements(sample, aspect: str) -> KeyElements:
    sets = (sample.key_elements.user, sample.key_elements.supplementary, sample.key_elements.imaginative)
    return KeyElements(**{aspect: tuple(v for s in sets for v in getattr(s, aspect))})


@pytest.mark.slow
def test_synthetic_split_gold_beats_other_samples_and_removed_aspects(test_split, embedding_judge):
    judge = embedding_judge
    samples = [sample for sample, _ in test_split]
    gold = [judged_text(render_output(s.think, s.caption), s.key_elements) for s in samples]
    other = [gold[(i + len(gold) // 2) % len(gold)] for i in range(len(gold))]
    user = [s.key_elements.user for s in samples]
    r_gold = judge.run(judge.coverage([CoverageQuery(u, t) for u, t in zip(user, gold)]))
    r_other = judge.run(judge.coverage([CoverageQuery(u, t) for u, t in zip(user, other)]))
    means = {"gold": statistics.mean(r_gold), "other sample": statistics.mean(r_other)}
    for aspect in ASPECTS:
        kept, removed = [], []
        for (sample, row), text in zip(test_split, gold):
            elements = aspect_elements(sample, aspect)
            cut = without_aspect(sample.caption, aspect, row["meta"]["scene"])
            kept.append(CoverageQuery(elements, text))
            removed.append(CoverageQuery(elements, cut))
        means[f"{aspect} elements, gold"] = statistics.mean(judge.run(judge.coverage(kept)))
        means[f"{aspect} elements, {aspect} removed"] = statistics.mean(judge.run(judge.coverage(removed)))
    print("\nR_user on the synthetic test split (embedding judge):")
    for name, value in means.items():
        print(f"  {name:32s} {value:.3f}")
    assert means["gold"] >= 0.95
    assert means["other sample"] <= 0.4
    for aspect in ASPECTS:
        assert means[f"{aspect} elements, gold"] >= 0.95
        assert means[f"{aspect} elements, {aspect} removed"] <= 0.3
