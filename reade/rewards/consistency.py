"""R_contra for the offline judges: a documented heuristic, since they cannot read for meaning.

A caption counts as contradicting itself when it says two things from one of these groups, which a
single video cannot show at once:

- the camera both static ("static camera", "the camera stays static", "fixed camera", "locked-off")
  and moving (pan, tilt, dolly, zoom, orbit, truck, pedestal, roll followed by a direction);
- one camera motion in two opposite directions ("pan left" and "pan right", "zoom in" and "zoom out");
- daylight ("daylight", "midday", "morning", "afternoon", "sunny", "sunlit") and night ("night",
  "midnight", "moonlight", "moonlit", "starry");
- one object given two colours in the same sentence ("a red truck ... the blue truck").

It is a floor: it finds the contradictions a long sampled caption most often makes in our data and
misses any that need understanding. The LLM judges ask a yes/no rubric instead.
"""

from __future__ import annotations

import re

COLOURS = frozenset({
    "red", "blue", "green", "yellow", "white", "black", "purple", "orange", "pink", "silver", "gold", "golden",
    "brown", "grey", "gray", "blonde", "auburn",
})
_STATIC = re.compile(r"\bstatic camera\b|\bcamera (?:stays|remains|is) (?:static|still|fixed)\b|\bfixed camera\b|\blocked[- ]off\b")
_MOTIONS = {
    "pan": ("left", "right"),
    "tilt": ("up", "down"),
    "dolly": ("in", "out"),
    "zoom": ("in", "out"),
    "truck": ("left", "right"),
    "pedestal": ("up", "down"),
    "roll": ("left", "right"),
}
_MOVING = re.compile(r"\b(?:pan|pans|panning|tilt|tilts|tilting|dolly|dollies|zoom|zooms|zooming|orbit|orbits|orbiting)\b")
_DAY = re.compile(r"\b(?:daylight|daytime|midday|morning|afternoon|sunny|sunlit|noon)\b")
_NIGHT = re.compile(r"\b(?:night|nighttime|midnight|moonlight|moonlit|starry)\b")
_COLOUR_NOUN = re.compile(rf"\b({'|'.join(sorted(COLOURS, key=len, reverse=True))})\s+([a-z]+)\b")


def contradicts(text: str) -> bool:
    lowered = text.lower()
    if _STATIC.search(lowered) and _MOVING.search(lowered):
        return True
    for motion, (one, other) in _MOTIONS.items():
        if re.search(rf"\b{motion}\w* {one}\b", lowered) and re.search(rf"\b{motion}\w* {other}\b", lowered):
            return True
    if _DAY.search(lowered) and _NIGHT.search(lowered):
        return True
    return any(_two_colours(sentence) for sentence in re.split(r"[.!?\n]", lowered))


def _two_colours(sentence: str) -> bool:
    colours_of: dict[str, set[str]] = {}
    for colour, noun in _COLOUR_NOUN.findall(sentence):
        colours_of.setdefault(noun, set()).add(colour)
    return any(len(colours) > 1 for colours in colours_of.values())
