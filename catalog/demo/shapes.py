"""Silhouettes of the demo product types, as polygons on a 100 × 100 canvas.

Each shape is a few filled polygons and thick lines with a *tone*: ``base`` is drawn in the
item's colour, ``dark`` and ``light`` are shades of it, ``accent`` contrasts with it (a sole,
a cap, a handle). :mod:`catalog.demo.images` places, turns and paints them. The drawings are
deliberately simple: what an image model must see is the type's outline and the colour.
"""

from __future__ import annotations

import math
from typing import NamedTuple

Point = tuple[float, float]


class Part(NamedTuple):
    """A filled polygon (``width`` 0) or a polyline ``width`` units thick, in one tone."""

    points: tuple[Point, ...]
    tone: str
    width: float = 0


def poly(tone: str, *points: Point) -> Part:
    return Part(points, tone)


def box(tone: str, x0: float, y0: float, x1: float, y1: float) -> Part:
    return Part(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), tone)


def _oval_points(
    x0: float, y0: float, x1: float, y1: float, arc: tuple[float, float]
) -> list[Point]:
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    start, end = arc
    steps = 20
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * k / steps)),
            cy + ry * math.sin(math.radians(start + (end - start) * k / steps)),
        )
        for k in range(steps + 1)
    ]


def oval(tone: str, x0: float, y0: float, x1: float, y1: float) -> Part:
    return Part(tuple(_oval_points(x0, y0, x1, y1, (0, 360))[:-1]), tone)


def ring(tone: str, x0: float, y0: float, x1: float, y1: float, width: float) -> Part:
    """An ellipse outline (a mug handle, a head strap)."""
    return Part(tuple(_oval_points(x0, y0, x1, y1, (0, 360))), tone, width)


def line(tone: str, width: float, *points: Point) -> Part:
    return Part(points, tone, width)


SHAPES: dict[str, tuple[Part, ...]] = {
    "shoe": (
        poly(
            "base",
            (10, 66),
            (14, 46),
            (32, 42),
            (46, 30),
            (60, 28),
            (64, 42),
            (80, 48),
            (93, 56),
            (94, 66),
        ),
        poly("accent", (8, 64), (96, 62), (96, 74), (9, 74)),
        line("light", 2.5, (46, 36), (54, 44)),
        line("light", 2.5, (51, 33), (59, 41)),
        poly("dark", (10, 66), (14, 48), (22, 46), (22, 66)),
    ),
    "boot": (
        poly("base", (20, 70), (22, 16), (50, 16), (52, 44), (78, 50), (92, 58), (92, 70)),
        poly("accent", (18, 68), (94, 68), (94, 79), (18, 79)),
        box("dark", 22, 16, 50, 24),
        line("light", 2.5, (50, 28), (56, 36), (52, 40), (58, 46)),
    ),
    "sandal": (
        poly("accent", (8, 66), (90, 60), (94, 68), (88, 74), (10, 76)),
        line("base", 7, (30, 66), (40, 44), (52, 64)),
        line("base", 7, (58, 63), (68, 46), (78, 61)),
        line("dark", 3, (12, 70), (90, 65)),
    ),
    "slipper": (
        oval("base", 8, 44, 94, 78),
        poly("light", (40, 50), (92, 54), (92, 68), (40, 70)),
        poly("accent", (8, 66), (94, 64), (92, 78), (10, 80)),
    ),
    "jacket": (
        poly(
            "base",
            (12, 30),
            (30, 18),
            (70, 18),
            (88, 30),
            (92, 74),
            (80, 76),
            (74, 42),
            (74, 88),
            (26, 88),
            (26, 42),
            (20, 76),
            (8, 74),
        ),
        oval("dark", 36, 8, 64, 26),
        line("dark", 2.5, (50, 22), (50, 88)),
        box("dark", 30, 60, 42, 64),
        box("dark", 58, 60, 70, 64),
    ),
    "tshirt": (
        poly(
            "base",
            (30, 16),
            (42, 12),
            (58, 12),
            (70, 16),
            (90, 32),
            (80, 44),
            (70, 36),
            (70, 88),
            (30, 88),
            (30, 36),
            (20, 44),
            (10, 32),
        ),
        oval("light", 42, 8, 58, 18),
    ),
    "dress": (
        poly("base", (40, 14), (60, 14), (62, 36), (84, 90), (16, 90), (38, 36)),
        line("base", 3, (40, 14), (42, 6)),
        line("base", 3, (60, 14), (58, 6)),
        line("dark", 3, (38, 38), (62, 38)),
    ),
    "trousers": (
        poly("base", (30, 10), (70, 10), (76, 92), (57, 92), (50, 34), (43, 92), (24, 92)),
        box("dark", 30, 10, 70, 16),
        line("dark", 2, (34, 24), (42, 24)),
        line("dark", 2, (58, 24), (66, 24)),
    ),
    "beanie": (
        Part(tuple(_oval_points(20, 22, 80, 90, (180, 360))), "base"),
        box("dark", 18, 54, 82, 70),
        oval("light", 42, 10, 58, 26),
    ),
    "tent": (
        poly("base", (6, 82), (50, 16), (94, 82)),
        poly("dark", (38, 82), (50, 46), (62, 82)),
        line("accent", 3, (2, 84), (98, 84)),
        line("light", 2, (50, 16), (50, 46)),
    ),
    "sleeping_bag": (
        oval("base", 28, 6, 72, 94),
        oval("dark", 36, 10, 64, 30),
        line("light", 2.5, (66, 30), (66, 86)),
        line("dark", 1.5, (32, 50), (68, 50)),
        line("dark", 1.5, (31, 68), (69, 68)),
    ),
    "backpack": (
        oval("base", 26, 8, 74, 40),
        box("base", 26, 24, 74, 88),
        box("dark", 34, 54, 66, 80),
        line("accent", 3, (50, 8), (50, 4)),
        line("dark", 2.5, (34, 54), (66, 54)),
    ),
    "bottle": (
        box("base", 36, 30, 64, 92),
        poly("base", (36, 32), (44, 20), (56, 20), (64, 32)),
        box("accent", 42, 8, 58, 21),
        box("light", 36, 50, 64, 62),
    ),
    "headlamp": (
        ring("base", 10, 30, 90, 80, 6),
        box("accent", 36, 34, 64, 60),
        oval("light", 41, 38, 59, 56),
    ),
    "mug": (
        ring("base", 58, 40, 90, 72, 7),
        box("base", 20, 30, 68, 86),
        oval("dark", 20, 25, 68, 36),
    ),
    "duvet": (
        box("base", 10, 24, 90, 80),
        line("light", 1.5, (10, 43), (90, 43)),
        line("light", 1.5, (10, 62), (90, 62)),
        line("light", 1.5, (37, 24), (37, 80)),
        line("light", 1.5, (63, 24), (63, 80)),
    ),
    "desk_lamp": (
        oval("accent", 22, 82, 62, 92),
        line("base", 4, (42, 86), (30, 52), (52, 26)),
        poly("base", (50, 16), (84, 28), (76, 44), (44, 30)),
        oval("light", 58, 34, 76, 44),
    ),
    "pan": (
        oval("base", 6, 26, 64, 84),
        oval("dark", 12, 32, 58, 78),
        poly("accent", (60, 52), (96, 46), (97, 54), (61, 60)),
    ),
    "pillow": (
        poly(
            "base", (10, 30), (50, 36), (90, 30), (84, 52), (90, 76), (50, 70), (10, 76), (16, 52)
        ),
        line("light", 1.5, (20, 53), (80, 53)),
    ),
    "chair": (
        box("base", 28, 8, 72, 50),
        box("base", 24, 54, 76, 64),
        line("accent", 4, (50, 64), (50, 80)),
        line("accent", 3, (26, 88), (50, 80), (74, 88)),
        line("dark", 2, (30, 40), (70, 40)),
    ),
    "bag": (
        poly("base", (28, 22), (72, 22), (76, 90), (24, 90)),
        box("dark", 28, 14, 72, 24),
        box("light", 36, 46, 64, 72),
    ),
    "box": (
        box("base", 26, 12, 74, 90),
        box("dark", 26, 12, 74, 22),
        oval("light", 34, 40, 66, 72),
    ),
    "bar": (
        box("base", 14, 38, 86, 62),
        poly("dark", (6, 36), (14, 38), (14, 62), (6, 64), (10, 50)),
        poly("dark", (94, 36), (86, 38), (86, 62), (94, 64), (90, 50)),
        box("light", 34, 44, 66, 56),
    ),
    "jar": (
        box("base", 26, 34, 74, 90),
        box("accent", 28, 20, 72, 36),
        box("light", 32, 50, 68, 76),
    ),
    "phone": (
        box("base", 30, 8, 70, 92),
        box("dark", 36, 14, 50, 28),
        oval("accent", 39, 17, 47, 25),
    ),
    "screen": (
        box("accent", 30, 8, 70, 92),
        box("light", 33, 12, 67, 88),
        line("base", 3, (38, 80), (62, 22)),
    ),
    "charger": (
        box("base", 28, 34, 72, 78),
        line("accent", 4, (40, 34), (40, 20)),
        line("accent", 4, (60, 34), (60, 20)),
        box("dark", 42, 60, 58, 66),
    ),
    "earbuds": (
        oval("base", 18, 22, 44, 48),
        line("base", 7, (31, 44), (34, 76)),
        oval("base", 56, 22, 82, 48),
        line("base", 7, (69, 44), (66, 76)),
        oval("dark", 26, 30, 36, 40),
        oval("dark", 64, 30, 74, 40),
    ),
    "powerbank": (
        box("base", 18, 28, 82, 74),
        oval("light", 60, 36, 66, 42),
        oval("light", 68, 36, 74, 42),
        box("dark", 44, 66, 56, 72),
    ),
    "cable": (
        line("base", 4, (14, 76), (30, 30), (50, 70), (70, 28), (86, 66)),
        box("accent", 8, 74, 20, 90),
        box("accent", 80, 64, 92, 80),
    ),
}
