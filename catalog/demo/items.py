"""One generated demo item: its facts, its catalog record and its ground truth.

An item is drawn from its own random generator, seeded from ``(seed, index)``, so it is the
same whichever catalog it is part of. The facts (type, brand, values, POIs, problems, scenes,
crowds) are decided first and the record's text is written from them by
:mod:`catalog.demo.text` and :mod:`catalog.demo.reviews`; the facts become the
:class:`catalog.demo.truth.Truth`. See :mod:`catalog.demo.generate` for the catalog as a whole.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from catalog.demo.products import DEPARTMENTS, Attribute, ProductType
from catalog.demo.reviews import make_qa, make_reviews
from catalog.demo.text import (
    AUDIENCE_VALUES,
    Draft,
    make_bullets,
    make_description,
    make_title,
    phrases,
    pick,
    some,
)
from catalog.demo.truth import Truth
from catalog.demo.vocab import COLOURS, PROBLEMS, UNIT_FORMS

MODEL_SUFFIXES = ("", "", "", " 2", " 3", " Pro", " Lite", " X", " Plus")
PATTERNS = {"striped": "stripes", "polka dot": "dots"}
IMAGE_COLOURS = tuple(COLOURS)  # packaging colours of items without a colour attribute


class DemoItem(NamedTuple):
    """One generated item: its catalog record (ShopKG's record schema) and its truth."""

    record: dict[str, Any]
    truth: Truth


def item_id(index: int) -> str:
    return f"demo-{index:06d}"


def image_paths(index: int, views: int) -> list[str]:
    """Paths of item ``index``'s images relative to the image directory (1,000 per folder)."""
    stem = f"{index // 1000:04d}/{item_id(index)}"
    return [f"{stem}.jpg" if view == 0 else f"{stem}-{view + 1}.jpg" for view in range(views)]


def item_rng(seed: int, index: int, purpose: str = "") -> random.Random:
    """The random generator of one item (and purpose): seeded from the values, not a sequence."""
    # demo data, not security: a reproducible PRNG is the point
    return random.Random(f"{seed}:{index}{':' + purpose if purpose else ''}")  # noqa: S311


def _value(
    rng: random.Random, attribute: Attribute, audience: str | None
) -> tuple[str, str, float | None]:
    """(canonical value, the way the record writes it, rank 0..1 for quantities)."""
    if attribute.numbers:
        assert attribute.unit is not None
        position = int(rng.random() * len(attribute.numbers))
        number = attribute.numbers[position]
        forms = UNIT_FORMS[attribute.unit]
        shown = forms[0] if rng.random() < 0.6 else pick(rng, forms[1:])
        rank = position / (len(attribute.numbers) - 1) if len(attribute.numbers) > 1 else 0.5
        return forms[0](number), shown(number), rank
    pool = (
        attribute.kids_values if audience == "kids" and attribute.kids_values else attribute.values
    )
    value = pick(rng, pool)
    if attribute.name == "colour":
        spellings = COLOURS[value].spellings
        spelt = pick(rng, spellings) if spellings and rng.random() < 0.25 else value
        return value, spelt.title(), None
    return value, value, None


def _draft(rng: random.Random) -> tuple[Draft, list[float]]:
    """Decide an item's facts: type, brand, attribute values, POIs, problems, scenes, crowds.

    Also returns the quantities' ranks within their type's range, which the price follows.
    """
    department = pick(rng, DEPARTMENTS)
    kind = pick(rng, department.types)
    brand = pick(rng, department.brands)
    model = pick(rng, kind.models) + pick(rng, MODEL_SUFFIXES)
    audience = pick(rng, kind.audiences) if kind.audiences else None
    values: dict[str, str] = {}
    surfaces: dict[str, str] = {}
    ranks: list[float] = []
    for attribute in kind.attributes:
        canonical, surface, rank = _value(rng, attribute, audience)
        values[attribute.name], surfaces[attribute.name] = canonical, surface
        if rank is not None:
            ranks.append(rank)
    if audience:
        values["audience"], surfaces["audience"] = audience, AUDIENCE_VALUES[audience]
    solves = {pick(rng, PROBLEMS[p].pois): p for p in some(rng, kind.problems, 3)}
    pois = tuple(poi for poi in kind.pois if poi in solves)
    crowds = some(rng, kind.crowds, 2)
    if audience == "kids" and "kids" not in crowds:
        crowds.append("kids")
    scenes = (*some(rng, kind.scenes, 2),)
    draft = Draft(kind, brand, model, audience, values, surfaces, pois, solves, scenes, (*crowds,))
    return draft, ranks


def _listed(rng: random.Random, draft: Draft) -> tuple[dict[str, str], dict[str, Any]]:
    """The record's structured attributes, with a real catalog's noise: now and then one left
    out, "color" for "colour", numbers as numbers. Returns (canonical name → key, attributes)."""
    names = list(draft.values)
    dropped = pick(rng, names[1:]) if len(names) > 1 and rng.random() < 0.12 else None
    colour_key = "color" if rng.random() < 0.15 else "colour"
    listed = {name: colour_key if name == "colour" else name for name in names if name != dropped}
    attributes: dict[str, Any] = {}
    for name, key in listed.items():
        surface: Any = draft.surfaces[name]
        if rng.random() < 0.3 and surface[:1].isdigit() and surface.replace(".", "", 1).isdigit():
            number = float(surface)
            surface = int(number) if number.is_integer() else number
        attributes[key] = surface
    return listed, attributes


def _price(rng: random.Random, kind: ProductType, ranks: list[float]) -> float:
    """A shelf price in the type's range; bigger capacities and powers cost more."""
    low, high = kind.price
    spread = rng.random()
    share = 0.5 * sum(ranks) / len(ranks) + 0.5 * spread if ranks else spread
    cents = pick(rng, (99, 99, 95, 49, 0))
    return round(int(low + (high - low) * share) + cents / 100, 2)


def make_item(index: int, seed: int = 0, *, with_images: bool = False) -> DemoItem:
    """Item ``index`` of the catalog seeded ``seed``; ``with_images`` lists its image paths.

    The random draws never depend on ``with_images`` or on other items, so the record and
    truth are the same however the catalog is cut. Optional fields are left out of a few
    records, as in a real catalog.
    """
    rng = item_rng(seed, index)
    draft, ranks = _draft(rng)
    kind = draft.kind
    fields = phrases(draft)
    title = make_title(rng, draft)
    description = make_description(rng, draft, fields)
    bullets = make_bullets(rng, draft)
    listed, attributes = _listed(rng, draft)
    price = _price(rng, kind, ranks)
    quality = 1 - 0.8 * rng.random() ** 2.5  # mostly good, as shop ratings are
    review_count = 0 if rng.random() < 0.3 else 1 + int(rng.random() * 5)
    reviews, claims = make_reviews(rng, draft, fields, quality, review_count)
    qa_count = 0 if rng.random() < 0.4 else 1 + int(rng.random() * 3)
    qa = make_qa(rng, draft, attributes, listed, qa_count)
    views = 2 if rng.random() < 0.15 else 1
    image_colour = draft.values.get("colour") or pick(rng, IMAGE_COLOURS)
    keep = [rng.random() for _ in range(5)]

    record: dict[str, Any] = {"id": item_id(index), "title": title}
    if keep[0] > 0.04:
        record["description"] = description
    if keep[1] > 0.08:
        record["bullets"] = bullets
    record["attributes"] = attributes
    record["category"] = list(kind.category)
    if keep[2] > 0.05:
        record["brand"] = draft.brand
    if keep[3] > 0.03:
        record["price"] = price
        if keep[4] > 0.15:
            record["currency"] = "USD"
    if with_images:
        record["images"] = image_paths(index, views)
    if reviews:
        record["reviews"] = reviews
    if qa:
        record["qa"] = qa
    truth = Truth(
        id=item_id(index),
        index=index,
        seed=seed,
        department=kind.category[0],
        concept=kind.name,
        category=kind.category,
        brand=draft.brand,
        model=draft.model,
        attributes=draft.values,
        listed=listed,
        pois=draft.pois,
        problems=tuple(
            p for p in kind.problems if any(poi in draft.pois for poi in PROBLEMS[p].pois)
        ),
        scenes=draft.scenes,
        crowds=draft.crowds,
        review_claims=tuple(claims),
        image_colour=image_colour,
        pattern=PATTERNS.get(draft.values.get("pattern", ""), "plain"),
    )
    return DemoItem(record, truth)
