"""Query understanding: what a negation rules out and what stays wanted."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg import NodeRow, store_from_uri
from retrieval.query import DictionaryEntry, EntityDictionary, parse_query


def _dictionary(*entries: tuple[str, str, str]) -> EntityDictionary:
    """A dictionary of ``(label, name, attribute)`` entries, each keyed by its name."""
    found = EntityDictionary()
    for label, name, attribute in entries:
        found.add(name, DictionaryEntry(label, name, name, attribute))
    return found


@pytest.fixture
def dictionary() -> EntityDictionary:
    return _dictionary(
        ("POI", "long battery life", ""),
        ("POI", "waterproof", ""),
        ("Concept", "power bank", ""),
        ("Concept", "jacket", ""),
    )


@pytest.mark.parametrize(
    ("query", "negated", "wanted"),
    [
        ("power banks not long battery life", ["long battery life"], "power banks"),
        ("not waterproof jacket for kids", ["waterproof"], "jacket for kids"),
        ("jacket without waterproof under 100", ["waterproof"], "jacket"),
        ("jacket not shiny", ["shiny"], "jacket"),  # no KG phrase: the first word
    ],
)
def test_a_negation_rules_out_the_longest_kg_phrase_after_it(
    dictionary: EntityDictionary, query: str, negated: list[str], wanted: str
) -> None:
    parsed = parse_query(query, dictionary)
    assert parsed.negations == negated
    assert parsed.text == wanted
    assert not any(span in negated for span, _ in parsed.entities)


def test_non_hyphen_names_a_feature_and_two_negations_rule_out_two_things(
    dictionary: EntityDictionary,
) -> None:
    dictionary.add("non-stick", DictionaryEntry("POI", "non-stick", "non-stick"))
    parsed = parse_query("non-stick pans not waterproof", dictionary)
    assert parsed.negations == ["waterproof"]
    assert ("non stick", "POI") in {(span, e.label) for span, e in parsed.entities}
    parsed = parse_query("jacket not waterproof not long battery life", dictionary)
    assert parsed.negations == ["waterproof", "long battery life"]
    assert parsed.text == "jacket"


@pytest.fixture
def shop() -> EntityDictionary:
    return _dictionary(
        ("POI", "waterproof", ""),
        ("POI", "non-stick", ""),
        ("POI", "ankle support", ""),
        ("Concept", "waterproof hiking boot", ""),
        ("Category", "hiking boot", ""),
        ("Category", "sandal", ""),
        ("Value", "women", "audience"),
        ("Value", "grey", "color"),
        ("Value", "blue", "color"),
        ("Value", "green", "color"),
        ("Value", "light blue", "color"),
        ("Value", "dark", "roast"),
    )


@pytest.mark.parametrize(
    ("query", "negated", "wanted"),
    [
        ("boots that aren't waterproof", ["waterproof"], "boots that"),
        ("boots which isn't waterproof", ["waterproof"], "boots which"),
        ("boots w/o ankle support", ["ankle support"], "boots"),
        ("boots excluding waterproof", ["waterproof"], "boots"),
        ("boots that don't have ankle support", ["ankle support"], "boots that"),
        ("non-waterproof hiking boots", ["waterproof"], "hiking boots"),
        ("non-stick pan", [], "non-stick pan"),  # a feature, no negation
        ("boots anything but grey", ["grey"], "boots"),
    ],
)
def test_other_ways_of_saying_not_rule_out_the_property(
    shop: EntityDictionary, query: str, negated: list[str], wanted: str
) -> None:
    parsed = parse_query(query, shop)
    assert parsed.negations == negated
    assert parsed.text == wanted


@pytest.mark.parametrize(
    ("query", "low", "high"),
    [
        ("boots from $50 to $100", 50, 100),
        ("boots $50-$100", 50, 100),
        ("boots no more than 80 dollars", None, 80),
        ("boots up to 80 bucks", None, 80),
        ("boots not more than 80", None, 80),
        ("boots at least $40", 40, None),
        ("boots $100 or less", None, 100),
        ("boots 100 dollars max", None, 100),
        ("boots 40 and up", 40, None),
        ("boots under fifty dollars", None, 50),
        ("boots between forty and a hundred and twenty", 40, 120),
        ("size 10 boots for one", None, None),  # no price: numbers stay as they are
    ],
)
def test_price_bounds_as_shoppers_write_them(
    shop: EntityDictionary, query: str, low: float | None, high: float | None
) -> None:
    parsed = parse_query(query, shop)
    assert (parsed.price_min, parsed.price_max) == (low, high)
    assert not parsed.negations


def _named(query: str, dictionary: EntityDictionary) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for span, entry in parse_query(query, dictionary).entities:
        found.setdefault(span, set()).add(f"{entry.label}:{entry.name}")
    return found


def test_synonyms_spellings_and_possessives_name_the_kgs_own_entries(
    shop: EntityDictionary,
) -> None:
    assert _named("ladies gray sandals", shop)["ladie"] == {"Value:women"}
    assert _named("sandals for her", shop)["her"] == {"Value:women"}
    assert _named("women's sandals", shop)["women'"] == {"Value:women"}
    shop.add("Levi's", DictionaryEntry("Brand", "levi's", "Levi's"))
    assert _named("levi's jeans", shop)["levi'"] == {"Brand:Levi's"}  # a possessive name
    assert _named("gray sandals", shop)["gray"] == {"Value:grey"}
    # a shade the KG lacks is its basic colour; one it holds stays itself
    assert _named("dark blue sandals", shop)["dark blue"] == {"Value:blue"}
    assert _named("light blue sandals", shop)["light blue"] == {"Value:light blue"}
    assert _named("dark roast", shop)["dark"] == {"Value:dark"}


def test_alternatives_joined_by_or_make_one_constraint(shop: EntityDictionary) -> None:
    assert _named("blue or green sandals", shop) == {
        "blue or green": {"Value:blue", "Value:green"},
        "sandal": {"Category:sandal"},
    }
    assert _named("hiking boots or sandals in grey", shop) == {
        "hiking boot or sandal": {"Category:hiking boot", "Category:sandal"},
        "grey": {"Value:grey"},
    }
    # a colour or a kind: two constraints, as before
    assert set(_named("blue or sandals", shop)) == {"blue", "sandal"}


def test_a_scene_named_by_an_activity_is_named_by_the_activity_alone(tmp_path: Path) -> None:
    store = store_from_uri(f"kuzu://{tmp_path / 'graph'}").open()
    try:
        store.upsert(
            nodes=[
                NodeRow("Scene", {"name": "camping trip"}),
                NodeRow("Scene", {"name": "busy morning"}),
                NodeRow("Category", {"key": "outdoor > headlamps", "name": "Headlamps"}),
            ]
        )
        dictionary = EntityDictionary.from_store(store)
    finally:
        store.close()
    assert _named("headlamps for camping", dictionary)["camping"] == {"Scene:camping trip"}
    assert "busy" not in _named("busy headlamps", dictionary)  # "busy" is no activity
