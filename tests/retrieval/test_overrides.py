"""Admin overrides applied to a live searcher: a deleted item leaves every channel, an edited
price and title show in hits, price constraints and negations, and a deleted vocabulary node
links no items (retrieval/overrides.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from catalog.schema import CatalogRecord
from foundation.db.overrides import Override
from kg import NodeRef, NodeRow, RelationRow, store_from_uri
from retrieval.graph_postings import compute_postings
from retrieval.keyword import KeywordIndex
from retrieval.overrides import apply_override, edited_record, row_changes
from retrieval.query import EntityDictionary
from retrieval.search import HybridSearcher
from retrieval.vector_index import VectorIndex
from tests.retrieval.test_injection import HashingTextEncoder

ROWS: dict[str, dict[str, object]] = {
    "sku-1": {"key": "sku-1", "title": "red leather boot", "price": 60.0, "colour": "red"},
    "sku-2": {"key": "sku-2", "title": "red canvas boot", "price": 30.0, "colour": "red"},
    "sku-3": {"key": "sku-3", "title": "blue leather bag", "price": 45.0, "colour": "blue"},
}


@pytest.fixture
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HybridSearcher]:
    rows = {key: {**row, "values": {"colour": row["colour"]}} for key, row in ROWS.items()}
    graph = store_from_uri(f"kuzu://{tmp_path_factory.mktemp('graph')}").open()
    nodes = [NodeRow("Item", {"key": key, "name": row["title"]}) for key, row in rows.items()]
    nodes += [NodeRow("Value", {"attribute": "colour", "value": c}) for c in ("red", "blue")]
    relations = [
        RelationRow(
            "HAS_VALUE",
            graph.ref("Item", key=key),
            graph.ref("Value", attribute="colour", value=str(row["colour"]), unit=""),
        )
        for key, row in rows.items()
    ]
    graph.upsert(nodes=nodes, relations=relations)
    text = HashingTextEncoder()
    documents = [(key, str(row["title"])) for key, row in rows.items()]
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


def _override(kind: str, key: str, label: str = "Item", **properties: object) -> Override:
    return Override(id=1, kind=kind, label=label, key=key, properties=properties)


def _keys(searcher: HybridSearcher, query: str) -> list[str]:
    return [c.key for c in searcher.search(query, limit=0).candidates]


def test_a_deleted_item_leaves_every_channel(searcher: HybridSearcher) -> None:
    for channel in ("bm25", "dense", "graph"):
        found = searcher.search("red boot", channels=[channel], limit=0)
        assert "sku-1" in [c.key for c in found.candidates], channel
    apply_override(searcher, _override("delete", "sku-1"))
    for channel in ("bm25", "dense", "graph"):
        found = searcher.search("red boot", channels=[channel], limit=0)
        assert "sku-1" not in [c.key for c in found.candidates], channel
    assert searcher.search("red boot", limit=0).total == 2
    assert "sku-1" not in searcher.items


def test_an_edited_price_and_title_are_searched_as_set(searcher: HybridSearcher) -> None:
    assert "sku-1" not in _keys(searcher, "boot under $40")
    apply_override(searcher, _override("edit", "sku-1", price=25, name="red suede boot"))
    assert "sku-1" in _keys(searcher, "boot under $40")
    assert searcher.items["sku-1"]["price"] == 25.0
    assert searcher.items["sku-1"]["title"] == "red suede boot"
    assert "sku-1" not in _keys(searcher, "boot not suede")  # negations read the new title
    assert "sku-1" in _keys(searcher, "boot not leather")


def test_a_deleted_vocabulary_node_links_no_items(searcher: HybridSearcher) -> None:
    reasons = [r for c in searcher.search("blue").candidates for r in c.reasons]
    assert "has colour blue" in reasons
    assert searcher.store is not None
    blue = NodeRef("Value", searcher.store.ref("Value", attribute="colour", value="blue").key)
    searcher.store.delete_node(blue)
    apply_override(searcher, _override("delete", blue.key, label="Value"))
    found = searcher.search("blue", channels=["graph"], limit=0)
    assert found.candidates == []


def test_edits_carry_over_to_records_and_rows() -> None:
    record = CatalogRecord(id="a", title="Boot", price=Decimal("10"), description="old")
    edited = edited_record(record, {"name": "Suede boot", "price": 7.5, "url": "x"})
    assert (edited.title, edited.price, edited.description) == ("Suede boot", Decimal("7.5"), "old")
    assert row_changes({"price": None, "description": "new", "url": "x"}) == {"price": None}
