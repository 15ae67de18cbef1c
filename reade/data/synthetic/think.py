"""The four-step reasoning trace of paper section 3.1, one line per step.

Step 2 describes what each condition file really shows (the source scene), step 3 says what the
conditions contribute and where the text overrides them, step 4 names the main Z facts in the
caption's own words, so the trace never claims a detail the caption lacks.
"""

from __future__ import annotations

from reade.data.synthetic.scene import Fact, Scene, Subject, article, camera_phrase, join_words, strip_article
from reade.data.synthetic.vocab import AMBIENCES
from reade.schema import render_think

_COUNTS = {2: "two", 3: "three"}
_SHAPES = {"person": "figure", "animal": "animal", "vehicle": "vehicle", "creature": "shape"}


def think_trace(
    intent: str,
    notes: tuple[str, ...],
    target: Scene,
    source: Scene,
    references: tuple[Subject, ...],
    conditions: tuple[str, ...],
    supplied: set[Fact],
    imagined: list[Fact],
) -> str:
    steps = (intent, _understanding(source, references, conditions), _alignment(target, conditions, supplied, notes),
             _completion(target, imagined))
    return render_think(steps)


def condition_descriptions(kind: str, source: Scene, references: tuple[Subject, ...]) -> list[str]:
    """What each file of a condition kind shows, in words (one per identity image, showing
    `references`, one otherwise): the rows' `conditions[].description` and the phrases of step 2."""
    if kind == "identity":
        return [s.young_phrase if s.young else s.phrase for s in references]
    if kind == "depth":
        return [f"a near {_SHAPES[source.main.category]} {source.action} before a far background"]
    if kind == "pose":
        count = len(source.people)
        who = "one person" if count == 1 else f"{_COUNTS[count]} people, one of them"
        return [f"{who} {source.action}"]
    if kind == "camera":
        return [camera_phrase(source.camera)]
    return [AMBIENCES[source.ambience].sound]


def _understanding(source: Scene, references: tuple[Subject, ...], conditions: tuple[str, ...]) -> str:
    if not conditions:
        return "No non-textual conditions are given."
    sentences = []
    for kind in conditions:
        shown = condition_descriptions(kind, source, references)
        if kind == "identity":
            # Each reference by the label the prompt gives it, so the trace points at the image it describes.
            sentences.extend(f"Identity reference {number} shows {phrase}." for number, phrase in enumerate(shown, 1))
        elif kind == "depth":
            sentences.append(f"The depth shows {shown[0]}.")
        elif kind == "pose":
            sentences.append(f"The pose sequence shows {shown[0]}.")
        elif kind == "camera":
            motion = "stays static" if source.camera == "static" else f"is {shown[0]}"
            sentences.append(f"The camera trajectory {motion}.")
        else:
            sentences.append(f"The audio contains {shown[0]}.")
    return " ".join(sentences)


def _alignment(target: Scene, conditions: tuple[str, ...], supplied: set[Fact], notes: tuple[str, ...]) -> str:
    if not conditions:
        return "Only text is given, so it defines the whole intent."
    gains = []
    if any(f[0] in ("object", "attribute") and f[1] in {s.noun for s in target.subjects} for f in supplied):
        gains.append("the look of the subjects")
    if ("action", target.action) in supplied:
        gains.append(f"the {target.action} motion")
    if ("camera", target.camera) in supplied:
        gains.append("the static camera" if target.camera == "static" else f"the {target.camera} camera path")
    if ("object", target.ambience) in supplied:
        gains.append(f"the sound of {AMBIENCES[target.ambience].sound}")
    sentences = list(notes)
    if gains:
        sentences.append(f"The conditions supply {join_words(gains)}, consistent with the text.")
    return " ".join(sentences) or "The conditions agree with the text and add nothing it lacks."


def _completion(target: Scene, imagined: list[Fact]) -> str:
    """Names the main imagined facts in the caption's own words; minor ones (demeanour, mood, shot
    size, angle) are left to the caption to keep the trace short."""
    missing = set(imagined)
    items = []
    for subject in target.subjects:
        if {("attribute", subject.noun, a) for a in subject.attributes} & missing:
            items.append(subject.phrase)
    if ("object", target.background) in missing:
        items.append(f"{article(target.background)} setting")
    items.extend(d for d in target.details if ("attribute", target.background, strip_article(d)) in missing)
    if ("object", target.ambience) in missing:
        items.append(AMBIENCES[target.ambience].sound)
    if ("action", target.action) in missing:
        items.append(f"the {target.main.noun} {target.action}")
    if ("camera", target.camera) in missing:
        items.append(camera_phrase(target.camera))
    if ("style", target.style) in missing:
        items.append(f"{target.style} style")
    if ("style", target.lighting_key) in missing:
        items.append(target.lighting)
    return f"Missing details added: {join_words(items)}." if items else "Nothing is missing beyond the inputs."
