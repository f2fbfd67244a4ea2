"""Conformance: reads (nodes, neighborhoods, paths, full text, iteration, export)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kg import GraphStore, Neighbor, NodeRef, NodeRow, Provenance, RelationRow

from .conftest import Shop

HOP_1 = [
    ("Brand", "acme"),
    ("Category", "c-boots"),
    ("Concept", "boots"),
    ("Crowd", "hikers"),
    ("POI", "breathable"),
    ("POI", "waterproof"),
    ("Scene", "rainy commute"),
    ("Value", "color|black|"),
]
HOP_2 = [
    ("Category", "c-shoes"),
    ("Concept", "footwear"),
    ("Entry", "waterproof"),
    ("Item", "boot-2"),
    ("Item", "jacket-1"),
    ("Problem", "sweaty feet"),
    ("Problem", "wet feet"),
]


def refs(found: Sequence[Neighbor]) -> list[tuple[str, str]]:
    return [(n.node.label, n.node.key) for n in found]


def test_get_node_returns_every_ontology_property(store: GraphStore, shop: Shop) -> None:
    node = store.get_node(shop.waterproof)
    assert node is not None
    assert node.name == "Waterproof"
    assert node.properties["aliases"] == ["water-resistant"]
    assert node.properties["description"] is None
    assert node.properties["extractor"] == "poi_tagger@1"
    assert node.properties["confidence"] == 0.8
    assert store.get_node(NodeRef("POI", "missing")) is None


def test_value_keys_combine_attribute_value_and_unit(store: GraphStore) -> None:
    store.upsert_nodes(
        [
            NodeRow("Value", {"attribute": "Weight", "value": "500", "unit": "g", "number": 500.0}),
            NodeRow("Value", {"attribute": "weight", "value": "500", "unit": "kg"}),
            NodeRow("Value", {"attribute": "weight", "value": "500|kg"}),
        ]
    )
    assert store.ref("Value", attribute="WEIGHT", value="500", unit="g") == NodeRef(
        "Value", "weight|500|g"
    )
    keys = [n.key for page in store.iter_nodes("Value") for n in page]
    assert keys == ["weight|500\\|kg|", "weight|500|g", "weight|500|kg"]


def test_neighborhood_is_ordered_by_distance_then_label_and_key(
    store: GraphStore, shop: Shop
) -> None:
    assert refs(store.neighborhood(shop.boot)) == HOP_1
    two = store.neighborhood(shop.boot, hops=2)
    assert refs(two) == HOP_1 + HOP_2
    assert {n.distance for n in two[: len(HOP_1)]} == {1}
    assert {n.distance for n in two[len(HOP_1) :]} == {2}
    assert two[0].node.properties["name"] == "Acme"
    assert refs(store.neighborhood(shop.boot, hops=2, limit=10)) == (HOP_1 + HOP_2)[:10]
    assert store.neighborhood(shop.boot, hops=2) == two  # deterministic


def test_neighborhood_filters(store: GraphStore, shop: Shop) -> None:
    problems = store.neighborhood(shop.boot, hops=3, labels=["Problem"])
    assert refs(problems) == [("Problem", "sweaty feet"), ("Problem", "wet feet")]
    via_poi = store.neighborhood(shop.boot, hops=2, relations=["HAS_POI", "SOLVES"])
    assert refs(via_poi) == [
        ("POI", "breathable"),
        ("POI", "waterproof"),
        ("Item", "boot-2"),
        ("Item", "jacket-1"),
        ("Problem", "sweaty feet"),
        ("Problem", "wet feet"),
    ]
    outgoing = store.neighborhood(shop.waterproof, hops=2, direction="out")
    assert refs(outgoing) == [("Problem", "wet feet")]
    incoming = store.neighborhood(shop.waterproof, direction="in")
    assert refs(incoming) == [
        ("Entry", "waterproof"),
        ("Item", "boot-1"),
        ("Item", "boot-2"),
        ("Item", "jacket-1"),
    ]


def test_neighborhood_rejects_bad_arguments(store: GraphStore, shop: Shop) -> None:
    from foundation.errors import GraphStoreError, NotFoundError, SchemaError

    with pytest.raises(GraphStoreError, match="hops must be an integer from 1 to 3"):
        store.neighborhood(shop.boot, hops=4)
    with pytest.raises(SchemaError, match="unknown relation type 'HAS_PIO'"):
        store.neighborhood(shop.boot, relations=["HAS_PIO"])
    with pytest.raises(SchemaError, match="unknown node label"):
        store.neighborhood(shop.boot, labels=["Item) DETACH DELETE (n"])
    with pytest.raises(NotFoundError, match="Item:nope does not exist"):
        store.neighborhood(NodeRef("Item", "nope"))


def test_paths_explain_why_an_item_solves_a_problem(store: GraphStore, shop: Shop) -> None:
    found = store.paths(shop.boot, shop.wet_feet)
    assert [p.describe() for p in found] == [
        "Item:boot-1 -HAS_POI-> POI:waterproof -SOLVES-> Problem:wet feet",
    ]
    path = found[0]
    assert [n.name for n in path.nodes] == ["Trail boot", "Waterproof", "wet feet"]
    assert path.relations[0].provenance.extractor == "poi_tagger@1"
    assert store.paths(shop.boot, shop.wet_feet, relations=["HAS_POI"]) == []
    between = store.paths(shop.boot, shop.jacket, max_hops=3)
    assert [p.describe() for p in between] == [
        "Item:boot-1 -HAS_POI-> POI:waterproof <-HAS_POI- Item:jacket-1",
    ]
    longer = store.paths(shop.boot, shop.city_boot, max_hops=2)
    assert [p.describe() for p in longer] == [  # shortest first, then by the nodes passed
        "Item:boot-1 -IN_CATEGORY-> Category:c-boots <-IN_CATEGORY- Item:boot-2",
        "Item:boot-1 -HAS_POI-> POI:waterproof <-HAS_POI- Item:boot-2",
    ]
    assert len(store.paths(shop.boot, shop.city_boot, max_hops=2, limit=1)) == 1


def test_lookup_by_name_and_alias(store: GraphStore, shop: Shop) -> None:
    hits = store.lookup("Waterproof")
    assert {(h.node.label, h.node.key) for h in hits if h.exact} == {
        ("POI", "waterproof"),
        ("Entry", "waterproof"),
    }
    by_alias = store.lookup("water-resistant", labels=["POI"])
    assert [(h.node.key, h.exact) for h in by_alias] == [("waterproof", True)]
    entries = store.lookup("waterproofing", labels=["Entry"])
    assert [h.node.properties["gloss"] for h in entries] == ["does not let water in"]
    partial = store.lookup("wet", labels=["Problem"])
    assert [(h.node.key, h.exact) for h in partial] == [("wet feet", False)]
    assert store.lookup("feet", labels=["Problem"], limit=1)[0].node.label == "Problem"
    assert store.lookup("") == []
    assert store.lookup("*") == []
    assert store.lookup("zebra") == []


def test_lookup_handles_words_other_indexes_drop(store: GraphStore) -> None:
    store.upsert_nodes(
        [
            NodeRow("Brand", {"name": "The Best"}),
            NodeRow("Brand", {"name": "Four"}),
            NodeRow("Brand", {"name": "Jäger 中文"}),
            NodeRow("Brand", {"name": "O'Brien's \"Choice\""}),
        ]
    )
    assert [h.node.key for h in store.lookup("best")] == ["the best"]
    assert [h.node.key for h in store.lookup("four")] == ["four"]
    assert [h.node.key for h in store.lookup("JÄGER")] == ["jäger 中文"]
    assert [h.node.key for h in store.lookup("choice")] == ["o'brien's \"choice\""]


def test_iterate_nodes_in_batches(store: GraphStore) -> None:
    store.upsert_nodes([NodeRow("Item", {"key": f"i{n:03d}"}) for n in range(25)])
    pages = list(store.iter_nodes("Item", batch_size=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    keys = [n.key for page in pages for n in page]
    assert keys == sorted(f"i{n:03d}" for n in range(25))
    assert list(store.iter_nodes("Brand")) == []


def test_relations_of_and_stats(store: GraphStore, shop: Shop) -> None:
    rels = store.relations_of(shop.waterproof)
    assert [(r.type, str(r.start), str(r.end)) for r in rels] == [
        ("DEFINES", "Entry:waterproof", "POI:waterproof"),
        ("HAS_POI", "Item:boot-1", "POI:waterproof"),
        ("HAS_POI", "Item:boot-2", "POI:waterproof"),
        ("HAS_POI", "Item:jacket-1", "POI:waterproof"),
        ("SOLVES", "POI:waterproof", "Problem:wet feet"),
    ]
    stats = store.stats()
    assert stats.nodes["Item"] == 3
    assert stats.relations["HAS_POI"] == 4
    assert (stats.total_nodes, stats.total_relations) == (17, 17)
    assert stats.schema_version == store.ontology.version
    assert len(stats.full_text_indexes) == 10


def test_export_to_networkx(store: GraphStore, shop: Shop) -> None:
    whole = store.export_networkx()
    assert (whole.number_of_nodes(), whole.number_of_edges()) == (17, 17)
    assert whole.nodes[("POI", "waterproof")]["name"] == "Waterproof"
    edge = whole.edges[("Item", "boot-1"), ("POI", "waterproof"), "HAS_POI"]
    assert edge["extractor"] == "poi_tagger@1"
    store.upsert_relations(
        [
            RelationRow(
                "HAS_POI", shop.boot, shop.waterproof, provenance=Provenance("r9", "x@2", 0.95)
            )
        ]
    )
    again = store.export_networkx(nodes=[shop.boot, shop.waterproof])
    fact = again.edges[("Item", "boot-1"), ("POI", "waterproof"), "HAS_POI"]
    assert again.number_of_edges() == 1
    assert (fact["extractor"], fact["confidence"]) == ("x@2", 0.95)
    assert [p["extractor"] for p in fact["provenance"]] == ["poi_tagger@1", "x@2"]
    part = store.export_networkx(labels=["Item", "POI", "Problem"], relations=["HAS_POI"])
    assert part.number_of_nodes() == 3 + 2 + 2
    assert sorted(part.edges(keys=True))[0] == (
        ("Item", "boot-1"),
        ("POI", "breathable"),
        "HAS_POI",
    )
    assert part.number_of_edges() == 4
    chosen = store.export_networkx(nodes=[shop.boot, shop.waterproof, shop.wet_feet])
    assert sorted(chosen.edges(keys=True)) == [
        (("Item", "boot-1"), ("POI", "waterproof"), "HAS_POI"),
        (("POI", "waterproof"), ("Problem", "wet feet"), "SOLVES"),
    ]


def test_multi_pair_relations_keep_their_endpoint_labels(store: GraphStore, shop: Shop) -> None:
    store.upsert_relations(
        [
            RelationRow("SUITS", shop.boots_concept, shop.hikers),
            RelationRow("DEFINES", shop.entry, shop.boot),
        ]
    )
    assert [(r.type, str(r.end)) for r in store.relations_of(shop.boots_concept)] == [
        ("IS_A", "Concept:footwear"),
        ("MENTIONS", "Concept:boots"),
        ("SUITS", "Crowd:hikers"),
    ]


def test_lookup_answers_alike_on_every_store_stems_case_accents_stop_words(
    store: GraphStore,
) -> None:
    """ShopKG normalizes the indexed words itself, so no store's analyzer changes an answer."""
    store.upsert_nodes(
        [
            NodeRow("Crowd", {"name": "kid"}),
            NodeRow("Crowd", {"name": "Toddlers"}),
            NodeRow("Brand", {"name": "Café Élan"}),
            NodeRow("Brand", {"name": "The New Best"}),
            NodeRow("Brand", {"name": "Glass"}),
        ]
    )

    def keys(text: str, label: str) -> list[str]:
        return [h.node.key for h in store.lookup(text, labels=[label])]

    assert keys("kids", "Crowd") == ["kid"]  # stemming: plural to singular
    assert keys("KID", "Crowd") == ["kid"]  # case
    assert keys("toddler", "Crowd") == ["toddlers"]  # and singular to plural
    assert keys("running", "Crowd") == []  # no stemming beyond plurals, on any store
    assert keys("cafe elan", "Brand") == ["café élan"]  # accents, both ways
    assert keys("CAFÉ", "Brand") == ["café élan"]
    assert keys("the", "Brand") == ["the new best"]  # stop words are words like any other
    assert keys("new", "Brand") == ["the new best"]
    assert keys("glasses", "Brand") == []  # "glasse": a plural stem, not a dictionary
