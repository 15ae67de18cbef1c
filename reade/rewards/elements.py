"""Key elements as the offline judges match them: one entry per value of a U/S/Z set.

`KeyElements.elements()` flattens a set into the strings an LLM judge counts; the offline judges need
to know which value is an attribute of which object, so that "silver" counts only next to "truck".
The order here is the order of `elements()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reade.schema import KeyElements, attribute_key

# "in" is not a stop word: it is the direction of "zoom in" and "dolly in".
STOPWORDS = frozenset(
    "a an the of with on at and or is are be to from its it by for as onto this that very some".split()
)


@dataclass(frozen=True)
class Element:
    kind: str  # object | attribute | action | camera | style
    text: str  # the value itself
    owner: str = ""  # for an attribute: the object it belongs to

    @property
    def key(self) -> str:
        """The element as `KeyElements.elements()` writes it: the key of a provenance map."""
        return attribute_key(self.owner, self.text) if self.kind == "attribute" else self.text

    @property
    def phrase(self) -> str:
        """The value as a caption would say it: "silver truck", not "truck: silver"."""
        return f"{self.text} {self.owner}" if self.kind == "attribute" else self.text


def element_list(elements: KeyElements) -> list[Element]:
    flat = []
    for obj in elements.objects:
        flat.append(Element("object", obj.name))
        flat.extend(Element("attribute", attribute, obj.name) for attribute in obj.attributes)
    flat += [Element("action", a) for a in elements.actions]
    flat += [Element("camera", c) for c in elements.camera]
    flat += [Element("style", s) for s in elements.style]
    return flat


def content_words(text: str) -> set[str]:
    """Lower-cased, stop words dropped, plural and -ing/-ed endings cut, so "running" meets "runs"."""
    return set(content_tokens(text))


def content_tokens(text: str) -> list[str]:
    """`content_words` in text order, repeats kept."""
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]


def stem(word: str) -> str:
    """A few suffix rules, enough for caption vocabulary; both sides of a match go through it."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us")) and len(word) > 3:
        word = word[:-1]
    else:
        for suffix in ("ing", "ed"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                if word[-1] == word[-2] and word[-1] not in "ls":
                    word = word[:-1]
                break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word
