"""Query understanding: what a negation rules out and what stays wanted."""

from __future__ import annotations

import pytest

from retrieval.query import DictionaryEntry, EntityDictionary, parse_query


@pytest.fixture
def dictionary() -> EntityDictionary:
    found = EntityDictionary()
    for label, name in (
        ("POI", "long battery life"),
        ("POI", "waterproof"),
        ("Concept", "power bank"),
        ("Concept", "jacket"),
    ):
        found.add(name, DictionaryEntry(label, name, name))
    return found


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
