"""Fusion over item rows: the fused ranking is the weighted sum of what each channel finds on
its own, with constraints applied, ties broken by key, and the same head at any limit."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from foundation.text import SEARCH_TERMS, tokens
from kg import NodeRow, RelationRow, store_from_uri
from retrieval.graph_links import Linked
from retrieval.graph_postings import compute_postings
from retrieval.item_table import ItemTable
from retrieval.keyword import KeywordIndex
from retrieval.query import DictionaryEntry, EntityDictionary
from retrieval.search import (
    CHANNELS,
    FusionWeights,
    HybridSearcher,
    SearchOutcome,
    compound_parts,
)
from retrieval.vector_index import VectorIndex
from tests.retrieval.test_injection import HashingTextEncoder

COLOURS = ("red", "blue", "green", "black")
MATERIALS = ("leather", "cotton", "canvas")
KINDS = ("boot", "bag", "jacket", "belt")
QUERIES = (
    "red leather boot",
    "blue bag under $40",
    "green jacket not cotton",
    "black canvas belt over $20",
    "leather",  # a common value: many graph-only items that tie
    "bag not red leather",
    "boot not the",  # a negated stop word rules nothing out
)


def items(count: int = 240) -> dict[str, dict[str, object]]:
    rng = random.Random(7)
    rows: dict[str, dict[str, object]] = {}
    for i in range(count):
        colour, material, kind = rng.choice(COLOURS), rng.choice(MATERIALS), rng.choice(KINDS)
        title = f"{rng.choice(('classic', 'sturdy', 'everyday'))} {kind}"  # few ties in text
        rows[f"sku-{i:03d}"] = {
            "key": f"sku-{i:03d}",
            "title": title,
            "brand": "",
            "price": None if i % 17 == 0 else float(rng.randint(5, 80)),
            "values": {"colour": colour, "material": material},
        }
    return rows


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HybridSearcher]:
    rows = items()
    graph = store_from_uri(f"kuzu://{tmp_path_factory.mktemp('graph')}").open()
    nodes = [NodeRow("Item", {"key": key, "name": row["title"]}) for key, row in rows.items()]
    relations = []
    for attribute, names in (("colour", COLOURS), ("material", MATERIALS)):
        nodes += [NodeRow("Value", {"attribute": attribute, "value": name}) for name in names]
    for key, row in rows.items():
        for attribute, value in row["values"].items():  # type: ignore[attr-defined]
            relations.append(
                RelationRow(
                    "HAS_VALUE",
                    graph.ref("Item", key=key),
                    graph.ref("Value", attribute=attribute, value=value, unit=""),
                )
            )
    graph.upsert(nodes=nodes, relations=relations)
    text = HashingTextEncoder()
    documents = [(key, f"{row['title']} {row['values']}") for key, row in rows.items()]
    dense = VectorIndex("item_text", text.encoder_id, 32)
    dense.add(list(rows), text.encode([d for _, d in documents]).require_all())
    yield HybridSearcher(
        rows,
        KeywordIndex.build(documents),
        dense,
        text,
        graph,
        EntityDictionary.from_store(graph),
        postings=compute_postings(graph),
    )
    graph.close()


def reference(searcher: HybridSearcher, query: str) -> list[tuple[str, float]]:
    """Each channel alone, summed key by key with the weights, constrained, sorted: items
    satisfying more of the KG entries the query names first, then by score."""
    weights = FusionWeights()
    fused: dict[str, float] = {}
    for channel in CHANNELS:
        alone = searcher.search(query, channels=[channel], limit=0)
        for candidate in alone.candidates:
            score = getattr(weights, channel) * candidate.channels[channel]
            fused[candidate.key] = fused.get(candidate.key, 0.0) + score
    parsed = searcher.search(query, channels=["bm25"], limit=1).parsed
    allowed = []
    for key, score in fused.items():
        row = searcher.items[key]
        price = row["price"]
        if parsed.price_max is not None and (price is None or price > parsed.price_max):
            continue
        if parsed.price_min is not None and (price is None or price < parsed.price_min):
            continue
        words = set(tokens(f"{row['title']} colour {row['values']['colour']}", SEARCH_TERMS))
        words |= set(tokens(f"material {row['values']['material']}", SEARCH_TERMS))
        negated = [set(tokens(p, SEARCH_TERMS)) for p in parsed.negations]
        if any(n and n <= words for n in negated):
            continue
        if any(key in searcher.linked_items(entry) for _, entry in parsed.negated):
            continue
        allowed.append((key, score))
    spans: dict[str, set[str]] = {}
    for span, entry in parsed.entities:
        spans.setdefault(span, set()).update(searcher.linked_items(entry))
    met = {key: sum(key in linked for linked in spans.values()) for key, _ in allowed}
    return sorted(allowed, key=lambda pair: (-met[pair[0]], -pair[1], pair[0]))


def ranking(outcome: SearchOutcome) -> list[tuple[str, float]]:
    return [(c.key, c.score) for c in outcome.candidates]


@pytest.mark.parametrize("query", QUERIES)
def test_fused_ranking_is_the_weighted_sum_of_the_channels(
    searcher: HybridSearcher, query: str
) -> None:
    everything = searcher.search(query, limit=0)
    expected = reference(searcher, query)
    assert [key for key, _ in ranking(everything)] == [key for key, _ in expected]
    assert [s for _, s in ranking(everything)] == pytest.approx([s for _, s in expected])
    assert everything.total == len(expected) > 0
    for limit in (1, 3, 10, 50):
        head = searcher.search(query, limit=limit)
        assert head.candidates == everything.candidates[:limit]
        assert head.total == everything.total


def test_every_hit_says_which_channels_found_it_and_why(searcher: HybridSearcher) -> None:
    outcome = searcher.search("red leather boot", limit=0)
    for candidate in outcome.candidates:
        row = searcher.items[candidate.key]
        reasons = []
        if row["values"]["colour"] == "red":
            reasons.append("has colour red")
        if row["values"]["material"] == "leather":
            reasons.append("has material leather")
        assert candidate.reasons == reasons
        assert ("graph" in candidate.channels) == bool(reasons)
        assert candidate.score == pytest.approx(
            sum(getattr(FusionWeights(), c) * s for c, s in candidate.channels.items())
        )


def test_negations_and_prices_filter_every_candidate(searcher: HybridSearcher) -> None:
    outcome = searcher.search("jacket not leather under $30", limit=0)
    assert outcome.candidates
    for candidate in outcome.candidates:
        row = searcher.items[candidate.key]
        assert row["values"]["material"] != "leather"
        assert row["price"] is not None and row["price"] <= 30


def test_item_table_finds_rows_by_words_and_price(tmp_path: Path) -> None:
    table = ItemTable(
        {
            "a": {"title": "Red boots", "price": 10.0, "values": {"material": "suede"}},
            "b": {"title": "red scarf", "brand": "Acme", "price": None},
            "c": {"title": "Blue boot", "price": "12"},  # not a number: no price
        }
    )
    assert table.rows_of(["c", "missing", "a"]).tolist() == [2, 0]
    assert table.holding(frozenset({"red", "boot"})).tolist() == [True, False, False]
    assert table.holding(frozenset({"acme"})).tolist() == [False, True, False]
    assert not table.holding(frozenset({"red", "unknown"})).any()
    everything = np.ones(3, dtype=bool)
    assert table.within(everything.copy(), None, 11.0).tolist() == [True, False, False]
    assert table.within(everything.copy(), 11.0, None).tolist() == [False, False, False]
    assert table.key_rank.tolist() == [0, 1, 2]


def _holds(searcher: HybridSearcher, key: str, *values: str) -> bool:
    row = searcher.items[key]["values"]
    return all(v in row.values() for v in values)


def test_items_meeting_every_named_constraint_rank_first_and_the_match_is_exact(
    searcher: HybridSearcher,
) -> None:
    outcome = searcher.search("classic red leather", limit=0)
    both = sum(_holds(searcher, key, "red", "leather") for key in searcher.items)
    assert outcome.match == "exact" and outcome.relaxed == [] and both > 0
    assert outcome.constraints == ["red", "leather"]
    # how many match is how many meet both, fewer than for "leather" alone: narrowing
    # a query never reads as more
    assert outcome.exact_total == both < outcome.total
    assert searcher.search("classic leather", limit=1).exact_total > both
    head = [c.key for c in outcome.candidates[:both]]
    assert all(_holds(searcher, key, "red", "leather") for key in head)
    assert not any(_holds(searcher, c.key, "red", "leather") for c in outcome.candidates[both:])


def test_when_nothing_meets_every_constraint_the_closest_come_with_what_they_miss(
    searcher: HybridSearcher,
) -> None:
    priced = [
        (row["price"], key) for key, row in searcher.items.items() if row["price"] is not None
    ]
    cheapest_red_leather = min(p for p, key in priced if _holds(searcher, key, "red", "leather"))
    cheapest = min(p for p, _ in priced)
    assert cheapest < cheapest_red_leather  # some item is cheaper than every red leather one
    bound = cheapest_red_leather - 1
    outcome = searcher.search(f"red leather under ${bound:g}", limit=0)
    stated = [f"under {bound:g}", "red", "leather"]
    assert outcome.constraints == stated
    assert outcome.match == "relaxed" and len(outcome.relaxed) == 1  # two of three are met
    assert outcome.exact_total == 0 < outcome.total
    first = outcome.candidates[0].key
    price = searcher.items[first]["price"]
    met = {
        stated[0]: price is not None and price <= bound,
        "red": _holds(searcher, first, "red"),
        "leather": _holds(searcher, first, "leather"),
    }
    assert [name for name, ok in met.items() if not ok] == outcome.relaxed


def test_a_price_nothing_meets_is_relaxed_and_said_rather_than_answered_with_nothing(
    searcher: HybridSearcher,
) -> None:
    outcome = searcher.search("red bag over $1000", limit=5)
    assert outcome.match == "relaxed" and outcome.relaxed == ["over 1000"]
    assert outcome.candidates and all(_holds(searcher, c.key, "red") for c in outcome.candidates)


def test_a_negated_kg_value_rules_out_every_item_holding_it(searcher: HybridSearcher) -> None:
    outcome = searcher.search("not red leather", limit=0)
    assert outcome.parsed.negations == ["red"] and outcome.parsed.text == "leather"
    assert outcome.candidates
    assert not any(_holds(searcher, c.key, "red") for c in outcome.candidates)
    assert _holds(searcher, outcome.candidates[0].key, "leather")  # still wanted


def test_a_compound_entry_is_met_by_an_item_holding_each_of_its_parts(tmp_path: Path) -> None:
    """ "windproof beanie" names a concept mined from titles; a beanie the KG knows is
    windproof meets it too, whatever its title says, and outranks one that is not."""
    rows = {
        "titled": {"key": "titled", "title": "nordic windproof beanie", "price": 20.0},
        "said": {"key": "said", "title": "frost beanie", "price": 20.0},
        "plain": {"key": "plain", "title": "frost beanie classic", "price": 20.0},
        "hood": {"key": "hood", "title": "windproof hood", "price": 20.0},
    }
    graph = store_from_uri(f"kuzu://{tmp_path / 'graph'}").open()
    try:
        nodes = [NodeRow("Item", {"key": key, "name": row["title"]}) for key, row in rows.items()]
        nodes += [
            NodeRow("Concept", {"name": "windproof beanie"}),
            NodeRow("Concept", {"name": "beanie"}),
            NodeRow("POI", {"name": "windproof"}),
            NodeRow("Scene", {"name": "hiking"}),
        ]
        links = [
            ("titled", "MENTIONS", graph.ref("Concept", name="windproof beanie")),
            ("titled", "MENTIONS", graph.ref("Concept", name="beanie")),
            ("said", "MENTIONS", graph.ref("Concept", name="beanie")),
            ("plain", "MENTIONS", graph.ref("Concept", name="beanie")),
            ("titled", "HAS_POI", graph.ref("POI", name="windproof")),
            ("said", "HAS_POI", graph.ref("POI", name="windproof")),
            ("hood", "HAS_POI", graph.ref("POI", name="windproof")),
        ]
        relations = [RelationRow(kind, graph.ref("Item", key=k), end) for k, kind, end in links]
        graph.upsert(nodes=nodes, relations=relations)
        text = HashingTextEncoder()
        documents = [(key, str(row["title"])) for key, row in rows.items()]
        dense = VectorIndex("item_text", text.encoder_id, 32)
        dense.add(list(rows), text.encode([d for _, d in documents]).require_all())
        dictionary = EntityDictionary.from_store(graph)
        assert compound_parts(["windproof", "beanie"], dictionary) == [
            ("windproof",),
            ("beanie",),
        ]
        assert compound_parts(["windproof"], dictionary) is None
        # a use is no part of what a thing is: "hiking beanie" is not a beanie for hiking
        assert compound_parts(["hiking", "beanie"], dictionary) is None
        searcher = HybridSearcher(
            rows, KeywordIndex.build(documents), dense, text, graph, dictionary
        )
        outcome = searcher.search("windproof beanie", limit=0)
        assert outcome.constraints == ["windproof beanie"] and outcome.match == "exact"
        keys = [c.key for c in outcome.candidates]
        assert set(keys[:2]) == {"titled", "said"}
        assert set(keys[2:]) <= {"plain", "hood"}
        said = next(c for c in outcome.candidates if c.key == "said")
        assert {"windproof", "is a beanie"} <= set(said.reasons)  # why it meets the span
    finally:
        graph.close()


def test_the_share_of_query_words_the_catalog_has_ignores_stop_words_and_numbers() -> None:
    index = KeywordIndex.build([("a", "Waterproof T-Shirt in blue"), ("b", "Rain jacket 100 ml")])
    assert index.known_share("waterproof jackets") == 1.0
    assert index.known_share("the waterproof blorp") == 0.5
    assert index.known_share("Regenjacke für Damen unter 100 Euro") == 0.0
    assert index.known_share("青いTシャツ") == 0.0  # another script's word, "t" or not
    assert index.known_share("the 100") == 1.0  # nothing to judge


def test_an_items_own_value_of_the_named_attribute_rules_out_its_other_links(
    searcher: HybridSearcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A span met through a crowd or a concept is not met by an item whose own value of the
    attribute the span names is another one; a span naming values of two attributes rules
    out only the items contradicting both."""
    entries = {e.name: e for es in searcher.dictionary.phrases.values() for e in es}
    blue, leather = entries["blue"], entries["leather"]
    colours = {key: row["values"]["colour"] for key, row in searcher.items.items()}
    materials = {key: row["values"]["material"] for key, row in searcher.items.items()}
    crowd = DictionaryEntry("Crowd", "everyone", "everyone")  # say it links every item
    real = searcher.links.linked_rows
    every = Linked.of(np.arange(len(searcher.table), dtype=np.int64))
    monkeypatch.setattr(searcher.links, "linked_rows", lambda e: every if e == crowd else real(e))
    met = searcher._span_rows("blue", [blue, crowd], [])
    assert {k for k in colours if met[searcher.table.rows[k]]} == {
        k for k, colour in colours.items() if colour == "blue"
    }
    both = searcher._span_rows("blue", [blue, leather, crowd], [])
    assert {k for k in colours if both[searcher.table.rows[k]]} == {
        k for k in colours if colours[k] == "blue" or materials[k] == "leather"
    }
