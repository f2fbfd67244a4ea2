"""Neo4j's bulk-import CSV files written from a small Kùzu graph (no Neo4j server needed)."""

from __future__ import annotations

import csv
from pathlib import Path

from kg import NodeRef, NodeRow, Provenance, RelationRow
from kg.kuzu_store import KuzuStore
from kg.neo4j_import import ARRAY_DELIMITER, write_import_files

TRICKY = 'Boot, "waterproof"\nsecond line; with a semicolon'
CATALOG = Provenance(source="catalog.jsonl#1", extractor="catalog@1", confidence=1.0)


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_import_files_hold_every_node_and_relation_with_ids_and_escaped_text(
    tmp_path: Path,
) -> None:
    with KuzuStore(tmp_path / "graph", buffer_pool_bytes=256 << 20) as store:
        boot, poi = NodeRef("Item", "boot,1"), NodeRef("POI", "waterproof")
        store.upsert(
            nodes=[
                NodeRow("Item", {"key": "boot,1", "name": TRICKY, "price": 9.5}, CATALOG),
                NodeRow("POI", {"name": "Waterproof", "aliases": ["dry; ok", "sealed"]}),
            ],
            relations=[RelationRow("HAS_POI", boot, poi, provenance=CATALOG)],
        )
        files = write_import_files(store, tmp_path / "import", page=1)
        stats = store.stats()

    assert files.node_counts == dict(stats.nodes)
    assert files.relation_counts == stats.relations
    items = read(tmp_path / "import" / "nodes_Item.csv")
    header = items[0]
    assert header[:2] == ["key:ID(Item)", ":LABEL"]
    assert "price:double" in header and "confidence:double" in header
    row = dict(zip(header, items[1], strict=True))
    assert (row["key:ID(Item)"], row[":LABEL"], row["name"]) == ("boot,1", "Item", TRICKY)
    assert (row["extractor"], row["source"], row["price:double"]) == (
        "catalog@1",
        "catalog.jsonl#1",
        "9.5",
    )
    assert row["search_text"]  # the full-text index reads it in Neo4j too
    pois = read(tmp_path / "import" / "nodes_POI.csv")
    poi_row = dict(zip(pois[0], pois[1], strict=True))
    assert poi_row["aliases:string[]"].split(ARRAY_DELIMITER) == ["dry; ok", "sealed"]
    rels = read(tmp_path / "import" / "relationships_HAS_POI_Item_POI.csv")
    assert rels[0][:3] == [":START_ID(Item)", ":END_ID(POI)", ":TYPE"]
    rel = dict(zip(rels[0], rels[1], strict=True))
    assert (rel[":START_ID(Item)"], rel[":END_ID(POI)"], rel[":TYPE"]) == (
        "boot,1",
        "waterproof",
        "HAS_POI",
    )
    assert (rel["extractor"], rel["source"], rel["confidence:double"]) == (
        "catalog@1",
        "catalog.jsonl#1",
        "1.0",
    )
    meta = read(tmp_path / "import" / "nodes_ShopKGMeta.csv")
    assert meta[0][:3] == ["key:ID(ShopKGMeta)", ":LABEL", "version:long"]
    assert meta[1][:2] == ["schema", "ShopKGMeta"]
    total = sum(files.nodes.values()) - 1
    assert total == stats.total_nodes
    assert sum(files.relationships.values()) == stats.total_relations == 1
    command = files.command()
    assert command.startswith("neo4j-admin database import full --nodes=")
    assert f"--relationships={files.directory / 'relationships_HAS_POI_Item_POI.csv'}" in command
    assert "--array-delimiter=U+001F --multiline-fields=true" in command
    assert command.endswith(" neo4j")
