"""Random choices shared by the instruction kinds: subject/background pairs under the split rule,
subjects, whole scenes and which conditions accompany a sample."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np

from reade.camera_vocab import SCENE_MOTIONS
from reade.data.synthetic.scene import Scene, Subject
from reade.data.synthetic.vocab import (
    AMBIENCES,
    ANGLES,
    BACKGROUNDS,
    HAIR_STYLES,
    HELD_OUT_PAIRS,
    ITEM_COLOURS,
    LIGHTINGS,
    NOUNS,
    SHOTS,
    STYLES,
)
from reade.schema import CONDITION_KINDS

T = TypeVar("T")

REGULAR_NOUNS = tuple(n for n, spec in NOUNS.items() if spec.category != "creature")
CONDITION_PROBABILITY = 0.35
EXTRA_SUBJECT_WEIGHTS = (0.6, 0.3, 0.1)  # zero, one or two subjects besides the main one


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    return options[int(rng.integers(len(options)))]


def chance(rng: np.random.Generator, probability: float) -> bool:
    return bool(rng.random() < probability)


def pick_pair(rng: np.random.Generator, nouns: Iterable[str], backgrounds: Iterable[str], split: str) -> tuple[str, str]:
    """Train and val never see a held-out (main subject, background) pair; test draws only those
    (or, for a kind whose candidates include none, from the rest)."""
    nouns = set(nouns)
    pairs = [(n, b) for b in backgrounds for n in BACKGROUNDS[b].hosts if n in nouns]
    held_out = [p for p in pairs if p in HELD_OUT_PAIRS]
    seen = [p for p in pairs if p not in HELD_OUT_PAIRS]
    return pick(rng, held_out if split == "test" and held_out else seen)


def make_subject(rng: np.random.Generator, noun: str, young: str = "") -> Subject:
    """A young animal wears a collar: the one thing its small reference image can show."""
    spec = NOUNS[noun]
    colour = pick(rng, spec.colours)
    item = item_colour = hair = ""
    if spec.items:
        item = "collar" if young else pick(rng, spec.items)
        item_colour = pick(rng, [c for c in ITEM_COLOURS if c != colour])
    if spec.category == "person":
        hair = pick(rng, HAIR_STYLES)
    return Subject(noun, colour, item, item_colour, hair, pick(rng, spec.traits), young)


def extra_subjects(rng: np.random.Generator, background: str, taken: Iterable[str], count: int) -> tuple[Subject, ...]:
    free = [n for n in BACKGROUNDS[background].hosts if n in REGULAR_NOUNS and n not in set(taken)]
    order = rng.permutation(len(free))[:count]
    return tuple(make_subject(rng, free[i]) for i in order)


def extra_count(rng: np.random.Generator, minimum: int = 0, maximum: int = 2) -> int:
    count = int(rng.choice(len(EXTRA_SUBJECT_WEIGHTS), p=EXTRA_SUBJECT_WEIGHTS))
    return min(max(count, minimum), maximum)


def make_scene(
    rng: np.random.Generator,
    main: Subject,
    background: str,
    extras: int,
    *,
    details: tuple[str, str] | None = None,
    lighting: tuple[str, str] | None = None,
    ambiences: Sequence[str] | None = None,
    mood: str | None = None,
) -> Scene:
    """`lighting` is (phrase, key); reasoning contexts pass their own details, lighting, sounds and mood."""
    place = BACKGROUNDS[background]
    subjects = (main, *extra_subjects(rng, background, [main.noun], extras))
    if details is None:
        first, second = rng.permutation(len(place.details))[:2]
        details = (place.details[first], place.details[second])
    if lighting is None:
        phrase = pick(rng, LIGHTINGS)
        lighting = (phrase, phrase)
    ambience = pick(rng, ambiences or place.ambiences)
    return Scene(
        subjects=subjects,
        action=pick(rng, NOUNS[main.noun].actions),
        background=background,
        details=details,
        ambience=ambience,
        style=pick(rng, STYLES),
        lighting=lighting[0],
        lighting_key=lighting[1],
        camera=pick(rng, SCENE_MOTIONS),
        shot=pick(rng, SHOTS),
        angle=pick(rng, ANGLES),
        mood=mood or AMBIENCES[ambience].mood,
    )


def pick_conditions(rng: np.random.Generator, source: Scene, force_identity: bool = False) -> tuple[str, ...]:
    """Each kind independently, so zero-condition samples occur; pose needs a person to perform the action."""
    chosen = []
    for kind in CONDITION_KINDS:
        wanted = chance(rng, CONDITION_PROBABILITY) or (kind == "identity" and force_identity)
        if kind == "pose" and source.main.category != "person":
            wanted = False
        if wanted:
            chosen.append(kind)
    return tuple(chosen)
