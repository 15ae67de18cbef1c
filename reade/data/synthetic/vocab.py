"""Closed vocabularies of the synthetic world.

Every word a gold caption can contain comes from here, so a tiny model can learn the whole space,
and every colour word has the RGB value the identity images paint, so the images really encode it.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (200, 40, 40),
    "blue": (40, 80, 200),
    "green": (40, 150, 60),
    "yellow": (235, 200, 40),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "purple": (120, 50, 160),
    "orange": (240, 130, 30),
    "silver": (180, 185, 190),
    "brown": (120, 75, 40),
    "golden": (210, 160, 60),
    "grey": (128, 128, 128),
    "blonde": (240, 215, 130),
    "auburn": (150, 60, 30),
}


@dataclass(frozen=True)
class NounSpec:
    """What a subject noun can be: its category decides the drawing, the attribute slots and the actions."""

    category: str  # person | animal | vehicle | creature
    actions: tuple[str, ...]
    colours: tuple[str, ...]  # hair, fur, paint or body colour
    items: tuple[str, ...] = ()  # garment, accessory or vehicle detail, painted in a second colour
    traits: tuple[str, ...] = ()


_PERSON_ACTIONS = ("walking", "running", "jumping", "sitting", "waving", "dancing")
_ANIMAL_ACTIONS = ("walking", "running", "jumping", "sitting")
_HAIR = ("blonde", "black", "brown", "auburn", "grey")
_GARMENTS = ("coat", "jacket", "sweater", "raincoat")
_FUR = ("brown", "white", "black", "golden", "grey")
_PAINT = ("red", "blue", "silver", "yellow", "green", "white")
_PERSON_TRAITS = ("confident", "focused", "relaxed", "cheerful")
_ANIMAL_TRAITS = ("playful", "alert", "curious")
_VEHICLE_TRAITS = ("polished", "dusty", "shiny")

NOUNS: dict[str, NounSpec] = {
    **{n: NounSpec("person", _PERSON_ACTIONS, _HAIR, _GARMENTS, _PERSON_TRAITS) for n in ("woman", "man", "girl", "boy")},
    "dog": NounSpec("animal", _ANIMAL_ACTIONS, _FUR, ("harness", "collar", "scarf"), _ANIMAL_TRAITS),
    "cat": NounSpec("animal", _ANIMAL_ACTIONS, _FUR, ("collar", "scarf"), _ANIMAL_TRAITS),
    "horse": NounSpec("animal", ("walking", "running", "jumping"), _FUR, ("saddle", "harness"), _ANIMAL_TRAITS),
    "fox": NounSpec("animal", _ANIMAL_ACTIONS, ("orange", "grey", "white"), ("collar", "scarf"), _ANIMAL_TRAITS),
    **{n: NounSpec("vehicle", ("driving", "turning"), _PAINT, ("stripes", "roof", "wheels"), _VEHICLE_TRAITS)
       for n in ("car", "bus", "van", "truck")},
    "frog": NounSpec("creature", ("jumping", "sitting"), ("green", "brown"), (), ("lively", "healthy")),
    "butterfly": NounSpec("creature", ("flying",), ("orange", "blue", "yellow"), (), ("delicate", "lively")),
    "sunflower": NounSpec("creature", ("swaying",), ("yellow",), (), ("tall", "healthy")),
}
ITEM_COLOURS = ("red", "blue", "green", "yellow", "white", "black", "purple", "orange")
PLURAL_ITEMS = frozenset({"stripes", "wheels"})
HAIR_STYLES = ("long", "short", "curly")
CHILD_NOUNS = frozenset({"girl", "boy"})
FEMALE_NOUNS = frozenset({"woman", "girl"})


@dataclass(frozen=True)
class Action:
    verb: str  # base form, for "make it run instead of sit"
    detail: str  # how the movement caption goes on after "is <action>"


ACTIONS: dict[str, Action] = {
    "walking": Action("walk", "steadily from left to right"),
    "running": Action("run", "quickly from left to right"),
    "jumping": Action("jump", "up and down in place"),
    "sitting": Action("sit", "down slowly and then stays still"),
    "waving": Action("wave", "with one hand raised high"),
    "dancing": Action("dance", "with both arms swinging overhead"),
    "driving": Action("drive", "steadily from left to right"),
    "turning": Action("turn", "slowly toward the camera"),
    "flying": Action("fly", "in gentle loops from left to right"),
    "swaying": Action("sway", "gently from side to side"),
}


@dataclass(frozen=True)
class Ambience:
    """A sound that also shows on screen: the audio condition renders it, the caption names it."""

    attribute: str
    clause: str  # contains the ambience name and its attribute verbatim
    sound: str  # how step 2 of the trace describes the audio
    mood: str


AMBIENCES: dict[str, Ambience] = {
    "rain": Ambience("steady", "steady rain is falling", "steady rain", "melancholic"),
    "birds": Ambience("chirping", "birds are chirping in the distance", "chirping birds", "peaceful"),
    "waves": Ambience("crashing", "waves are crashing nearby", "crashing waves", "relaxed"),
    "music": Ambience("upbeat", "upbeat music is playing", "upbeat music", "lively"),
    "engine": Ambience("humming", "an engine is humming nearby", "a humming engine", "busy"),
    "wind": Ambience("howling", "a howling wind is blowing", "a howling wind", "lonely"),
}

_PEOPLE = ("woman", "man", "girl", "boy")


@dataclass(frozen=True)
class Background:
    preposition: str
    details: tuple[str, ...]  # phrases as the caption writes them, article included
    ambiences: tuple[str, ...]
    hosts: tuple[str, ...]  # nouns that may appear here


BACKGROUNDS: dict[str, Background] = {
    "garden": Background("in", ("blooming roses", "a stone path", "a wooden fence", "trimmed hedges"),
                         ("birds", "rain", "wind"), (*_PEOPLE, "dog", "cat", "fox", "frog", "butterfly", "sunflower")),
    "beach": Background("on", ("white sand", "a striped umbrella", "distant cliffs", "scattered seashells"),
                        ("waves", "music", "wind"), (*_PEOPLE, "dog", "horse")),
    "city street": Background("on", ("tall buildings", "a crosswalk", "shop windows", "street lamps"),
                              ("engine", "rain", "music"), (*_PEOPLE, "dog", "cat", "car", "bus", "van", "truck")),
    "forest": Background("in", ("tall pine trees", "mossy rocks", "fallen leaves", "a narrow trail"),
                         ("birds", "rain", "wind"), (*_PEOPLE, "dog", "fox", "horse", "butterfly")),
    "kitchen": Background("in", ("a wooden table", "hanging pots", "a bright window", "white cabinets"),
                          ("music", "rain"), (*_PEOPLE, "cat", "dog")),
    "snowy mountain": Background("on", ("snowy peaks", "frozen pine trees", "a frozen lake", "a winding road"),
                                 ("wind",), (*_PEOPLE, "dog", "horse", "fox", "car", "truck", "van")),
    "park": Background("in", ("green lawns", "a wooden bench", "tall oak trees", "a small fountain"),
                       ("birds", "music", "wind"), (*_PEOPLE, "dog", "horse", "butterfly", "sunflower")),
    "desert road": Background("on", ("sand dunes", "a long empty road", "dry bushes", "distant mesas"),
                              ("wind", "engine"), ("woman", "man", "horse", "fox", "car", "bus", "van", "truck")),
    "pond": Background("by", ("lily pads", "tall reeds", "still water", "smooth stones"),
                       ("birds", "rain"), ("girl", "boy", "dog", "cat", "fox", "frog")),
    "stage": Background("on", ("bright spotlights", "a dark curtain", "a wooden floor", "tall speakers"),
                        ("music",), _PEOPLE),
}

# (main subject noun, background) pairs that only the test split contains.
HELD_OUT_PAIRS = frozenset({
    ("dog", "beach"), ("cat", "garden"), ("woman", "forest"), ("man", "kitchen"), ("girl", "stage"),
    ("car", "snowy mountain"), ("truck", "city street"), ("horse", "park"), ("fox", "desert road"),
    ("frog", "garden"), ("butterfly", "park"), ("boy", "pond"),
})

STYLES = ("cinematic", "documentary", "watercolor", "anime", "vintage film", "photorealistic")
LIGHTINGS = ("soft morning light", "golden hour light", "bright midday sun", "overcast daylight",
             "warm evening glow", "cool moonlight")
SHOTS = ("wide shot", "medium shot", "close-up shot")
ANGLES = ("eye level", "low angle", "high angle")


@dataclass(frozen=True)
class Transformation:
    """A reasoning instruction names the young form; the video must show what it grows into, in the
    colours the young form's reference image shows (a brown puppy with a red collar grows into a
    brown dog with a red collar)."""

    young: str
    adult: str
    later: str  # "Show what this <young> becomes <later>"


TRANSFORMATIONS = (
    Transformation("tadpole", "frog", "in a few weeks"),
    Transformation("caterpillar", "butterfly", "after its cocoon opens"),
    Transformation("seed", "sunflower", "by the end of summer"),
    Transformation("puppy", "dog", "a year from now"),
    Transformation("kitten", "cat", "once it is fully grown"),
)


@dataclass(frozen=True)
class Context:
    """A reasoning instruction that implies scene details the user never names."""

    text: str
    background: str
    lighting: str  # contains `key` verbatim; the caption writes "in <lighting>"
    key: str
    details: tuple[str, str]  # what the context implies, used as the background details
    ambiences: tuple[str, ...]
    mood: str  # what the context implies for the style caption's mood, whatever the sound


CONTEXTS = (
    Context("A cold winter morning seen from a kitchen", "kitchen", "the pale light of a cold winter morning",
            "cold winter morning", ("a frosted window", "steam rising from a mug"), ("wind",), "cozy"),
    Context("The street right after a summer thunderstorm", "city street",
            "the fresh light after a summer thunderstorm", "summer thunderstorm",
            ("wet pavement", "shallow puddles"), ("rain", "engine"), "hopeful"),
    Context("A forest in the middle of autumn", "forest", "the low sun of mid autumn", "mid autumn",
            ("orange leaves", "bare branches"), ("wind", "birds"), "nostalgic"),
    Context("A beach on the hottest afternoon of the year", "beach", "the harsh sun of a hot afternoon",
            "hot afternoon", ("shimmering heat haze", "a crowded shoreline"), ("waves", "music"), "energetic"),
    Context("A park on the first warm day of spring", "park", "the gentle light of an early spring day",
            "early spring day", ("blossoming cherry trees", "fresh green grass"), ("birds",), "joyful"),
    Context("A stage a minute before the concert starts", "stage", "the dim glow before a concert",
            "dim glow", ("an expectant crowd", "tuned guitars"), ("music",), "tense"),
)
MOODS = tuple(dict.fromkeys([*(a.mood for a in AMBIENCES.values()), *(c.mood for c in CONTEXTS)]))

RIDDLES: dict[str, str] = {
    "dog": "man's best friend",
    "cat": "the pet that purrs on your lap",
    "horse": "the animal that knights ride",
    "fox": "the sly hunter of fairy tales",
    "car": "a family's four-wheeled ride",
    "bus": "the big vehicle that takes children to school",
    "van": "the boxy vehicle of a delivery driver",
    "truck": "the vehicle that hauls heavy loads",
}
