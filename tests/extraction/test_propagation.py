"""A feature phrase that the catalog shows states a POI gives that POI to every item saying it."""

from __future__ import annotations

from extraction.facts import RecordFacts
from extraction.propagation import PROPAGATION, learn_rules, propagate_pois
from extraction.record_facts import NEEDS


def _record(key: str, phrases: list[str], pois: list[str]) -> RecordFacts:
    facts = RecordFacts(key, feature_phrases=phrases)
    for poi in pois:
        node = facts.add_node("POI", poi, NEEDS, 0.85)
        facts.add_relation("HAS_POI", ("Item", key), node, NEEDS, 0.85)
    return facts


def _catalog() -> list[RecordFacts]:
    said = [_record(f"h{i}", ["reflective details"], ["reflective"]) for i in range(6)]
    unsaid = [_record(f"u{i}", ["reflective details", "soft lining"], []) for i in range(3)]
    rare = [_record("r0", ["odd phrase"], ["waterproof"])]
    generic = [
        _record(f"g{i}", ["lightweight design"], ["insulated"] if i < 4 else []) for i in range(7)
    ]
    return [*said, *unsaid, *rare, *generic]


def test_a_phrase_most_items_bear_out_states_its_poi_and_a_rare_or_loose_one_does_not() -> None:
    rules = {(r.phrase, r.poi): r for r in learn_rules(_catalog())}
    assert set(rules) == {("reflective details", "reflective")}
    assert rules["reflective details", "reflective"].share == round(6 / 9, 4)
    # "lightweight design" → insulated: 4 of 7, but the phrase never names the POI (needs 0.9)


def test_items_that_say_the_phrase_get_the_poi_with_provenance_and_a_lower_confidence() -> None:
    records = _catalog()
    before = [list(r.relations) for r in records]
    assert propagate_pois(records) == 3
    added = [rel for r in records for rel in r.relations if rel.provenance.extractor == PROPAGATION]
    assert {rel.source[1] for rel in added} == {"u0", "u1", "u2"}
    assert all(rel.target == ("POI", "reflective") for rel in added)
    assert all(rel.properties["evidence"] == "reflective details" for rel in added)
    assert all(rel.provenance.confidence == round(6 / 9 * 0.9, 3) for rel in added)
    # the items that stated it themselves are unchanged
    assert [list(r.relations) for r in records[:6]] == before[:6]
