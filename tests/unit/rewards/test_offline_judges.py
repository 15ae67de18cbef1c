"""Lexical and embedding judges: tables of matches, and the synthetic test split as a whole."""

from __future__ import annotations

import statistics

import pytest

from reade.rewards.judges.base import CoverageQuery
from reade.rewards.judges.cache import VerdictCache
from reade.rewards.judges.embedding import conflicts, spans_of
from reade.rewards.judges.lexical import LexicalJudge
from reade.rewards.text import judged_text
from reade.rewards.probes import ASPECT_WORDS, KINDS, probes
from reade.schema import KeyElements


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


def aspect_elements(sample, aspect: str) -> KeyElements:
    sets = (sample.key_elements.user, sample.key_elements.supplementary, sample.key_elements.imaginative)
    return KeyElements(**{aspect: tuple(v for s in sets for v in getattr(s, aspect))})


@pytest.mark.slow
def test_synthetic_split_gold_beats_other_samples_and_removed_aspects(test_split, embedding_judge):
    judge = embedding_judge
    by_kind = {kind: [p for p in probes(test_split) if p.kind == kind] for kind in KINDS}

    def mean_coverage(kind, elements_of):
        queries = [CoverageQuery(elements_of(p.sample), judged_text(p.prediction, p.sample.key_elements))
                   for p in by_kind[kind]]
        return statistics.mean(judge.run(judge.coverage(queries)))

    means = {
        "R_user, gold": mean_coverage("gold", lambda s: s.key_elements.user),
        "R_user, other sample": mean_coverage("other", lambda s: s.key_elements.user),
    }
    for aspect in ASPECT_WORDS:
        means[f"{aspect} elements, gold"] = mean_coverage("gold", lambda s: aspect_elements(s, aspect))
        means[f"{aspect} elements, {aspect} removed"] = mean_coverage(f"no_{aspect}", lambda s: aspect_elements(s, aspect))
    print("\nCoverage on the synthetic test split (embedding judge, 32 samples):")
    for name, value in means.items():
        print(f"  {name:34s} {value:.3f}")
    assert means["R_user, gold"] >= 0.95
    assert means["R_user, other sample"] <= 0.4
    for aspect in ASPECT_WORDS:
        assert means[f"{aspect} elements, gold"] >= 0.95
        assert means[f"{aspect} elements, {aspect} removed"] <= 0.3


# A GRPO group: G captions of one prompt judged against the same key elements; the next step brings
# new captions of that prompt. The values are worded apart from the captions (no lexical match), so
# every verdict needs the embeddings.
GROUP_ELEMENTS = KeyElements.from_dict(
    {"objects": [{"name": "kayak", "attributes": ["teal"]}], "actions": ["paddling"], "camera": ["crane up"]}, "e"
)
GROUP_CAPTIONS = [
    "A small canoe drifts on a misty lake, while a man rows slowly.",
    "A boat glides across calm water at dawn.",
    "A woman in a red coat walks along the shore.",
]
NEXT_STEP_CAPTIONS = ["A canoe floats past tall reeds.", "The camera rises above a quiet river."]


def judge_group(judge, captions: list[str], **kwargs) -> list[float]:
    return judge.run(judge.coverage([CoverageQuery(GROUP_ELEMENTS, caption) for caption in captions], **kwargs))


@pytest.fixture
def encoded(embedding_judge, monkeypatch) -> list[list[str]]:
    """The texts of each encoder call the judge makes, from an empty memo."""
    model = embedding_judge.load()
    calls, encode = [], model.encode

    def counted(texts, **kwargs):
        calls.append(list(texts))
        return encode(texts, **kwargs)

    monkeypatch.setattr(embedding_judge, "_vectors", {})
    monkeypatch.setattr(model, "encode", counted)
    return calls


def test_embedding_judge_embeds_a_groups_key_elements_once_and_keeps_them(embedding_judge, encoded):
    phrases = {"teal kayak", "teal", "kayak", "paddling", "crane up"}  # attribute: its phrase and itself
    first = judge_group(embedding_judge, GROUP_CAPTIONS, use_cache=False)
    assert len(encoded) == 1 and phrases <= set(encoded[0])  # values and every caption's spans, one call
    assert all(len(set(texts)) == len(texts) for texts in encoded)
    assert judge_group(embedding_judge, GROUP_CAPTIONS, use_cache=False) == first
    assert len(encoded) == 1  # the same group again: nothing new to embed
    judge_group(embedding_judge, NEXT_STEP_CAPTIONS, use_cache=False)
    assert len(encoded) == 2 and not phrases & set(encoded[1])  # the next step embeds its new spans only


def test_embedding_verdicts_from_the_disk_cache_equal_fresh_ones(embedding_judge, encoded, tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_judge, "cache", VerdictCache(tmp_path / "verdicts.sqlite"))
    fresh = judge_group(embedding_judge, GROUP_CAPTIONS + NEXT_STEP_CAPTIONS)
    calls = len(encoded)
    cached = embedding_judge.stats.cached
    assert judge_group(embedding_judge, GROUP_CAPTIONS + NEXT_STEP_CAPTIONS) == fresh
    assert embedding_judge.stats.cached == cached + len(fresh) and len(encoded) == calls  # no model call on a hit
    embedding_judge.cache.close()
    monkeypatch.setattr(embedding_judge, "_vectors", {})
    assert judge_group(embedding_judge, GROUP_CAPTIONS + NEXT_STEP_CAPTIONS, use_cache=False) == fresh
