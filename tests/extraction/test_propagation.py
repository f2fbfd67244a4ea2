"""A feature phrase that the catalog shows states a POI gives that POI to every item saying it."""

from __future__ import annotations

from extraction.facts import RecordFacts
from extraction.propagation import (
    MODIFIER_CONFIDENCE,
    PROPAGATION,
    learn_rules,
    propagate_pois,
    qualified_pois,
)
from extraction.record_facts import NEEDS


def _record(
    key: str, phrases: list[str], pois: list[str], titles: list[str] | None = None
) -> RecordFacts:
    facts = RecordFacts(key, feature_phrases=phrases, concept_candidates=titles or [])
    for poi in pois:
        node = facts.add_node("POI", poi, NEEDS, 0.85)
        facts.add_relation("HAS_POI", ("Item", key), node, NEEDS, 0.85)
    return facts


def _catalog() -> list[RecordFacts]:
    # four items hold "reflective" from their own text: too few for a POI the catalog knows
    said = [_record(f"h{i}", ["reflective details"], ["reflective"]) for i in range(4)]
    unsaid = [_record(f"u{i}", ["reflective details", "soft lining"], []) for i in range(2)]
    rare = [_record("r0", ["odd phrase"], ["waterproof"])]
    generic = [
        _record(f"g{i}", ["lightweight design"], ["insulated"] if i < 4 else []) for i in range(7)
    ]
    return [*said, *unsaid, *rare, *generic]


def test_a_phrase_most_items_bear_out_states_its_poi_and_a_rare_or_loose_one_does_not() -> None:
    rules = {(r.phrase, r.poi): r for r in learn_rules(_catalog())}
    assert set(rules) == {("reflective details", "reflective")}
    assert rules["reflective details", "reflective"].share == round(4 / 6, 4)
    # "lightweight design" → insulated: 4 of 7, but the phrase never names the POI (needs 0.9)


def test_items_that_say_the_phrase_get_the_poi_with_provenance_and_a_lower_confidence() -> None:
    records = _catalog()
    before = [list(r.relations) for r in records]
    assert propagate_pois(records) == 2
    added = [rel for r in records for rel in r.relations if rel.provenance.extractor == PROPAGATION]
    assert {rel.source[1] for rel in added} == {"u0", "u1"}
    assert all(rel.target == ("POI", "reflective") for rel in added)
    assert all(rel.properties["evidence"] == "reflective details" for rel in added)
    assert all(rel.provenance.confidence == round(4 / 6 * 0.9, 3) for rel in added)
    # the items that stated it themselves are unchanged
    assert [list(r.relations) for r in records[:4]] == before[:4]


def test_a_known_poi_named_in_a_phrase_states_it_and_a_rare_or_partial_name_does_not() -> None:
    known = {
        ("high", "protein"): "high protein",
        ("reflective",): "reflective",
        ("arch", "support"): "arch support",
        ("quick", "dry"): "quick-dry",
    }
    assert qualified_pois("high protein recipe", known) == ["high protein"]
    assert qualified_pois("reflective road running shoe", known) == ["reflective"]
    assert qualified_pois("contoured arch support", known) == ["arch support"]
    assert qualified_pois("quick-dry fabric", known) == ["quick-dry"]
    assert qualified_pois("reflective", known) == ["reflective"]
    assert qualified_pois("protein recipe", known) == []
    assert qualified_pois("semi-reflective trim", known) == []

    holders = [_record(f"h{i}", [], ["high protein"]) for i in range(5)]
    few = [_record(f"f{i}", [], ["fair trade"]) for i in range(4)]
    bar = _record("bar", ["high protein recipe"], [])
    titled = _record("titled", [], [], titles=["high protein protein bar"])
    beans = _record("beans", ["fair trade sourcing"], [])  # fair trade: only 4 items hold it
    records = [*holders, *few, bar, titled, beans]
    assert propagate_pois(records) == 2
    added = {
        rel.source[1]: rel
        for r in records
        for rel in r.relations
        if rel.provenance.extractor == PROPAGATION
    }
    assert set(added) == {"bar", "titled"}
    assert added["bar"].target == ("POI", "high protein")
    assert added["bar"].properties["evidence"] == "high protein recipe"
    assert added["titled"].provenance.confidence == MODIFIER_CONFIDENCE


def test_a_phrase_that_covers_a_poi_states_it_where_the_poi_is_never_named() -> None:
    # decaf coffees say "swiss water decaffeination"; only the five titled "… Decaf …" hold
    # decaf, so 5 of 10 items with the phrase hold it: too few for a share rule, but every
    # decaf item has the phrase, and no item without it is decaf
    titled = [_record(f"t{i}", ["swiss water decaffeination"], ["decaf"]) for i in range(5)]
    untitled = [_record(f"u{i}", ["swiss water decaffeination"], []) for i in range(5)]
    # "hypoallergenic fill" is in 11 of the 12 soft pillows' texts, but most items with it
    # are not soft: it goes with the POI, it does not state it
    soft = [_record(f"s{i}", ["hypoallergenic fill"], ["soft"]) for i in range(11)]
    plain = [_record(f"p{i}", ["hypoallergenic fill"], []) for i in range(51)]
    other = [_record(f"o{i}", ["cosy knit"], ["soft"] if i == 0 else []) for i in range(40)]
    records = [*titled, *untitled, *soft, *plain, *other]
    rules = {(r.phrase, r.poi): r for r in learn_rules(records)}
    assert set(rules) == {("swiss water decaffeination", "decaf")}
    rule = rules["swiss water decaffeination", "decaf"]
    assert (rule.share, rule.cover, rule.confidence) == (0.5, 1.0, 0.9)
    assert propagate_pois(records) == 5
    added = [rel for r in records for rel in r.relations if rel.provenance.extractor == PROPAGATION]
    assert {rel.source[1] for rel in added} == {f"u{i}" for i in range(5)}
    assert {rel.target for rel in added} == {("POI", "decaf")}


def test_a_phrase_in_its_own_words_stands_for_the_one_poi_it_covers_best() -> None:
    # chargers saying "multiple ports" are multi-port where their title says so, and often
    # have overheat protection too: the phrase covers both, but states only the first
    ports = [
        _record(
            f"c{i}",
            ["multiple ports"],
            (["multi-port"] if i < 5 else []) + (["overheat protection"] if i % 2 else []),
        )
        for i in range(10)
    ]
    other = [_record("o0", ["cool case"], ["overheat protection"])]
    rest = [_record(f"r{i}", ["soft lining"], []) for i in range(60)]
    rules = {(r.phrase, r.poi): r for r in learn_rules([*ports, *other, *rest])}
    assert set(rules) == {("multiple ports", "multi-port")}
    assert rules["multiple ports", "multi-port"].cover == 1.0
