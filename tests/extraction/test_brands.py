"""A listing that names its brand only in its title gets it from the catalog's known brands."""

from __future__ import annotations

from extraction.brands import BRAND_FROM_TITLE, infer_brands
from extraction.facts import RecordFacts
from extraction.record_facts import CATALOG


def _listing(key: str, title: str, brand: str | None = None) -> RecordFacts:
    facts = RecordFacts(key)
    item = facts.add_node("Item", key, CATALOG, 1.0, name=title)
    if brand:
        node = facts.add_node("Brand", brand.lower(), CATALOG, 1.0, name=brand)
        facts.add_relation("HAS_BRAND", item, node, CATALOG, 1.0)
    return facts


def _brand(facts: RecordFacts) -> tuple[str, str, float] | None:
    for rel in facts.relations:
        if rel.type == "HAS_BRAND":
            return rel.target[1], rel.provenance.extractor, rel.provenance.confidence
    return None


def test_a_title_opening_with_a_known_brand_or_naming_it_after_by_gives_the_brand() -> None:
    records = [
        _listing("a", "Kestrel & Co Glacier Boot, Size 4", "Kestrel & Co"),
        _listing("b", "Kestrel & Co Summit Boot", "Kestrel & Co"),
        _listing("c", "Kestrel Trail Shoe", "Kestrel"),
        _listing("d", "Kestrel Road Shoe", "Kestrel"),
        _listing("e", "Kestrel & Co Ridge Boot, Navy"),  # the longest brand that fits
        _listing("f", "Frying Pan by Kestrel, 30 cm"),
        _listing("g", "Kestrelwood Table"),  # a longer word is not the brand
        _listing("h", "Plain Mug"),
    ]
    assert infer_brands(records) == 2
    assert _brand(records[4]) == ("kestrel & co", BRAND_FROM_TITLE, 0.85)
    assert _brand(records[5]) == ("kestrel", BRAND_FROM_TITLE, 0.8)
    assert _brand(records[6]) is None and _brand(records[7]) is None
    assert _brand(records[0]) == ("kestrel & co", CATALOG, 1.0)  # a stated brand stands


def test_a_brand_stated_once_or_not_leading_its_own_titles_is_not_read_from_a_start() -> None:
    records = [
        _listing("a", "Orchard Apple Juice", "Orchard"),  # stated once: not known
        _listing("b", "Fresh Juice from Sunny", "Sunny"),
        _listing("c", "Cold Juice from Sunny", "Sunny"),  # Sunny does not lead its titles
        _listing("d", "Orchard Pear Juice"),
        _listing("e", "Sunny Side Eggs"),
    ]
    assert infer_brands(records) == 0
