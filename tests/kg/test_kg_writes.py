"""Conformance: upserts are validated, idempotent, atomic and lossless on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from foundation.errors import NotFoundError, SchemaError
from kg import GraphStore, NodeRef, NodeRow, Provenance, RelationRow

NASTY = [
    "ünïcødé 😀 中文 Straße",
    "say \"hi\" and 'bye'",
    "back\\slash \\n not a newline \\",
    "new\nline\r\nand\ttab",
    "comma, semicolon; | pipe [bracket] {brace}",
    "",
    "NULL",
    "__shopkg_null__",
    "nul\x00byte",
    "x" * 100_000,
]


def items(n: int, prefix: str = "item", **extra: Any) -> list[NodeRow]:
    return [
        NodeRow("Item", {"key": f"{prefix}-{i}", "name": f"thing {i}", **extra}) for i in range(n)
    ]


def counts(store: GraphStore) -> tuple[int, int]:
    stats = store.stats()
    return stats.total_nodes, stats.total_relations


def test_same_batch_twice_gives_the_same_graph(store: GraphStore) -> None:
    prov = Provenance(source="r1", extractor="tagger@1", confidence=0.7)
    nodes = [*items(300), NodeRow("POI", {"name": "waterproof"}, prov)]
    rels = [
        RelationRow(
            "HAS_POI", NodeRef("Item", f"item-{i}"), NodeRef("POI", "waterproof"), provenance=prov
        )
        for i in range(300)
    ]
    first = store.upsert(nodes=nodes, relations=rels)
    assert (first.nodes_created, first.relations_created) == (301, 300)
    before = counts(store)
    again = store.upsert(nodes=nodes, relations=rels)
    assert counts(store) == before == (301, 300)
    assert (again.nodes_created, again.nodes_updated, again.nodes_unchanged) == (0, 0, 301)
    assert (first + again).to_dict()["relations_created"] == 300
    assert (again.relations_created, again.relations_updated, again.relations_unchanged) == (
        0,
        0,
        300,
    )


def test_new_sources_skip_the_stored_lookup_and_leave_other_sources_merged(
    store: GraphStore,
) -> None:
    """A hub (one POI that SOLVES a problem for many records) gets each new record's copy
    without reading back the others; sources not named new are still merged."""
    nodes = [NodeRow("POI", {"name": "insulated"}), NodeRow("Problem", {"name": "cold"})]
    store.upsert(nodes=nodes)

    def solves(source: str) -> RelationRow:
        prov = Provenance(source=source, extractor="needs@1", confidence=0.8)
        return RelationRow(
            "SOLVES", NodeRef("POI", "insulated"), NodeRef("Problem", "cold"), {}, prov
        )

    store.upsert(relations=[solves(f"r{i}") for i in range(50)])
    report = store.upsert(
        relations=[solves(f"new{i}") for i in range(20)] + [solves("r3")],
        new_sources=[f"new{i}" for i in range(20)],
    )
    assert (report.relations_created, report.relations_unchanged) == (20, 1)
    assert counts(store) == (2, 70)
    assert {r.provenance.source for r in store.relations_of(NodeRef("POI", "insulated"))} == {
        *(f"r{i}" for i in range(50)),
        *(f"new{i}" for i in range(20)),
    }


def test_upsert_updates_given_properties_and_keeps_the_others(store: GraphStore) -> None:
    store.upsert_nodes([NodeRow("Item", {"key": "a", "name": "Boot", "price": 10.0})])
    report = store.upsert_nodes([NodeRow("Item", {"key": "a", "price": 12.5})])
    assert report.nodes_updated == 1
    node = store.get_node(NodeRef("Item", "a"))
    assert node is not None
    assert node.properties["name"] == "Boot"
    assert node.properties["price"] == 12.5
    store.upsert_nodes([NodeRow("Item", {"key": "a", "price": None})])
    cleared = store.get_node(NodeRef("Item", "a"))
    assert cleared is not None and cleared.properties["price"] is None


def test_duplicate_rows_in_one_batch_are_merged(store: GraphStore) -> None:
    report = store.upsert_nodes(
        [
            NodeRow("POI", {"name": "Waterproof"}),
            NodeRow("POI", {"name": "waterproof ", "description": "keeps water out"}),
        ]
    )
    assert (report.nodes_created, report.duplicates_in_batch) == (1, 1)
    node = store.get_node(NodeRef("POI", "waterproof"))
    assert node is not None
    assert node.properties["name"] == "waterproof "
    assert node.properties["description"] == "keeps water out"


def test_relation_identity_includes_extractor_and_source(store: GraphStore) -> None:
    store.upsert_nodes([*items(1), NodeRow("POI", {"name": "warm"})])
    start, end = NodeRef("Item", "item-0"), NodeRef("POI", "warm")
    for prov in (
        Provenance("r1", "a@1", 0.5),
        Provenance("r2", "a@1", 0.5),
        Provenance("r1", "b@1", 0.9),
        Provenance("r1", "a@1", 0.6),  # same identity as the first: an update
    ):
        store.upsert_relations([RelationRow("HAS_POI", start, end, provenance=prov)])
    rels = store.relations_of(start)
    assert [
        (r.provenance.extractor, r.provenance.source, r.provenance.confidence) for r in rels
    ] == [
        ("a@1", "r1", 0.6),
        ("a@1", "r2", 0.5),
        ("b@1", "r1", 0.9),
    ]


@pytest.mark.parametrize("bulk", [False, True], ids=["parameters", "bulk-copy"])
def test_strings_survive_the_round_trip(store: GraphStore, bulk: bool) -> None:
    # 300 plain rows next to the odd ones send the batch down the bulk (COPY) path in Kùzu
    entries = [NodeRow("Entry", {"name": f"pad {i}", "gloss": "plain"}) for i in range(300)]
    padding = [*items(300, prefix="pad"), *entries] if bulk else []
    rows = [
        NodeRow("Entry", {"name": f"entry {i}", "gloss": text, "aliases": [text, "plain"]})
        for i, text in enumerate(NASTY)
    ]
    store.upsert_nodes([*padding, *rows, *items(len(NASTY), prefix="weird")])
    keyed = [
        NodeRow("Item", {"key": f"k{i}|{text[:50]}", "name": text}) for i, text in enumerate(NASTY)
    ]
    store.upsert_nodes([*keyed, *(items(300, prefix="more") if bulk else [])])
    for i, text in enumerate(NASTY):
        entry = store.get_node(NodeRef("Entry", f"entry {i}"))
        assert entry is not None
        assert entry.properties["gloss"] == text
        assert entry.properties["aliases"] == [text, "plain"]
        item = store.get_node(NodeRef("Item", f"k{i}|{text[:50]}"))
        assert item is not None and item.properties["name"] == text


def test_large_batch(store: GraphStore) -> None:
    report = store.upsert_nodes(items(20_000, description="a fairly ordinary product"))
    assert report.nodes_created == 20_000
    rels = [
        RelationRow("SIMILAR_TO", NodeRef("Item", f"item-{i}"), NodeRef("Item", f"item-{i + 1}"))
        for i in range(19_999)
    ]
    assert store.upsert_relations(rels).relations_created == 19_999
    assert counts(store) == (20_000, 19_999)
    assert store.upsert_relations(rels).relations_unchanged == 19_999


def test_a_large_batch_with_gaps_in_a_number_property(store: GraphStore) -> None:
    rows = [
        NodeRow("Item", {"key": f"gap-{i}", "name": f"n{i}", **({"price": 2.5} if i % 7 else {})})
        for i in range(2_000)
    ]
    assert store.upsert_nodes(rows).nodes_created == 2_000
    assert store.get_node(NodeRef("Item", "gap-0")).properties.get("price") is None  # type: ignore[union-attr]
    assert store.get_node(NodeRef("Item", "gap-1")).properties["price"] == 2.5  # type: ignore[union-attr]


def test_a_bad_row_rejects_the_whole_batch_and_names_the_row(store: GraphStore) -> None:
    store.upsert_nodes(items(3))
    before = counts(store)
    rows = items(30, prefix="new")
    rows[17] = NodeRow("Item", {"key": "new-17", "price": "cheap"})
    with pytest.raises(SchemaError, match=r"node batch row 17 .*'price' must be DOUBLE, got str"):
        store.upsert_nodes(rows)
    assert counts(store) == before


def test_a_relation_to_a_missing_node_rolls_back_its_nodes_too(store: GraphStore) -> None:
    before = counts(store)
    rows = [
        RelationRow("HAS_POI", NodeRef("Item", f"item-{i}"), NodeRef("POI", "warm"))
        for i in range(5)
    ]
    rows.append(RelationRow("HAS_POI", NodeRef("Item", "ghost"), NodeRef("POI", "warm")))
    with pytest.raises(
        NotFoundError, match=r"relation batch row 5 \(HAS_POI\): start node Item:ghost"
    ):
        store.upsert(nodes=[*items(300), NodeRow("POI", {"name": "warm"})], relations=rows)
    assert counts(store) == before
    assert store.get_node(NodeRef("Item", "item-0")) is None


BAD_NODES: list[tuple[NodeRow, str]] = [
    (NodeRow("Itme", {"key": "x"}), r"row 1: unknown node label 'Itme'; known labels: Item"),
    (NodeRow("Item", {"key": "x", "colour": "red"}), r"row 1 \(Item\): unknown property 'colour'"),
    (NodeRow("Item", {"key": "x", "price": True}), r"'price' must be DOUBLE, got bool"),
    (NodeRow("Item", {"key": "x", "price": float("nan")}), r"'price' must be a finite number"),
    (NodeRow("Concept", {"name": "x", "image_count": 2**70}), r"does not fit in INT64"),
    (NodeRow("POI", {"name": "x", "aliases": "wet"}), r"'aliases' must be STRING\[\]"),
    (NodeRow("Item", {"name": "no key"}), r"row 1 \(Item\): missing required propert\(ies\) key"),
    (NodeRow("Item", {"key": ""}), r"needs a non-empty 'key'"),
    (NodeRow("Value", {"attribute": "color"}), r"missing required propert\(ies\) value"),
    (NodeRow("POI", {"name": "  "}), r"needs a non-empty 'name'"),
    (NodeRow("Value", {"attribute": "a", "value": "b", "key": "wrong"}), r"does not match the key"),
    (NodeRow("Item", {"key": "x", "search_text": "q"}), r"unknown property 'search_text'"),
    (NodeRow("Item", {"key": "x", "extractor": "me@1"}), r"set provenance with NodeRow"),
    (NodeRow("Item", {"key": "x"}, Provenance(extractor="no-version")), r"name@version"),
    (NodeRow("Item", {"key": "x"}, Provenance(confidence=1.5)), r"confidence must be a number in"),
]


@pytest.mark.parametrize(("row", "message"), BAD_NODES)
def test_bad_node_rows_are_rejected(store: GraphStore, row: NodeRow, message: str) -> None:
    before = counts(store)
    with pytest.raises(SchemaError, match=message):
        store.upsert_nodes([NodeRow("Item", {"key": "fine"}), row])
    assert counts(store) == before


BAD_RELATIONS: list[tuple[RelationRow, str]] = [
    (
        RelationRow("HAS_POII", NodeRef("Item", "i"), NodeRef("POI", "p")),
        r"unknown relation type 'HAS_POII'",
    ),
    (
        RelationRow("HAS_POI", NodeRef("Item", "i"), NodeRef("Problem", "p")),
        r"row 1 \(HAS_POI\): HAS_POI cannot go from Item to Problem; allowed: Item->POI",
    ),
    (
        RelationRow("HAS_POI", NodeRef("Itme", "i"), NodeRef("POI", "p")),
        r"start: unknown node label",
    ),
    (
        RelationRow("HAS_POI", NodeRef("Item", ""), NodeRef("POI", "p")),
        r"start must be a NodeRef with a non-empty key",
    ),
    (
        RelationRow("DEPICTS", NodeRef("Image", "h"), NodeRef("Concept", "c"), {"score": "high"}),
        r"'score' must be DOUBLE",
    ),
    (
        RelationRow("HAS_POI", NodeRef("Item", "i"), NodeRef("POI", "p"), {"weight": 1.0}),
        r"unknown property 'weight'",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_RELATIONS)
def test_bad_relation_rows_are_rejected(store: GraphStore, row: RelationRow, message: str) -> None:
    store.upsert_nodes(
        [
            NodeRow("Item", {"key": "i"}),
            NodeRow("POI", {"name": "p"}),
            NodeRow("Problem", {"name": "p"}),
            NodeRow("Image", {"content_hash": "h"}),
            NodeRow("Concept", {"name": "c"}),
        ]
    )
    before = counts(store)
    good = RelationRow("HAS_POI", NodeRef("Item", "i"), NodeRef("POI", "p"))
    with pytest.raises(SchemaError, match=message):
        store.upsert_relations([good, row])
    assert counts(store) == before


def test_rows_must_be_rows(store: GraphStore) -> None:
    with pytest.raises(SchemaError, match=r"node batch row 0: expected a kg\.NodeRow, got dict"):
        store.upsert_nodes([{"label": "Item", "key": "x"}])  # type: ignore[list-item]


def test_bulk_relations_keep_odd_keys_sources_and_properties(store: GraphStore) -> None:
    # enough fresh rows for Kùzu's COPY path; keys with CSV-special characters, odd sources
    # (NUL and Kùzu's NULL marker send a batch down the parameterized path: tested above)
    odd = [t for t in NASTY if t and t != "__shopkg_null__" and "\x00" not in t and len(t) < 999]
    keys = [f"{i}|{t}" for i, t in enumerate(odd)] + [" lead", "trail ", "NULL", "a\\N"]
    keys += [f"plain-{i}" for i in range(300)]
    store.upsert_nodes([NodeRow("Item", {"key": k}) for k in keys])
    store.upsert_nodes([NodeRow("Value", {"attribute": "color", "value": "red"})])
    red = store.ref("Value", attribute="color", value="red", unit="")
    provs = [Provenance(source=s, extractor="odd@1", confidence=0.25) for s in ["", *odd]]
    rows = [
        RelationRow("HAS_VALUE", NodeRef("Item", k), red, provenance=provs[i % len(provs)])
        for i, k in enumerate(keys)
    ]
    rows += [
        RelationRow("HAS_VALUE", NodeRef("Item", k), red, {"raw": odd[i % len(odd)]})
        for i, k in enumerate(keys[:50])
    ]
    # keys that need no quotes in CSV: tabs, spaces, backslashes, non-ASCII, "NULL"
    plain = [k for k in keys if not any(ch in k for ch in ',"\n\r')]
    assert len(plain) > 300
    store.upsert_nodes([NodeRow("Brand", {"name": "Acme"})])
    brand = NodeRef("Brand", "acme")
    rows += [RelationRow("HAS_BRAND", NodeRef("Item", k), brand) for k in plain]
    report = store.upsert_relations(rows)
    assert report.relations_created == len(rows)
    assert {r.start.key for r in store.relations_of(brand)} == set(plain)
    for i, key in enumerate(keys):
        found = {
            (r.provenance.source, r.properties.get("raw"))
            for r in store.relations_of(NodeRef("Item", key))
            if r.type == "HAS_VALUE"
        }
        expected: set[tuple[str, str | None]] = {(provs[i % len(provs)].source, None)}
        if i < 50:
            expected.add(("", odd[i % len(odd)]))
        assert found == expected, key
    assert store.upsert_relations(rows).relations_unchanged == len(rows)


def test_bulk_relations_with_gaps_in_a_number_property(store: GraphStore) -> None:
    store.upsert_nodes(
        [NodeRow("Concept", {"name": "boot"})]
        + [NodeRow("Image", {"content_hash": f"h{i}"}) for i in range(400)]
    )
    boot = NodeRef("Concept", "boot")
    rows = [
        RelationRow("DEPICTS", NodeRef("Image", f"h{i}"), boot, {"score": 0.5} if i % 3 else {})
        for i in range(400)
    ]
    assert store.upsert_relations(rows).relations_created == 400
    scores = {
        r.start.key: r.properties["score"] for r in store.relations_of(boot) if r.type == "DEPICTS"
    }
    assert scores["h0"] is None and scores["h1"] == 0.5 and len(scores) == 400


def test_a_bad_row_deep_in_a_large_relation_batch_is_named(store: GraphStore) -> None:
    store.upsert_nodes(
        [*items(600), NodeRow("POI", {"name": "warm"}), NodeRow("Problem", {"name": "cold"})]
    )
    before = counts(store)
    warm = NodeRef("POI", "warm")
    good = [RelationRow("HAS_POI", NodeRef("Item", f"item-{i}"), warm) for i in range(600)]
    bad: list[tuple[RelationRow, type[Exception], str]] = [
        (
            RelationRow("HAS_POI", NodeRef("Item", "item-1"), NodeRef("Problem", "cold")),
            SchemaError,
            r"relation batch row 400 \(HAS_POI\): HAS_POI cannot go from Item to Problem",
        ),
        (
            RelationRow("HAS_POI", NodeRef("Item", 7), warm),  # type: ignore[arg-type]
            SchemaError,
            r"relation batch row 400 \(HAS_POI\): start must be a NodeRef with a non-empty key",
        ),
        (
            RelationRow("HAS_POI", NodeRef("Item", "item-1"), NodeRef("POI", "")),
            SchemaError,
            r"relation batch row 400 \(HAS_POI\): end must be a NodeRef",
        ),
        (
            RelationRow("HAS_POI", NodeRef("Item", "item-1"), warm, {"raw": "x"}),
            SchemaError,
            r"relation batch row 400 \(HAS_POI\): unknown property 'raw'",
        ),
        (
            RelationRow(
                "HAS_POI", NodeRef("Item", "item-1"), warm, provenance=Provenance(confidence=2)
            ),
            SchemaError,
            r"relation batch row 400 \(HAS_POI\): confidence must be a number in \[0, 1\]",
        ),
        (
            RelationRow("HAS_POI", NodeRef("Item", "ghost"), warm),
            NotFoundError,
            r"relation batch row 400 \(HAS_POI\): start node Item:ghost does not exist",
        ),
    ]
    for row, error, message in bad:
        rows = [*good[:400], row, *good[400:]]
        with pytest.raises(error, match=message):
            store.upsert(nodes=[NodeRow("Item", {"key": "new"})], relations=rows)
        assert counts(store) == before
        assert store.get_node(NodeRef("Item", "new")) is None
