"""A scene is the full set of generating parameters; captions, key elements and conditions derive from it.

Facts are the atoms of the U/S/Z split: ("object", name), ("attribute", name, value), ("action", value),
("camera", value) and ("style", value). Every fact's words appear verbatim in the gold caption.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from reade.data.synthetic.vocab import AMBIENCES, NOUNS, PLURAL_ITEMS

Fact = tuple[str, ...]


def article(phrase: str) -> str:
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def strip_article(phrase: str) -> str:
    for prefix in ("a ", "an "):
        if phrase.startswith(prefix):
            return phrase[len(prefix):]
    return phrase


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def camera_phrase(motion: str) -> str:
    """"a slow pan left" or "a static camera": how instructions and traces name a camera motion."""
    return "a static camera" if motion == "static" else f"a slow {motion}"


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True)
class Subject:
    noun: str
    colour: str  # hair, fur, paint or body colour
    item: str = ""
    item_colour: str = ""
    hair: str = ""  # people only: long, short or curly
    trait: str = ""  # imaginative demeanour the caption adds
    young: str = ""  # reasoning transformations: the form the user named

    @property
    def category(self) -> str:
        return NOUNS[self.noun].category

    @property
    def attributes(self) -> tuple[str, ...]:
        if self.category == "person":
            return (f"{self.hair} {self.colour} hair", f"{self.item_colour} {self.item}")
        if self.category == "creature":
            return (self.colour,)
        return (self.colour, f"{self.item_colour} {self.item}")

    @property
    def item_phrase(self) -> str:
        words = f"{self.item_colour} {self.item}"
        return words if self.item in PLURAL_ITEMS else article(words)

    @property
    def phrase(self) -> str:
        """"a woman with long blonde hair in a red coat": every attribute verbatim."""
        if self.category == "person":
            return f"{article(self.noun)} with {self.attributes[0]} in {self.item_phrase}"
        if self.category == "creature":
            return article(f"{self.colour} {self.noun}")
        return f"{article(f'{self.colour} {self.noun}')} with {self.item_phrase}"

    @property
    def young_phrase(self) -> str:
        """How the young form's reference looks: "a small brown puppy with a red collar", "a small seed"
        (a sunflower is always yellow, its seed is drawn brown)."""
        if self.item:
            return f"{article(f'small {self.colour} {self.young}')} with {self.item_phrase}"
        if len(NOUNS[self.noun].colours) > 1:
            return article(f"small {self.colour} {self.young}")
        return article(f"small {self.young}")

    def with_item_colour(self, colour: str) -> Subject:
        return replace(self, item_colour=colour)


@dataclass(frozen=True)
class Scene:
    subjects: tuple[Subject, ...]  # the first is the main subject, the one that performs the action
    action: str
    background: str
    details: tuple[str, str]
    ambience: str
    style: str
    lighting: str  # the phrase after "in", e.g. "soft morning light"
    lighting_key: str  # the part of it a caption must keep
    camera: str
    shot: str
    angle: str
    mood: str  # the sound's mood, or the one a reasoning context implies

    @property
    def main(self) -> Subject:
        return self.subjects[0]

    @property
    def people(self) -> tuple[Subject, ...]:
        return tuple(s for s in self.subjects if s.category == "person")

    @property
    def angle_phrase(self) -> str:
        return self.angle if self.angle == "eye level" else article(self.angle)

    def facts(self) -> list[Fact]:
        """In caption order, so key elements list objects the way the caption introduces them."""
        facts: list[Fact] = []
        for index, subject in enumerate(self.subjects):
            facts.append(("object", subject.noun))
            facts.extend(("attribute", subject.noun, a) for a in subject.attributes)
            if index == 0:
                facts.append(("attribute", subject.noun, subject.trait))
                if subject.young:
                    facts.append(("object", subject.young))
        facts.append(("object", self.background))
        facts.extend(("attribute", self.background, strip_article(d)) for d in self.details)
        facts.append(("object", self.ambience))
        facts.append(("attribute", self.ambience, AMBIENCES[self.ambience].attribute))
        facts.append(("action", self.action))
        facts.extend([("camera", self.camera), ("camera", self.shot), ("camera", self.angle)])
        facts.extend([("style", self.style), ("style", self.lighting_key), ("style", self.mood)])
        return facts

    def to_meta(self) -> dict[str, Any]:
        meta = asdict(self)
        meta["subjects"] = [{k: v for k, v in asdict(s).items() if v} for s in self.subjects]
        meta["details"] = list(self.details)
        return meta
