"""Values that exclude one another: a caption that names a sibling has not found the element.

Sentence embeddings put a value close to its siblings: of the 20 near misses in
tests/unit/rewards/test_exclusive.py, 10 reach a cosine of 0.53-0.85 with their best span, above the
embedding judge's threshold of 0.5 ("a high angle" for "low angle", "a slow zoom out" for "zoom in").
Without this rule one fixed caption for every test row scored 65.5 % on camera
(experiments/judge_reliability/README.md). Each family below lists values of which a caption names one for one slot of the
video: the camera's (shot size, angle, motion and direction), the look's (light, style, mood),
colours, hair, garments and accessories, actions, and the things in the scene (people, animals,
vehicles, places) and the sounds. A family is one exclusive set: "a low angle" is no more a "tilt down"
than "a high angle" is.

A text names a member when the member's core words (content words as
`reade.rewards.elements.content_tokens` stems them, the family's generic words such as "shot" or
"light" left out) occur in it one after the other. A span conflicts with an element when the element
names a member of a family and the span names another member of that family without naming one of
the element's own.

The members come from the synthetic world's vocabulary (`reade.data.synthetic.vocab`) and the
camera vocabulary (`reade.camera_vocab`: the scene generator's motions and every motion the
describer names), so they never drift apart, plus the common values a real caption uses for the
same slot.
"""

from __future__ import annotations

from functools import lru_cache

from reade.camera_vocab import MOTION_NAMES, SCENE_MOTIONS
from reade.data.synthetic.vocab import (
    ACTIONS,
    AMBIENCES,
    ANGLES,
    BACKGROUNDS,
    HAIR_STYLES,
    LIGHTINGS,
    MOODS,
    NOUNS,
    SHOTS,
    STYLES,
    TRANSFORMATIONS,
)
from reade.rewards.consistency import COLOURS
from reade.rewards.elements import content_tokens

Core = tuple[str, ...]

# family -> (member phrases, words that name the slot rather than a member)
FAMILIES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "camera": ((*SHOTS, "extreme close-up shot", "long shot", "full shot",
                *ANGLES, "bird's-eye view", "overhead", "dutch angle", "worm's-eye view",
                *SCENE_MOTIONS, *MOTION_NAMES, "crane up", "crane down", "handheld"),
               frozenset({"shot", "angle", "view", "camera", "slow"})),
    "look": ((*LIGHTINGS, "night", "sunset", "sunrise", "candlelight", "neon light", "studio light",
              *STYLES, "oil painting", "cartoon", "3d render", "pixel art", "black-and-white", "claymation", "noir",
              *MOODS),
             frozenset({"light", "sun", "glow", "daylight", "style", "film", "mood"})),
    # one spelling of each colour: "grey" and "gray" are one member, named by neither alone
    "colour": (tuple(sorted(COLOURS - {"gray", "gold"})), frozenset()),
    "hair": (HAIR_STYLES, frozenset({"hair"})),
    "garment": (tuple(dict.fromkeys(item for spec in NOUNS.values() for item in spec.items)) + ("dress", "shirt"),
                frozenset()),
    "action": (tuple(ACTIONS), frozenset()),
    "thing": ((*NOUNS, *(t.young for t in TRANSFORMATIONS), *BACKGROUNDS), frozenset()),
    # apart from the things: "waves" is also what a person does ("a lady waves")
    "sound": (tuple(AMBIENCES), frozenset()),
}


@lru_cache(maxsize=1)
def _cores() -> tuple[tuple[Core, ...], ...]:
    """Each family's members as core token sequences; a member with no core word left is dropped."""
    families = []
    for members, generic in FAMILIES.values():
        generic_words = set(content_tokens(" ".join(generic)))
        cores = {tuple(t for t in content_tokens(member) if t not in generic_words) for member in members}
        families.append(tuple(core for core in cores if core))
    return tuple(families)


@lru_cache(maxsize=65536)  # the same spans and values are checked against each other many times
def named_members(text: str) -> tuple[frozenset[Core], ...]:
    """For each family, the members whose core words occur in `text` one after the other."""
    tokens = content_tokens(text)
    return tuple(frozenset(core for core in cores if _contains(tokens, core)) for cores in _cores())


def excludes(element_phrase: str, span: str) -> bool:
    """True when the span names another member of a family the element names, and not the element's own."""
    return any(own and others and not own & others
               for own, others in zip(named_members(element_phrase), named_members(span)))


def _contains(tokens: list[str], core: Core) -> bool:
    width = len(core)
    return any(tuple(tokens[i : i + width]) == core for i in range(len(tokens) - width + 1))
