"""Near misses never count: pairs of values that exclude each other, pairs that must still match,
checked on the rule alone and through the embedding judge's verdicts."""

from __future__ import annotations

import pytest

from reade.rewards.elements import Element
from reade.rewards.exclusive import excludes
from reade.rewards.judges.base import ElementQuery

# (element kind, value, owner, caption span): the span names another member of the value's family
MUST_NOT_MATCH = [
    ("camera", "wide shot", "", "in a medium shot"),
    ("camera", "low angle", "", "at a high angle"),
    ("camera", "eye level", "", "a low angle"),
    ("camera", "pan left", "", "the camera makes a slow pan right"),
    ("camera", "zoom in", "", "a slow dolly in"),
    ("camera", "zoom in", "", "The camera makes a slow zoom out, in a close-up shot at a low angle"),
    ("camera", "tilt down", "", "a low angle"),
    ("camera", "static", "", "a slow orbit around the dog"),
    ("style", "golden hour light", "", "soft morning light"),
    ("style", "cinematic", "", "documentary style"),
    ("style", "vintage film", "", "anime style"),
    ("style", "melancholic", "", "a peaceful mood"),
    ("attribute", "green harness", "dog", "a dog in a purple harness"),
    ("attribute", "red coat", "woman", "a woman in a red jacket"),
    ("attribute", "long blonde hair", "woman", "a woman with short blonde hair"),
    ("object", "dog", "", "a cat sits by the pond"),
    ("object", "woman", "", "a man waves"),
    ("object", "park", "", "a garden with roses"),
    ("object", "rain", "", "waves are crashing nearby"),
    ("action", "walking", "", "the dog runs across the park"),
]
MUST_MATCH = [  # the value's own member named, or a paraphrase that names no sibling
    ("camera", "wide shot", "", "in a wide shot"),
    ("camera", "pan left", "", "the camera pans left, then tilts up"),
    ("camera", "zoom in", "", "the camera zooms in slowly"),
    ("object", "dog", "", "a dog that grew from a small puppy"),
    ("object", "woman", "", "A lady waves at the camera"),
    ("object", "city street", "", "Traffic moves along an urban road"),
    ("action", "running", "", "A girl is jogging by the lake"),
    ("style", "anime", "", "Rendered in a Japanese animation style"),
    ("attribute", "grey", "dog", "a gray dog"),
]


@pytest.mark.parametrize("kind, value, owner, span", MUST_NOT_MATCH)
def test_a_sibling_excludes_the_value(kind, value, owner, span):
    assert excludes(Element(kind, value, owner).phrase, span)


@pytest.mark.parametrize("kind, value, owner, span", MUST_MATCH)
def test_the_value_itself_or_a_plain_paraphrase_is_not_excluded(kind, value, owner, span):
    assert not excludes(Element(kind, value, owner).phrase, span)


@pytest.mark.slow
def test_the_embedding_judge_finds_none_of_the_near_misses_and_the_matches(embedding_judge):
    cases = MUST_NOT_MATCH + MUST_MATCH
    queries = [ElementQuery(Element(kind, value, owner), span) for kind, value, owner, span in cases]
    verdicts = embedding_judge.run(embedding_judge.elements(queries, use_cache=False))
    assert verdicts == [0.0] * len(MUST_NOT_MATCH) + [1.0] * len(MUST_MATCH)
