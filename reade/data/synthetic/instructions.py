"""The four instruction kinds (paper Fig. 1 and 5): plain, ambiguous, edit and reasoning.

Each builder samples the target scene, the scene its conditions depict (different only for edits),
the conditions, the instruction text, the facts the text states (U), the step-1 sentence of the
trace and any step-3 conflict notes. For reasoning instructions U holds what the text requires
once inferred (the frog a tadpole becomes, the dog a riddle names); details a context merely
implies (steam on a winter morning) are left to Z. `derived` names the facts a reader reaches only by
the reasoning the instruction asks for: their provenance is "derived", not "text" or "free".

Every reasoning instruction takes more than one hop, and step 1 of the trace writes out the
intermediate one:
- transformation: the young form → what it grows into → its colours, from the young form's reference;
- riddle: the riddle → the thing it names → its look, from the one of two references that shows it;
- context: a time and place → its details, light and mood;
- match: an edit whose effect follows from a condition (a coat takes the colour another
  subject's reference shows).
The test split adds `riddle_in_context` (HELD_OUT_REASONING): a riddle's hops and a context's in
one instruction, which training shows only apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from reade.data.synthetic.sampling import (
    REGULAR_NOUNS,
    chance,
    extra_count,
    extra_subjects,
    make_scene,
    make_subject,
    pick,
    pick_conditions,
    pick_pair,
)
from reade.data.synthetic.scene import (
    Fact,
    Scene,
    Subject,
    article,
    camera_phrase,
    capitalise,
    join_words,
    strip_article,
)
from reade.data.synthetic.vocab import (
    ACTIONS,
    BACKGROUNDS,
    COLOURS,
    CONTEXTS,
    Context,
    ITEM_COLOURS,
    NOUNS,
    RIDDLES,
    TRANSFORMATIONS,
)

INSTRUCTION_KINDS = ("plain", "ambiguous", "edit", "reasoning")
KIND_WEIGHTS = (0.18, 0.25, 0.15, 0.42)
EDIT_OPS = ("action", "attribute", "background", "add", "remove")
REASONING_KINDS = ("transformation", "context", "riddle", "match")
# Only the test split: hops that training shows only apart (a riddle's, a context's) in one instruction.
HELD_OUT_REASONING = ("riddle_in_context",)
# Colours an item can take from another subject: not the hair-only words ("a blonde coat").
MATCHABLE_COLOURS = frozenset(COLOURS) - {"blonde", "auburn"}
DONOR_PARTS = {"person": "the {}'s hair", "animal": "the {}'s fur", "vehicle": "the {}'s paint", "creature": "the {}"}


@dataclass(frozen=True)
class Built:
    target: Scene
    source: Scene  # what the condition files depict
    conditions: tuple[str, ...]
    text: str
    stated: frozenset[Fact]
    intent: str  # step 1 of the trace
    notes: tuple[str, ...] = ()  # step 3 conflict notes
    detail: dict[str, Any] = field(default_factory=dict)
    derived: frozenset[Fact] = frozenset()
    shown: tuple[Subject, ...] = ()  # the identity images' subjects, when not the source's

    @property
    def references(self) -> tuple[Subject, ...]:
        """The subjects the identity images show, in order: the source scene's, unless a riddle's
        references add a distractor."""
        return self.shown or self.source.subjects


def build(rng: np.random.Generator, split: str) -> tuple[str, Built]:
    kind = INSTRUCTION_KINDS[int(rng.choice(len(INSTRUCTION_KINDS), p=KIND_WEIGHTS))]
    return kind, _BUILDERS[kind](rng, split)


def _plain(rng: np.random.Generator, split: str) -> Built:
    noun, background = pick_pair(rng, REGULAR_NOUNS, BACKGROUNDS, split)
    scene = make_scene(rng, make_subject(rng, noun), background, extra_count(rng))
    conditions = pick_conditions(rng, scene)
    stated: set[Fact] = {("object", noun), ("object", background)}
    others = scene.subjects[1:]
    if "identity" in conditions and chance(rng, 0.5):
        who = f"the {noun} from the reference image"
        company = f", next to the {join_words([s.noun for s in others])} from the references" if others else ""
        stated |= {("object", s.noun) for s in others}
    else:
        who = scene.main.phrase
        company = f", next to {join_words([s.phrase for s in others])}" if others else ""
        for subject in scene.subjects:
            stated |= {("object", subject.noun), *(("attribute", subject.noun, a) for a in subject.attributes)}
    video_kinds = [k for k in ("pose", "depth") if k in conditions]
    if video_kinds and chance(rng, 0.5):
        doing = f"moves as the {video_kinds[0]} sequence shows"
    else:
        doing = f"is {scene.action}"
        stated.add(("action", scene.action))
    place = f"{BACKGROUNDS[background].preposition} {article(background)}"
    if chance(rng, 0.3):
        place += f" with {scene.details[0]}"
        stated.add(("attribute", background, strip_article(scene.details[0])))
    extras = []
    if chance(rng, 0.25):
        extras.append(f"in {scene.lighting}")
        stated.add(("style", scene.lighting_key))
    if chance(rng, 0.5):
        extras.append(f"in {article(scene.style)} style")
        stated.add(("style", scene.style))
    if chance(rng, 0.2 if "camera" in conditions else 0.5):
        extras.append(f"with {camera_phrase(scene.camera)}")
        stated.add(("camera", scene.camera))
    text = f"{capitalise(who)} {doing} {place}{company}" + "".join(f", {e}" for e in extras) + "."
    action = f" {scene.action}" if ("action", scene.action) in stated else ""
    company = f", with {join_words([article(s.noun) for s in others])}" if others else ""
    intent = (f"The user wants a new video of {article(noun)}{action} {BACKGROUNDS[background].preposition} "
              f"{article(background)}{company}" + "".join(f", {e}" for e in extras) + ".")
    return Built(scene, scene, conditions, text, frozenset(stated), intent)


def _ambiguous(rng: np.random.Generator, split: str) -> Built:
    noun, background = pick_pair(rng, REGULAR_NOUNS, BACKGROUNDS, split)
    scene = make_scene(rng, make_subject(rng, noun), background, extra_count(rng))
    conditions = pick_conditions(rng, scene)
    motion = "static camera" if scene.camera == "static" else scene.camera
    fragments = {
        "subject": (f"{noun} {scene.action}", f"{article(noun)} {scene.action}",
                    {("object", noun), ("action", scene.action)}),
        "background": (background, f"the {background} setting", {("object", background)}),
        "camera": (motion, article(motion), {("camera", scene.camera)}),
        "style": (scene.style, f"{scene.style} style", {("style", scene.style)}),
    }
    names = list(fragments)
    chosen = [names[i] for i in rng.permutation(len(names))[: 2 + int(chance(rng, 0.4))]]
    if "subject" not in chosen and "background" not in chosen:
        chosen[0] = pick(rng, ["subject", "background"])
    text = capitalise(", ".join(fragments[n][0] for n in chosen))
    stated = frozenset().union(*(fragments[n][2] for n in chosen))
    intent = (f"The short request for a new video only names "
              f"{join_words([fragments[n][1] for n in chosen])}, so everything else must be inferred.")
    return Built(scene, scene, conditions, text, stated, intent)


def _edit(rng: np.random.Generator, split: str) -> Built:
    op = pick(rng, EDIT_OPS)
    noun, background = pick_pair(rng, REGULAR_NOUNS, BACKGROUNDS, split)
    main = make_subject(rng, noun)
    target = make_scene(rng, main, background, extra_count(rng, minimum=1 if op == "add" else 0,
                                                            maximum=1 if op == "remove" else 2))
    stated: set[Fact] = {("object", noun)}
    notes: list[str] = []
    if op == "action":
        old = pick(rng, [a for a in NOUNS[noun].actions if a != target.action])
        source = replace(target, action=old)
        text = f"Make the {noun} in the reference {ACTIONS[target.action].verb} instead of {ACTIONS[old].verb}."
        intent = f"The user wants to edit the reference: the {noun} should be {target.action} instead of {old}."
        stated.add(("action", target.action))
    elif op == "attribute":
        old = pick(rng, [c for c in ITEM_COLOURS if c not in (main.item_colour, main.colour)])
        before = main.with_item_colour(old)
        source = replace(target, subjects=(before, *target.subjects[1:]))
        if main.category == "animal":
            text = f"Give the {noun} in the reference {article(f'{main.item_colour} {main.item}')} instead of the {old} one."
        else:
            text = f"Make the {noun}'s {main.item} {main.item_colour} instead of {old}."
        intent = (f"The user wants to edit the reference: the {noun}'s {main.item} becomes "
                  f"{main.item_colour} instead of {old}.")
        stated.add(("attribute", noun, f"{main.item_colour} {main.item}"))
        notes.append(f"The reference shows {before.item_phrase} while the text asks for {main.item_phrase}; "
                     f"the text takes priority.")
    elif op == "background":
        old = pick(rng, [b for b, place in BACKGROUNDS.items() if noun in place.hosts and b != background])
        source = replace(target, background=old)
        new_place = f"{BACKGROUNDS[background].preposition} {article(background)}"
        old_place = f"{BACKGROUNDS[old].preposition} {article(old)}"
        text = f"Put the {noun} from the reference {new_place} instead of {old_place}."
        intent = f"The user wants to edit the reference: the {noun} moves {new_place} instead of {old_place}."
        stated.add(("object", background))
    elif op == "add":
        added = target.subjects[-1]
        source = replace(target, subjects=target.subjects[:-1])
        text = f"Add {added.phrase} next to the {noun} from the reference."
        intent = f"The user wants to add {added.phrase} next to the {noun} from the reference."
        stated |= {("object", added.noun), *(("attribute", added.noun, a) for a in added.attributes)}
        notes.append(f"The {added.noun} is new and appears in no reference.")
    else:
        (removed,) = extra_subjects(rng, background, [s.noun for s in target.subjects], 1)
        source = replace(target, subjects=(*target.subjects, removed))
        text = f"Remove the {removed.noun} from the reference and keep the {noun}."
        intent = f"The user wants to remove the {removed.noun} from the reference and keep the {noun}."
    conditions = pick_conditions(rng, source, force_identity=True)
    shown_by = [kind for kind in ("depth", "pose") if kind in conditions]
    if op == "action" and shown_by:
        verb = "shows" if len(shown_by) == 1 else "show"
        notes.append(f"The {join_words(shown_by)} {verb} {source.action} while the text asks for {target.action}; "
                     f"the text takes priority.")
    if op == "remove":
        notes.append(f"The references include the {source.subjects[-1].noun}, which the text removes.")
    return Built(target, source, conditions, text, frozenset(stated), intent, tuple(notes), {"edit_op": op})


def _reasoning(rng: np.random.Generator, split: str) -> Built:
    modes = REASONING_KINDS + (HELD_OUT_REASONING if split == "test" else ())
    return _REASONING_BUILDERS[pick(rng, modes)](rng, split)


def _transformation(rng: np.random.Generator, split: str) -> Built:
    """Two hops: the young form grows into the adult, which keeps the colours its reference shows."""
    noun, background = pick_pair(rng, [t.adult for t in TRANSFORMATIONS], BACKGROUNDS, split)
    change = next(t for t in TRANSFORMATIONS if t.adult == noun)
    scene = make_scene(rng, make_subject(rng, noun, young=change.young), background, extra_count(rng, maximum=1))
    conditions = pick_conditions(rng, scene, force_identity=True)
    main = scene.main
    stated: set[Fact] = {("object", change.young), ("object", noun)}
    where = ""
    if chance(rng, 0.5):
        where = f", {BACKGROUNDS[background].preposition} {article(background)}"
        stated.add(("object", background))
    text = f"Show what this {change.young} becomes {change.later}{where}."
    intent = (f"This needs reasoning: {article(change.young)} grows into {article(noun)}, and the reference shows "
              f"{main.young_phrase}, so the video should show {main.phrase}.")
    derived = {("object", noun), *(("attribute", noun, a) for a in main.attributes)}
    return Built(scene, scene, conditions, text, frozenset(stated), intent, (), {"reasoning": "transformation"},
                 frozenset(derived))


def _context_scene(rng: np.random.Generator, main: Subject, context: Context, extras: int) -> Scene:
    return make_scene(rng, main, context.background, extras, details=context.details,
                      lighting=(context.lighting, context.key), ambiences=context.ambiences, mood=context.mood)


def _context_derived(context: Context) -> set[Fact]:
    """What a context implies: its details, its mood, and its light and place where the text does
    not name them word for word ("the street" is a city street)."""
    derived: set[Fact] = {("attribute", context.background, strip_article(d)) for d in context.details}
    derived.add(("style", context.mood))
    derived |= {fact for fact, words in ((("style", context.key), context.key),
                                         (("object", context.background), context.background))
                if words not in context.text.lower()}
    return derived


def _context_implies(context: Context) -> str:
    return (f"{context.text[0].lower()}{context.text[1:]} implies {join_words(list(context.details))}, "
            f"{context.lighting} and {article(context.mood)} mood")


def _context(rng: np.random.Generator, split: str) -> Built:
    """Two hops: the context names a time and place, which imply the details, the light and the mood."""
    noun, background = pick_pair(rng, REGULAR_NOUNS, [c.background for c in CONTEXTS], split)
    context = next(c for c in CONTEXTS if c.background == background)
    scene = _context_scene(rng, make_subject(rng, noun), context, extra_count(rng, maximum=1))
    conditions = pick_conditions(rng, scene)
    text = f"{context.text}, with {article(noun)} {scene.action} there."
    stated = {("object", background), ("style", context.key), ("object", noun), ("action", scene.action)}
    intent = f"This needs reasoning: {_context_implies(context)}."
    return Built(scene, scene, conditions, text, frozenset(stated), intent, (), {"reasoning": "context"},
                 frozenset(_context_derived(context)))


def _lookup(rng: np.random.Generator, scene: Scene) -> tuple[tuple[Subject, ...], int, Subject]:
    """The references of a riddle: its subject and a distractor the video leaves out, in random
    order; returns them, the subject's position (1-based) and the distractor."""
    others = [n for n in RIDDLES if n != scene.main.noun]
    distractor = make_subject(rng, pick(rng, others))
    references = (scene.main, distractor) if chance(rng, 0.5) else (distractor, scene.main)
    return references, references.index(scene.main) + 1, distractor


def _riddle_built(rng: np.random.Generator, scene: Scene, text: str, stated: set[Fact], intent_end: str,
                  derived: set[Fact], mode: str) -> Built:
    """Riddle → the thing it names → that thing's look, from the one reference that shows it."""
    references, position, distractor = _lookup(rng, scene)
    conditions = pick_conditions(rng, scene, force_identity=True)
    main = scene.main
    intent = (f"This needs reasoning: {RIDDLES[main.noun]} is {article(main.noun)}, and identity reference {position} "
              f"shows {main.phrase}{intent_end}")
    notes = (f"Identity reference {3 - position} shows {distractor.phrase}, which the video leaves out.",)
    derived |= {("object", main.noun), *(("attribute", main.noun, a) for a in main.attributes)}
    return Built(scene, scene, conditions, text, frozenset(stated), intent, notes, {"reasoning": mode},
                 frozenset(derived), references)


def _riddle(rng: np.random.Generator, split: str) -> Built:
    noun, background = pick_pair(rng, list(RIDDLES), BACKGROUNDS, split)
    scene = make_scene(rng, make_subject(rng, noun), background, 0)
    place = f"{BACKGROUNDS[background].preposition} {article(background)}"
    text = f"Show {RIDDLES[noun]} from the references {scene.action} {place}."
    stated = {("object", noun), ("action", scene.action), ("object", background)}
    return _riddle_built(rng, scene, text, stated, f", so the video should show it {scene.action} {place}.", set(),
                         "riddle")


def _riddle_in_context(rng: np.random.Generator, split: str) -> Built:
    """Held out: a riddle's hops and a context's hops in one instruction; training has each alone."""
    backgrounds = [c.background for c in CONTEXTS]
    noun, background = pick_pair(rng, list(RIDDLES), backgrounds, split)
    context = next(c for c in CONTEXTS if c.background == background)
    scene = _context_scene(rng, make_subject(rng, noun), context, 0)
    text = f"{context.text}, with {RIDDLES[noun]} from the references {scene.action} there."
    stated = {("object", noun), ("style", context.key), ("object", background), ("action", scene.action)}
    return _riddle_built(rng, scene, text, stated, f"; {_context_implies(context)}.", _context_derived(context),
                         "riddle_in_context")


def _match(rng: np.random.Generator, split: str) -> Built:
    """An edit whose effect follows from a condition: one subject's item takes the colour that
    another subject's reference shows."""
    while True:
        noun, background = pick_pair(rng, REGULAR_NOUNS, BACKGROUNDS, split)
        target = make_scene(rng, make_subject(rng, noun), background, extra_count(rng, minimum=1))
        pairs = [(a, b) for a in target.subjects for b in target.subjects
                 if a is not b and a.item and b.colour in MATCHABLE_COLOURS and b.colour != a.colour]
        if pairs:
            break
    receiver, donor = pairs[int(rng.integers(len(pairs)))]
    before = receiver.with_item_colour(pick(rng, [c for c in ITEM_COLOURS if c not in (donor.colour, receiver.colour)]))
    after = receiver.with_item_colour(donor.colour)
    subjects = tuple(after if s is receiver else s for s in target.subjects)
    target = replace(target, subjects=subjects)
    source = replace(target, subjects=tuple(before if s is after else s for s in subjects))
    conditions = pick_conditions(rng, source, force_identity=True)
    position = [s.noun for s in source.subjects].index(donor.noun) + 1
    text = f"Make the {receiver.noun}'s {receiver.item} the colour of {DONOR_PARTS[donor.category].format(donor.noun)}."
    intent = (f"The user wants to edit the reference: the {receiver.noun}'s {receiver.item} takes the colour of "
              f"{DONOR_PARTS[donor.category].format(donor.noun)}, which identity reference {position} shows as "
              f"{donor.colour}, so it becomes {after.item_phrase}.")
    notes = (f"The reference shows {before.item_phrase} while the text asks for the {donor.noun}'s colour; "
             f"the text takes priority.",)
    stated = {("object", receiver.noun), ("object", donor.noun)}
    derived = {("attribute", receiver.noun, f"{donor.colour} {receiver.item}")}
    return Built(target, source, conditions, text, frozenset(stated), intent, notes, {"reasoning": "match"},
                 frozenset(derived))


_REASONING_BUILDERS: dict[str, Callable[[np.random.Generator, str], Built]] = {
    "transformation": _transformation,
    "context": _context,
    "riddle": _riddle,
    "match": _match,
    "riddle_in_context": _riddle_in_context,
}


_BUILDERS: dict[str, Callable[[np.random.Generator, str], Built]] = {
    "plain": _plain,
    "ambiguous": _ambiguous,
    "edit": _edit,
    "reasoning": _reasoning,
}
