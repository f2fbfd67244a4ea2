"""The demo catalog's drawn product images: the type's outline and the item's colour show."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.demo.generate import write_catalog
from catalog.demo.images import SIZE, draw_product, tones
from catalog.demo.shapes import SHAPES
from catalog.demo.vocab import COLOURS

RED, BLUE = COLOURS["red"].rgb, COLOURS["blue"].rgb


def _share_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> float:
    """The share of pixels within ``tolerance`` of ``colour`` on every channel."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    near = (np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance).all(axis=2)
    return float(near.mean())


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_draws_a_visible_product(shape: str) -> None:
    image = draw_product(shape, RED, "plain", random.Random(shape))
    same_but_blue = draw_product(shape, BLUE, "plain", random.Random(shape))
    assert image.size == (SIZE, SIZE)
    recoloured = np.abs(np.asarray(image, np.int16) - np.asarray(same_but_blue, np.int16))
    assert (recoloured.max(axis=2) > 40).mean() > 0.03  # the product covers the picture
    assert _share_near(image, RED) > 0.005
    assert _share_near(image, BLUE) == 0


def test_the_colour_is_the_items_and_variants_differ() -> None:
    blue = draw_product("jacket", BLUE, "plain", random.Random(1))
    other_view = draw_product("jacket", BLUE, "plain", random.Random(2))
    assert _share_near(blue, BLUE) > 0.15
    assert _share_near(blue, RED) == 0
    assert blue.tobytes() != other_view.tobytes()


def test_a_pattern_paints_over_the_product_only() -> None:
    plain = draw_product("tshirt", RED, "plain", random.Random(3))
    striped = draw_product("tshirt", RED, "stripes", random.Random(3))
    dotted = draw_product("mug", BLUE, "dots", random.Random(3))
    assert _share_near(striped, RED) < 0.8 * _share_near(plain, RED)
    corner = (2, 2)
    assert striped.getpixel(corner) == plain.getpixel(corner)
    assert _share_near(dotted, tones(BLUE)["accent"], tolerance=20) > 0.005


def test_written_images_are_jpegs_of_the_listed_items(tmp_path: Path) -> None:
    out = write_catalog(tmp_path / "demo", 12, seed=21, image_limit=5).out
    records = [json.loads(line) for line in (out / "catalog.jsonl").read_text().splitlines()]
    with_images = [record for record in records if "images" in record]
    assert [record["id"] for record in with_images] == [f"demo-{i:06d}" for i in range(5)]
    for record in with_images:
        for path in record["images"]:
            with Image.open(out / "images" / path) as image:
                assert (image.format, image.size, image.mode) == ("JPEG", (SIZE, SIZE), "RGB")
