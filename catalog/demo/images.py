"""Product photos for the demo catalog, drawn procedurally with Pillow (nothing is downloaded).

Each image shows the silhouette of the item's product type (:mod:`catalog.demo.shapes`) in the
item's colour, striped or dotted when its pattern says so, on a plain or gradient background,
turned, scaled and shifted a little per image. So colour and type are visible, as an image
search or an image-text model needs, while no two images are pixel-identical. Every choice
comes from the item's own seeded generator, so the same item always gets the same JPEG bytes
(for one Pillow version).
"""

from __future__ import annotations

import math
import random
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw

from catalog.demo.items import item_rng
from catalog.demo.products import DEPARTMENTS
from catalog.demo.shapes import SHAPES, Part, Point
from catalog.demo.truth import Truth
from catalog.demo.vocab import COLOURS

SIZE = 160
SUPERSAMPLE = 2
JPEG_QUALITY = 90
RGB = tuple[int, int, int]

SHAPE_OF_CONCEPT: dict[str, str] = {
    kind.name: kind.shape for department in DEPARTMENTS for kind in department.types
}


def _mix(colour: RGB, other: RGB, share: float) -> RGB:
    r, g, b = (round(c + (o - c) * share) for c, o in zip(colour, other, strict=True))
    return (r, g, b)


def _luminance(colour: RGB) -> float:
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


def tones(colour: RGB) -> dict[str, RGB]:
    """The item colour and the shades the shape parts are drawn in."""
    accent: RGB = (236, 236, 230) if _luminance(colour) < 110 else (44, 44, 48)
    return {
        "base": colour,
        "dark": _mix(colour, (0, 0, 0), 0.4),
        "light": _mix(colour, (255, 255, 255), 0.55),
        "accent": accent,
    }


@cache
def _gradient(size: int) -> Image.Image:
    return Image.linear_gradient("L").resize((size, size))


def _background(rng: random.Random, colour: RGB, size: int) -> tuple[Image.Image, RGB]:
    """A pale backdrop (a darker one behind pale items), plain or a vertical gradient, and
    its colour at the bottom (where the shadow falls)."""
    low, high = (150, 195) if _luminance(colour) > 200 else (222, 252)
    top: RGB = (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))
    if rng.random() < 0.5:
        return Image.new("RGB", (size, size), top), top
    bottom = _mix(top, (low - 30, low - 30, low - 30), rng.uniform(0.2, 0.5))
    backdrop = Image.composite(
        Image.new("RGB", (size, size), bottom), Image.new("RGB", (size, size), top), _gradient(size)
    )
    return backdrop, bottom


def _placement(rng: random.Random, size: int) -> tuple[float, float, float, float, bool]:
    angle = math.radians(rng.uniform(-15, 15))
    scale = rng.uniform(0.72, 0.95) * size / 100
    shift = size * 0.06
    return angle, scale, rng.uniform(-shift, shift), rng.uniform(-shift, shift), rng.random() < 0.5


def _transform(
    parts: tuple[Part, ...], placement: tuple[float, float, float, float, bool], size: int
) -> list[tuple[list[Point], Part]]:
    angle, scale, dx, dy, mirror = placement
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    cx, cy = size / 2 + dx, size / 2 + dy
    placed = []
    for part in parts:
        points = []
        for x, y in part.points:
            u, v = (50 - x if mirror else x - 50), y - 50
            points.append((cx + u * cos - v * sin, cy + u * sin + v * cos))
        placed.append((points, part))
    return placed


def _draw_parts(
    draw: ImageDraw.ImageDraw,
    placed: list[tuple[list[Point], Part]],
    fill: dict[str, RGB] | dict[str, int],
    scale: float,
) -> None:
    for points, part in placed:
        colour = fill[part.tone]
        if part.width:
            draw.line(points, fill=colour, width=max(1, round(part.width * scale)), joint="curve")
        else:
            draw.polygon(points, fill=colour)


def _pattern(image: Image.Image, kind: str, ink: RGB, size: int) -> Image.Image:
    patterned = image.copy()
    draw = ImageDraw.Draw(patterned)
    step = size // 12
    if kind == "stripes":
        for offset in range(-size, size, step):
            draw.line([(offset, 0), (offset + size, size)], fill=ink, width=max(2, step // 3))
    else:
        radius = step // 4
        for y in range(step // 2, size, step):
            for x in range((y // step % 2) * step // 2, size, step):
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=ink)
    return patterned


def draw_product(shape: str, colour: RGB, pattern: str, rng: random.Random) -> Image.Image:
    """One ``SIZE`` × ``SIZE`` picture of ``shape`` in ``colour`` with ``pattern``."""
    size = SIZE * SUPERSAMPLE
    canvas, floor = _background(rng, colour, size)
    placement = _placement(rng, size)
    placed = _transform(SHAPES[shape], placement, size)
    scale = placement[1]
    draw = ImageDraw.Draw(canvas)
    xs = [x for points, _ in placed for x, _ in points]
    bottom = max(y for points, _ in placed for _, y in points)
    shadow = _mix(floor, (0, 0, 0), 0.18)
    draw.ellipse([min(xs) + 6, bottom - 6, max(xs) - 6, bottom + 8], fill=shadow)
    palette = tones(colour)
    _draw_parts(draw, placed, palette, scale)
    if pattern in ("stripes", "dots"):
        mask = Image.new("L", (size, size), 0)
        _draw_parts(ImageDraw.Draw(mask), placed, {**dict.fromkeys(palette, 0), "base": 255}, scale)
        ink = palette["accent"] if pattern == "dots" else palette["light"]
        canvas = Image.composite(_pattern(canvas, pattern, ink, size), canvas, mask)
    return canvas.reduce(SUPERSAMPLE)


def draw_item_images(truth: Truth, paths: list[str], image_dir: Path) -> int:
    """Draw and save item ``truth``'s images at ``paths`` under ``image_dir``; returns how many.

    View 0 is the main photo; further views are other shots of the same product.
    """
    shape = SHAPE_OF_CONCEPT[truth.concept]
    colour = COLOURS[truth.image_colour].rgb
    for view, path in enumerate(paths):
        rng = item_rng(truth.seed, truth.index, f"image{view}")
        target = image_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        draw_product(shape, colour, truth.pattern, rng).save(target, "JPEG", quality=JPEG_QUALITY)
    return len(paths)
