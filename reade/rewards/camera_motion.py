"""Does a camera caption name the right motions? The camera-pretraining metric, as a pure function.

The vocabulary is the describer's (`reade.camera_vocab`): eight motion kinds, each
with its two direction words, and "static" for a camera that does not move. A caption names a
motion when the kind is followed by a direction word ("a slow pan left and tilt up" names pan left
and tilt up); a kind followed by anything else ("a pan", "pan up") is a malformed mention that
matches nothing. Speed words are not scored.

A caption is right when the motions it names are exactly the gold ones: nothing missing, nothing
extra, every direction right. A static gold needs the word "static" and no motion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reade.camera_vocab import DIRECTIONS, STATIC

_MENTION = re.compile(rf"\b({'|'.join(DIRECTIONS)})\b(?:\s+([a-z]+))?")
_STATIC = re.compile(rf"\b{STATIC}\b")


def named_camera_motions(text: str) -> frozenset[str]:
    """The motions a caption names ("pan left", ...), `{"static"}` for a static camera, and
    "<kind> ?" for a kind without a valid direction."""
    lowered = text.lower()
    names = set()
    for kind, word in _MENTION.findall(lowered):
        names.add(f"{kind} {word}" if word in DIRECTIONS[kind] else f"{kind} ?")
    if _STATIC.search(lowered):
        names.add(STATIC)
    return frozenset(names)


def camera_motion_correct(text: str, gold: Iterable[str]) -> bool:
    """True when `text` names exactly the `gold` motions (the describer's `CameraDescription.names`)."""
    return named_camera_motions(text) == frozenset(gold)
