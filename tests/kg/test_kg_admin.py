"""Conformance: merge, delete, fact replacement, persistence, concurrency and migration."""

from __future__ import annotations

import threading

import pytest

from foundation.errors import GraphStoreError, NotFoundError, SchemaError
from kg import (
    SHOPKG_ONTOLOGY,
    GraphStore,
    NodeRef,
    NodeRow,
    NodeType,
    Ontology,
    Property,
    PropType,
    Provenance,
    RelationRow,
    RelationType,
)

from .conftest import TAGGER, Shop, StoreFactory


def test_merge_moves_relations_and_keeps_provenance(store: GraphStore, shop: Shop) -> None:
    other = Provenance(source="review#9", extractor="review_miner@2", confidence=0.6)
    store.upsert(
        nodes=[NodeRow("POI", {"name": "water proof", "description": "keeps rain out"}, other)],
        relations=[
            RelationRow("HAS_POI", shop.city_boot, NodeRef("POI", "water proof"), provenance=other),
            RelationRow("SOLVES", NodeRef("POI", "water proof"), shop.wet_feet, provenance=TAGGER),
            RelationRow("SIMILAR_TO", NodeRef("POI", "water proof"), shop.waterproof),
        ],
    )
    report = store.merge_nodes(shop.waterproof, NodeRef("POI", "water proof"))
    assert report.relations_moved == {"HAS_POI": 1}
    assert len(report.relations_dropped) == 2  # SOLVES is a duplicate, SIMILAR_TO would loop
    assert report.properties_filled == ("description",)
    assert report.aliases_added == ("water proof",)
    assert report.merged_node["description"] == "keeps rain out"
    assert report.to_dict()["kept"] == {"label": "POI", "key": "waterproof"}
    assert store.get_node(NodeRef("POI", "water proof")) is None
    kept = store.get_node(shop.waterproof)
    assert kept is not None
    assert kept.properties["aliases"] == ["water-resistant", "water proof"]
    assert kept.properties["description"] == "keeps rain out"
    moved = [r for r in store.relations_of(shop.city_boot) if r.type == "HAS_POI"]
    assert sorted((str(r.end), r.provenance.extractor) for r in moved) == [
        ("POI:waterproof", "poi_tagger@1"),
        ("POI:waterproof", "review_miner@2"),
    ]
    assert [h.node.key for h in store.lookup("water proof", labels=["POI"]) if h.exact] == [
        "waterproof"
    ]


def test_merge_rejects_nonsense(store: GraphStore, shop: Shop) -> None:
    with pytest.raises(SchemaError, match="cannot merge a Problem into a POI"):
        store.merge_nodes(shop.waterproof, shop.wet_feet)
    with pytest.raises(GraphStoreError, match="into itself"):
        store.merge_nodes(shop.waterproof, shop.waterproof)
    with pytest.raises(NotFoundError, match="POI:ghost does not exist"):
        store.merge_nodes(shop.waterproof, NodeRef("POI", "ghost"))


def test_delete_node_reports_what_went(store: GraphStore, shop: Shop) -> None:
    report = store.delete_node(shop.city_boot)
    assert report.nodes_deleted == (shop.city_boot,)
    assert report.relations_deleted == {"HAS_POI": 1, "HAS_VALUE": 1, "IN_CATEGORY": 1}
    assert report.deleted_nodes[0]["name"] == "City boot"
    assert store.get_node(shop.city_boot) is None
    assert store.stats().total_relations == 17 - 3
    with pytest.raises(NotFoundError):
        store.delete_node(shop.city_boot)


def test_delete_facts_replaces_only_that_extractors_facts(store: GraphStore, shop: Shop) -> None:
    v2 = Provenance(source="catalog.jsonl#1", extractor="poi_tagger@2", confidence=0.9)
    store.upsert(
        nodes=[
            NodeRow("POI", {"name": "insulated"}, v2),
            NodeRow("POI", {"name": "breathable"}, v2),
        ],
        relations=[
            RelationRow("HAS_POI", shop.boot, NodeRef("POI", "insulated"), provenance=v2),
            RelationRow("HAS_POI", shop.boot, shop.breathable, provenance=v2),
        ],
    )
    report = store.delete_facts(extractor="poi_tagger@1")
    assert report.relations_deleted == {
        "HAS_POI": 4,
        "IS_A": 1,
        "MENTIONS": 1,
        "SOLVES": 2,
        "SUITS": 2,
    }
    # orphans last written by v1 go; breathable was re-asserted by v2 and waterproof is defined
    assert sorted(map(str, report.nodes_deleted)) == [
        "Concept:boots",
        "Concept:footwear",
        "Crowd:hikers",
        "Problem:sweaty feet",
        "Problem:wet feet",
        "Scene:rainy commute",
    ]
    remaining = {
        (r.type, str(r.end), r.provenance.extractor) for r in store.relations_of(shop.boot)
    }
    assert ("HAS_POI", "POI:breathable", "poi_tagger@2") in remaining
    assert ("HAS_POI", "POI:insulated", "poi_tagger@2") in remaining
    assert not any(extractor == "poi_tagger@1" for _, _, extractor in remaining)
    assert store.get_node(shop.waterproof) is not None
    assert store.get_node(shop.boot) is not None
    by_source = store.delete_facts(source="catalog.jsonl#1")
    assert by_source.relations_deleted["HAS_POI"] == 2
    assert store.delete_facts(extractor="poi_tagger@1").relations_deleted == {}
    with pytest.raises(GraphStoreError, match="needs an extractor, a source or both"):
        store.delete_facts()


def test_delete_facts_of_many_sources_in_one_call(store: GraphStore) -> None:
    def prov(source: str) -> Provenance:
        return Provenance(source=source, extractor="catalog@1", confidence=1.0)

    shared = NodeRef("POI", "waterproof")
    rows, relations = [NodeRow("POI", {"name": "waterproof"}, prov("s0"))], []
    for n in (1, 2, 3):
        item, own = NodeRef("Item", f"i{n}"), NodeRef("POI", f"only {n}")
        rows += [
            NodeRow("Item", {"key": f"i{n}", "name": f"item {n}"}, prov("items")),
            NodeRow("POI", {"name": f"only {n}"}, prov(f"s{n}")),
        ]
        relations += [
            RelationRow("HAS_POI", item, shared, provenance=prov(f"s{n}")),
            RelationRow("HAS_POI", item, own, provenance=prov(f"s{n}")),
        ]
    store.upsert(nodes=rows, relations=relations)
    assert store.delete_facts(sources=[]).relations_deleted == {}
    report = store.delete_facts(sources=["s1", "s2"])
    assert report.relations_deleted == {"HAS_POI": 4}
    assert sorted(map(str, report.nodes_deleted)) == ["POI:only 1", "POI:only 2"]
    left = {(str(r.start), str(r.end)) for r in store.relations_of(shared)}
    assert left == {("Item:i3", "POI:waterproof")}
    assert store.get_node(NodeRef("POI", "only 3")) is not None
    same = store.delete_facts(source="s3", sources=["nothing"])  # both forms together
    assert same.relations_deleted == {"HAS_POI": 2}


def test_data_survives_reopening(store_factory: StoreFactory) -> None:
    with store_factory() as first:
        first.upsert_nodes([NodeRow("Item", {"key": f"i{n}", "name": 'ä"\\'}) for n in range(400)])
        stats = first.stats()
    with store_factory() as second:
        assert second.stats() == stats
        assert second.ensure_schema().applied == ()
        node = second.get_node(NodeRef("Item", "i7"))
        assert node is not None and node.properties["name"] == 'ä"\\'
        assert second.lookup("ä")[0].node.label == "Item"


def test_readers_see_whole_batches_while_a_write_runs(store: GraphStore) -> None:
    store.upsert_nodes([NodeRow("Item", {"key": "seed"})])
    seen: list[int] = []
    errors: list[BaseException] = []
    writing = threading.Event()

    def writer() -> None:
        try:
            writing.set()
            for batch in range(3):
                store.upsert_nodes([NodeRow("Item", {"key": f"w{batch}-{n}"}) for n in range(2000)])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait()
    while thread.is_alive() or not seen:
        try:
            seen.append(store.stats().nodes["Item"])
            assert store.get_node(NodeRef("Item", "seed")) is not None
        except BaseException as e:
            import traceback

            traceback.print_exc()
            errors.append(e)
            break
    thread.join()
    assert not errors
    assert set(seen) <= {1, 2001, 4001, 6001}
    assert seen == sorted(seen)
    assert store.stats().nodes["Item"] == 6001


SMALL = Ontology(
    1,
    [
        NodeType("Item", (Property("name", PropType.STRING),), search_fields=("name",)),
        NodeType("POI", (Property("name", PropType.STRING, required=True),), key_fields=("name",)),
    ],
    [RelationType("HAS_POI", (("Item", "POI"),))],
)
BIGGER = SMALL.evolve(
    2,
    nodes=[
        NodeType(
            "Item",
            (Property("name", PropType.STRING), Property("color", PropType.STRING)),
            search_fields=("name",),
        ),
        NodeType(
            "POI",
            (
                Property("name", PropType.STRING, required=True),
                Property("aliases", PropType.STRING_LIST),
            ),
            key_fields=("name",),
            search_fields=("name", "aliases"),
        ),
        NodeType(
            "Concept", (Property("name", PropType.STRING, required=True),), key_fields=("name",)
        ),
    ],
    relations=[
        RelationType(
            "HAS_POI", (("Item", "POI"), ("Concept", "POI")), (Property("score", PropType.DOUBLE),)
        ),
        RelationType("SIMILAR_TO", (("Item", "Item"),)),
    ],
)


def test_a_bigger_ontology_migrates_the_store_in_place(store_factory: StoreFactory) -> None:
    with store_factory(SMALL) as small:
        small.upsert(
            nodes=[NodeRow("Item", {"key": "a", "name": "boot"}), NodeRow("POI", {"name": "warm"})],
            relations=[RelationRow("HAS_POI", NodeRef("Item", "a"), NodeRef("POI", "warm"))],
        )
        with pytest.raises(SchemaError, match="unknown node label 'Concept'"):
            small.upsert_nodes([NodeRow("Concept", {"name": "x"})])
    with store_factory(BIGGER) as big:
        migration = big.schema_report
        assert migration is not None
        assert (migration.version_before, migration.version_after) == (1, 2)
        if big.backend == "kuzu":
            assert migration.applied == (
                "ALTER TABLE Item ADD IF NOT EXISTS color STRING",
                "ALTER TABLE POI ADD IF NOT EXISTS aliases STRING[] DEFAULT []",
                "ALTER TABLE POI ADD IF NOT EXISTS search_text STRING",
                "CREATE NODE TABLE IF NOT EXISTS Concept(key STRING, source STRING, "
                "extractor STRING, confidence DOUBLE, name STRING, PRIMARY KEY(key))",
                "ALTER TABLE HAS_POI ADD IF NOT EXISTS FROM Concept TO POI",
                "ALTER TABLE HAS_POI ADD IF NOT EXISTS score DOUBLE",
                "CREATE REL TABLE IF NOT EXISTS SIMILAR_TO(FROM Item TO Item, source STRING, "
                "extractor STRING, confidence DOUBLE)",
                "CALL CREATE_FTS_INDEX('POI', 'POI_search', ['search_text'], stemmer := 'none')",
            )
        assert big.stats().schema_version == 2
        old = big.get_node(NodeRef("Item", "a"))
        assert old is not None and (old.properties["name"], old.properties["color"]) == (
            "boot",
            None,
        )
        big.upsert(
            nodes=[
                NodeRow("Item", {"key": "a", "color": "red"}),
                NodeRow("POI", {"name": "warm", "aliases": ["cosy"]}),
                NodeRow("Concept", {"name": "winter boot"}),
            ],
            relations=[
                RelationRow(
                    "HAS_POI",
                    NodeRef("Concept", "winter boot"),
                    NodeRef("POI", "warm"),
                    {"score": 0.5},
                ),
            ],
        )
        item = big.get_node(NodeRef("Item", "a"))
        assert item is not None and (item.properties["name"], item.properties["color"]) == (
            "boot",
            "red",
        )
        assert [h.node.key for h in big.lookup("cosy", labels=["POI"])] == ["warm"]
        assert big.stats().relations == {"HAS_POI": 2, "SIMILAR_TO": 0}
    with store_factory(BIGGER) as again:
        assert again.ensure_schema().applied == ()
    with pytest.raises(SchemaError, match="schema version 2, newer than"), store_factory(SMALL):
        pass


def test_the_shopkg_ontology_opens_an_empty_store(store_factory: StoreFactory) -> None:
    with store_factory(SHOPKG_ONTOLOGY) as opened:
        assert opened.stats().total_nodes == 0
