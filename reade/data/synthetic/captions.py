"""The gold six-part caption of a scene (paper Table 8 layout), short enough for a tiny model to learn.

The dense part states every fact a reader could infer (every subject with its attributes, both
background details, the sound, style, light, mood and camera motion), so the gold caption finds
every inferable key element; the generator's free draws that only the parts carry (a demeanour,
the shot size and angle) stay out of it."""

from __future__ import annotations

from reade.data.synthetic.scene import Scene, article, capitalise, join_words
from reade.data.synthetic.vocab import ACTIONS, AMBIENCES, BACKGROUNDS
from reade.schema import StructuredCaption


def camera_clause(scene: Scene) -> str:
    if scene.camera == "static":
        return "the camera stays static"
    if scene.camera == "orbit":
        return f"the camera makes a slow orbit around the {scene.main.noun}"
    return f"the camera makes a slow {scene.camera}"


def gold_caption(scene: Scene) -> StructuredCaption:
    main, others = scene.main, scene.subjects[1:]
    place = BACKGROUNDS[scene.background]
    clause = AMBIENCES[scene.ambience].clause
    origin = f" that grew from a small {main.young}" if main.young else ""
    company = f", next to {join_words([s.phrase for s in others])}" if others else ""
    camera = "static camera" if scene.camera == "static" else f"slow {scene.camera}"
    dense = (
        f"{capitalise(main.phrase)}{origin} is {scene.action} {place.preposition} {article(scene.background)} "
        f"with {join_words(list(scene.details))}{company}, while {clause}; {scene.style} style, {scene.lighting}, {article(scene.mood)} mood, {camera}."
    )
    main_object = f"{capitalise(main.phrase)}, looking {main.trait}."
    if main.young:
        main_object += f" It grew from a small {main.young}."
    if others:
        main_object += f" Nearby: {join_words([s.phrase for s in others])}."
    movement = f"The {main.noun} is {scene.action} {ACTIONS[scene.action].detail}."
    if others:
        bystanders = capitalise(join_words([f"the {s.noun}" for s in others]))
        movement += f" {bystanders} {'stay' if len(others) > 1 else 'stays'} nearby."
    return StructuredCaption(
        dense=dense,
        main_object=main_object,
        background=f"{capitalise(article(scene.background))} with {join_words(list(scene.details))}, where {clause}.",
        movement=movement,
        style=f"{capitalise(scene.style)} style with {scene.lighting} and a {scene.mood} mood.",
        camera=f"{capitalise(camera_clause(scene))}, in a {scene.shot} at {scene.angle_phrase}.",
    )
