"""Which gold key elements each caption aspect owns (paper appendix E.1, Table 13; Fig. 3).

The paper scores a caption per aspect: main object, background, action, style, camera. The key
elements of Table 9 say *what* must be mentioned (objects with attributes, actions, camera, style)
but not whether an object is a subject or part of the scene; the gold six-part caption does. An
object belongs to the background when the gold background caption names it and the gold
main-object caption does not; every other object (and every object of a row without a gold
caption) belongs to the main object. U, S and Z are merged: an aspect's accuracy is about what the
caption should say, whoever asked for it.
"""

from __future__ import annotations

from reade.rewards.elements import content_words
from reade.schema import KeyElements, KeyObject, SampleKeyElements, StructuredCaption

# aspect -> the caption part that describes it; "dense" is the whole description (Fig. 3)
ASPECT_PARTS = {
    "main_object": "main_object",
    "background": "background",
    "action": "movement",
    "style": "style",
    "camera": "camera",
    "dense": "dense",
}


def merged(key_elements: SampleKeyElements) -> KeyElements:
    """U ∪ S ∪ Z, each object once with the union of its attributes, every value once, in order."""
    objects: dict[str, list[str]] = {}
    actions, camera, style = [], [], []
    for elements in (key_elements.user, key_elements.supplementary, key_elements.imaginative):
        for obj in elements.objects:
            attributes = objects.setdefault(obj.name, [])
            attributes.extend(a for a in obj.attributes if a not in attributes)
        for target, values in ((actions, elements.actions), (camera, elements.camera), (style, elements.style)):
            target.extend(v for v in values if v not in target)
    return KeyElements(
        objects=tuple(KeyObject(name, tuple(attributes)) for name, attributes in objects.items()),
        actions=tuple(actions), camera=tuple(camera), style=tuple(style),
    )


def aspect_elements(key_elements: SampleKeyElements, gold: StructuredCaption | None) -> dict[str, KeyElements]:
    """The gold elements of each aspect of `ASPECT_PARTS`; "dense" holds all of them."""
    everything = merged(key_elements)
    main, background = [], []
    for obj in everything.objects:
        (background if gold is not None and _in_background(obj.name, gold) else main).append(obj)
    return {
        "main_object": KeyElements(objects=tuple(main)),
        "background": KeyElements(objects=tuple(background)),
        "action": KeyElements(actions=everything.actions),
        "style": KeyElements(style=everything.style),
        "camera": KeyElements(camera=everything.camera),
        "dense": everything,
    }


def _in_background(name: str, gold: StructuredCaption) -> bool:
    words = content_words(name)
    return words <= content_words(gold.background) and not words <= content_words(gold.main_object)
