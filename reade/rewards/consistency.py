"""R_contra for the offline judges: a documented heuristic, since they cannot read for meaning.

A caption counts as contradicting itself when it says two things from one of these groups, which a
single video cannot show:

- the camera both static ("static camera", "the camera stays static", "fixed camera", "locked-off")
  and moving: a kind of the camera vocabulary (`reade.camera_vocab`) followed by one of its
  directions ("truck left", "rolls clockwise"), or a word that only names a camera move ("pans",
  "zooming", "orbit"; "truck", "roll" and "pedestal" alone also name things). A static camera that
  then moves is still a contradiction: "static" claims the whole clip;
- one kind of motion in both its directions ("pan left" and "pan right", "roll clockwise" and
  "roll counterclockwise", "orbit left" and "orbit right"), unless a word of sequence ("then",
  "later", "before", "after", "followed by", "next", "finally", "back") stands between the two in
  the second one's sentence: a camera may pan left, then pan right ("It zooms in. Later it zooms
  out." too), but it cannot pan left and right at once ("pans left and right", "pans left while
  panning right"), and two parts that disagree (the dense part says "a slow tilt up", the camera
  part "a slow tilt down") contradict each other whatever "then" stands in a sentence between;
- daylight ("daylight", "midday", "morning", "afternoon", "sunny", "sunlit") and night ("night",
  "midnight", "moonlight", "moonlit", "starry");
- one object given two colours in the same sentence ("a red truck ... the blue truck").

It is a floor: it finds the contradictions a long sampled caption most often makes in our data and
misses any that need understanding. The LLM judges ask a yes/no rubric instead.
"""

from __future__ import annotations

import re

from reade.camera_vocab import DIRECTIONS

# The judges' caches key on this: a change to what counts as a contradiction changes it.
VERSION = "2"  # 2: the camera vocabulary's kinds and directions; opposite moves in sequence do not contradict
COLOURS = frozenset({
    "red", "blue", "green", "yellow", "white", "black", "purple", "orange", "pink", "silver", "gold", "golden",
    "brown", "grey", "gray", "blonde", "auburn",
})
# Kinds whose word also names a thing (a truck, a bread roll, a statue's pedestal): a move only with a direction.
_ALSO_THINGS = frozenset({"truck", "roll", "pedestal"})
_STATIC = re.compile(r"\bstatic camera\b|\bcamera (?:stays|remains|is) (?:static|still|fixed)\b|\bfixed camera\b|\blocked[- ]off\b")
# A kind's word as a verb or noun: "pan", "pans", "panning", "panned"; "dolly", "dollies", "dollying".
_FORMS = {
    kind: rf"{kind[:-1]}(?:y|ies|ied|ying)" if kind.endswith("y") else rf"{kind}(?:s|ing|ed|{kind[-1]}ing|{kind[-1]}ed)?"
    for kind in DIRECTIONS
}
_BARE_MOVE = re.compile(rf"\b(?:{'|'.join(_FORMS[k] for k in DIRECTIONS if k not in _ALSO_THINGS)})\b")
# A kind and its direction, with a second direction joined to it ("pans left and right").
_MENTIONS = {
    kind: re.compile(rf"\b{_FORMS[kind]}\s+(?:to the\s+)?({one}|{two})\b"
                     rf"(?:(\s*,?\s*(?:and|or|but|then|and then|before|after)\s+(?:to the\s+)?)({one}|{two})\b)?")
    for kind, (one, two) in DIRECTIONS.items()
}
_SEQUENCE = re.compile(r"\b(?:then|later|before|after|afterwards?|followed|next|finally|back|subsequently)\b")
_SENTENCE_END = re.compile(r"[.!?\n]")
_DAY = re.compile(r"\b(?:daylight|daytime|midday|morning|afternoon|sunny|sunlit|noon)\b")
_NIGHT = re.compile(r"\b(?:night|nighttime|midnight|moonlight|moonlit|starry)\b")
_COLOUR_NOUN = re.compile(rf"\b({'|'.join(sorted(COLOURS, key=len, reverse=True))})\s+([a-z]+)\b")


def contradicts(text: str) -> bool:
    lowered = text.lower()
    mentions = {kind: _mentions(pattern, lowered) for kind, pattern in _MENTIONS.items()}
    if _STATIC.search(lowered) and (_BARE_MOVE.search(lowered) or any(mentions.values())):
        return True
    if any(_opposite_at_once(found, lowered) for found in mentions.values()):
        return True
    if _DAY.search(lowered) and _NIGHT.search(lowered):
        return True
    return any(_two_colours(sentence) for sentence in _SENTENCE_END.split(lowered))


def _mentions(pattern: re.Pattern, text: str) -> list[tuple[int, int, str]]:
    """(start, end, direction) of each direction a kind is given, in order."""
    found = []
    for match in pattern.finditer(text):
        found.append((match.start(), match.end(1), match.group(1)))
        if match.group(3):
            found.append((match.start(3), match.end(3), match.group(3)))
    return found


def _opposite_at_once(mentions: list[tuple[int, int, str]], text: str) -> bool:
    """Whether two successive mentions of one kind name opposite directions with no word of sequence
    before the second in its own sentence: "pans left, then right" and "It zooms in. Later it zooms
    out." are sequences, but a "then" about something else in a sentence between does not link
    "a slow tilt up." in one part to "a slow tilt down" in another."""
    return any(
        first != second and not _SEQUENCE.search(_SENTENCE_END.split(text[end:start])[-1])
        for (_, end, first), (start, _, second) in zip(mentions, mentions[1:])
    )


def _two_colours(sentence: str) -> bool:
    colours_of: dict[str, set[str]] = {}
    for colour, noun in _COLOUR_NOUN.findall(sentence):
        colours_of.setdefault(noun, set()).add(colour)
    return any(len(colours) > 1 for colours in colours_of.values())
