"""Identity reference images: a subject drawn from flat shapes whose colours are its attribute colours.

The category decides the silhouette (figure, quadruped, vehicle, creature), the first colour paints
hair, fur, paint or body and the second the garment, accessory or detail, so a model that reads the
image can recover "long blonde hair" or "green harness". The nouns and garments a caption takes
from an image are drawn apart: a child smaller, a woman or girl with bare legs below the skirt, a
jacket with a zip, a raincoat with a hood. Drawn at 4x and downsampled for clean edges.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from reade.data.synthetic.scene import Subject
from reade.data.synthetic.vocab import CHILD_NOUNS, COLOURS, FEMALE_NOUNS, RGB

BACKDROP: RGB = (232, 232, 228)
_SKIN: RGB = (226, 184, 150)
_DARK: RGB = (55, 55, 65)
_GLASS: RGB = (170, 205, 230)
_SUPERSAMPLE = 4


class _Pen:
    """Draws in unit coordinates (0..1, y down), optionally shrunk toward the bottom centre."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: int, scale: float = 1.0):
        self.draw, self.size, self.scale = draw, size, scale

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return ((0.5 + (x - 0.5) * self.scale) * self.size, (0.95 + (y - 0.95) * self.scale) * self.size)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
        return [self.xy(x0, y0), self.xy(x1, y1)]

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: RGB) -> None:
        self.draw.rectangle(self.box(x0, y0, x1, y1), fill=colour)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, colour: RGB) -> None:
        self.draw.ellipse(self.box(x0, y0, x1, y1), fill=colour)

    def circle(self, x: float, y: float, r: float, colour: RGB) -> None:
        self.ellipse(x - r, y - r, x + r, y + r, colour)

    def polygon(self, points: list[tuple[float, float]], colour: RGB) -> None:
        self.draw.polygon([self.xy(x, y) for x, y in points], fill=colour)

    def line(self, points: list[tuple[float, float]], colour: RGB, width: float) -> None:
        self.draw.line([self.xy(x, y) for x, y in points], fill=colour, width=max(1, round(width * self.size * self.scale)))


def identity_image(subject: Subject, size: int) -> np.ndarray:
    """uint8 [size, size, 3]; a transformation subject is drawn as the young form the user refers to."""
    canvas = Image.new("RGB", (size * _SUPERSAMPLE, size * _SUPERSAMPLE), BACKDROP)
    draw = ImageDraw.Draw(canvas)
    big = size * _SUPERSAMPLE
    if subject.young:
        _young(_Pen(draw, big), subject)
    elif subject.category == "person":
        _person(_Pen(draw, big, 0.8 if subject.noun in CHILD_NOUNS else 1.0), subject)
    elif subject.category == "animal":
        _animal(_Pen(draw, big, 1.2 if subject.noun == "horse" else 1.0), subject)
    elif subject.category == "vehicle":
        _vehicle(_Pen(draw, big), subject)
    else:
        _creature(_Pen(draw, big), subject.noun, COLOURS[subject.colour])
    return np.asarray(canvas.resize((size, size), Image.Resampling.BOX), dtype=np.uint8)


def _person(pen: _Pen, subject: Subject) -> None:
    hair, garment = COLOURS[subject.colour], COLOURS[subject.item_colour]
    hem = 0.74 if subject.item in ("coat", "raincoat") else 0.62
    legs = _SKIN if subject.noun in FEMALE_NOUNS else _DARK  # a skirt's bare legs or trousers
    if subject.hair == "long":
        pen.rect(0.37, 0.14, 0.63, 0.42, hair)
    pen.rect(0.40, 0.60, 0.47, 0.93, legs)
    pen.rect(0.53, 0.60, 0.60, 0.93, legs)
    pen.polygon([(0.38, 0.32), (0.62, 0.32), (0.68, hem), (0.32, hem)], garment)
    if subject.item == "jacket":  # its zip tells it from a sweater of the same length
        pen.line([(0.5, 0.33), (0.5, hem)], _DARK, 0.03)
    pen.line([(0.38, 0.34), (0.28, 0.58)], garment, 0.05)
    pen.line([(0.62, 0.34), (0.72, 0.58)], garment, 0.05)
    if subject.item == "raincoat":
        pen.polygon([(0.37, 0.30), (0.63, 0.30), (0.5, 0.10)], garment)
    pen.circle(0.5, 0.2, 0.1, _SKIN)
    if subject.hair == "curly":
        for x, y in ((0.41, 0.12), (0.47, 0.09), (0.53, 0.09), (0.59, 0.12), (0.39, 0.18), (0.61, 0.18)):
            pen.circle(x, y, 0.045, hair)
    else:
        pen.draw.pieslice(pen.box(0.39, 0.09, 0.61, 0.31), 180, 360, fill=hair)


def _animal(pen: _Pen, subject: Subject) -> None:
    fur, accent = COLOURS[subject.colour], COLOURS[subject.item_colour]
    for x in (0.28, 0.36, 0.58, 0.66):
        pen.rect(x, 0.62, x + 0.05, 0.85, fur)
    pen.line([(0.22, 0.52), (0.1, 0.4 if subject.noun != "fox" else 0.6)], fur, 0.04)
    pen.ellipse(0.2, 0.44, 0.74, 0.68, fur)
    if subject.noun == "horse":
        pen.polygon([(0.62, 0.5), (0.72, 0.28), (0.8, 0.3), (0.74, 0.55)], fur)
    head_y = 0.3 if subject.noun == "horse" else 0.42
    pen.circle(0.78, head_y, 0.09, fur)
    if subject.noun in ("cat", "fox"):
        pen.polygon([(0.71, head_y - 0.05), (0.74, head_y - 0.16), (0.78, head_y - 0.07)], fur)
        pen.polygon([(0.79, head_y - 0.07), (0.83, head_y - 0.16), (0.86, head_y - 0.05)], fur)
    elif subject.noun == "dog":
        pen.ellipse(0.68, head_y - 0.06, 0.73, head_y + 0.06, _darker(fur))
    pen.circle(0.81, head_y - 0.02, 0.015, _DARK)
    if subject.item == "harness":
        pen.rect(0.44, 0.43, 0.52, 0.69, accent)
    elif subject.item == "saddle":
        pen.ellipse(0.38, 0.40, 0.56, 0.50, accent)
    elif subject.item == "collar":
        pen.line([(0.7, head_y + 0.04), (0.75, head_y + 0.12)], accent, 0.07)
    else:
        pen.polygon([(0.66, head_y + 0.06), (0.76, head_y + 0.1), (0.68, head_y + 0.22)], accent)


def _vehicle(pen: _Pen, subject: Subject) -> None:
    paint, accent = COLOURS[subject.colour], COLOURS[subject.item_colour]
    roof = accent if subject.item == "roof" else paint
    if subject.noun == "bus":
        pen.rect(0.06, 0.35, 0.94, 0.76, paint)
        pen.rect(0.06, 0.33, 0.94, 0.38, roof)
        for x in (0.1, 0.3, 0.5, 0.7):
            pen.rect(x, 0.42, x + 0.15, 0.55, _GLASS)
    elif subject.noun == "truck":
        pen.rect(0.06, 0.30, 0.62, 0.76, paint)
        pen.rect(0.64, 0.45, 0.94, 0.76, paint)
        pen.rect(0.64, 0.42, 0.94, 0.46, roof)
        pen.rect(0.74, 0.5, 0.9, 0.6, _GLASS)
    elif subject.noun == "van":
        pen.rect(0.08, 0.34, 0.92, 0.76, paint)
        pen.rect(0.08, 0.32, 0.92, 0.37, roof)
        pen.rect(0.66, 0.42, 0.88, 0.55, _GLASS)
    else:
        pen.rect(0.08, 0.50, 0.92, 0.76, paint)
        pen.polygon([(0.25, 0.5), (0.33, 0.32), (0.67, 0.32), (0.75, 0.5)], paint)
        pen.rect(0.33, 0.30, 0.67, 0.34, roof)
        pen.polygon([(0.31, 0.49), (0.36, 0.36), (0.64, 0.36), (0.69, 0.49)], _GLASS)
    if subject.item == "stripes":
        pen.rect(0.1, 0.6, 0.9, 0.63, accent)
        pen.rect(0.1, 0.66, 0.9, 0.69, accent)
    rim = accent if subject.item == "wheels" else (150, 150, 150)
    for x in (0.27, 0.73):
        pen.circle(x, 0.78, 0.1, _DARK)
        pen.circle(x, 0.78, 0.05, rim)


def _creature(pen: _Pen, noun: str, colour: RGB) -> None:
    if noun == "frog":
        pen.ellipse(0.2, 0.7, 0.45, 0.85, colour)
        pen.ellipse(0.55, 0.7, 0.8, 0.85, colour)
        pen.ellipse(0.25, 0.45, 0.75, 0.8, colour)
        pen.circle(0.38, 0.47, 0.06, colour)
        pen.circle(0.62, 0.47, 0.06, colour)
        pen.circle(0.38, 0.46, 0.025, _DARK)
        pen.circle(0.62, 0.46, 0.025, _DARK)
    elif noun == "butterfly":
        pen.ellipse(0.12, 0.25, 0.48, 0.55, colour)
        pen.ellipse(0.52, 0.25, 0.88, 0.55, colour)
        pen.ellipse(0.2, 0.5, 0.48, 0.75, colour)
        pen.ellipse(0.52, 0.5, 0.8, 0.75, colour)
        pen.line([(0.5, 0.25), (0.5, 0.75)], _DARK, 0.04)
    else:
        pen.line([(0.5, 0.4), (0.5, 0.95)], (40, 150, 60), 0.04)
        pen.ellipse(0.5, 0.6, 0.7, 0.68, (40, 150, 60))
        pen.circle(0.5, 0.3, 0.2, colour)
        pen.circle(0.5, 0.3, 0.09, (120, 75, 40))


def _young(pen: _Pen, subject: Subject) -> None:
    """In the colours of what it grows into (`Subject.young_phrase`); a seed is a seed."""
    body = COLOURS[subject.colour]
    if subject.young == "tadpole":
        pen.line([(0.45, 0.55), (0.6, 0.5), (0.72, 0.58), (0.82, 0.52)], body, 0.03)
        pen.ellipse(0.25, 0.45, 0.5, 0.65, body)
    elif subject.young == "caterpillar":
        for i in range(5):
            pen.circle(0.25 + 0.12 * i, 0.6 - 0.04 * (i % 2), 0.07, body)
    elif subject.young == "seed":
        pen.rect(0.0, 0.7, 1.0, 1.0, (110, 80, 50))
        pen.ellipse(0.44, 0.6, 0.56, 0.72, (70, 50, 30))
    else:
        _animal(_Pen(pen.draw, pen.size, 0.6), subject)


def _darker(colour: RGB) -> RGB:
    return tuple(int(c * 0.7) for c in colour)  # type: ignore[return-value]
