"""The embedded store's node cache never serves a record older than the last write."""

from __future__ import annotations

from kg import GraphStore, NodeRow, Provenance, RelationRow
from kg.node_cache import NodeCache
from kg.records import NodeRecord

PROV = Provenance(source="t", extractor="test@1", confidence=1.0)


def _record(key: str, name: str) -> NodeRecord:
    return NodeRecord("Brand", key, {"key": key, "name": name})


def test_cache_refuses_records_read_before_a_write_finished() -> None:
    cache = NodeCache()
    before = cache.generation
    cache.invalidate()  # a write committed while the read was running
    cache.put(before, [_record("acme", "Old name")])
    assert cache.get("Brand", ["acme"]) == {}
    cache.put(cache.generation, [_record("acme", "New name")])
    assert cache.get("Brand", ["acme"])["acme"].properties["name"] == "New name"


def test_cache_drops_the_least_recently_used_record_beyond_capacity() -> None:
    cache = NodeCache(capacity=2)
    cache.put(0, [_record("a", "A"), _record("b", "B")])
    cache.get("Brand", ["a"])
    cache.put(0, [_record("c", "C")])
    assert set(cache.get("Brand", ["a", "b", "c"])) == {"a", "c"}


def test_reads_after_a_write_see_it(store: GraphStore) -> None:
    """Conformance (every backend): a read never answers from before the last write."""
    item = NodeRow("Item", {"key": "sku-1", "name": "Boot"}, PROV)
    brand = NodeRow("Brand", {"name": "Acme"}, PROV)
    link = RelationRow(
        "HAS_BRAND",
        store.ref("Item", key="sku-1"),
        store.ref("Brand", name="Acme"),
        provenance=PROV,
    )
    store.upsert(nodes=[item, brand], relations=[link])
    ref = store.ref("Item", key="sku-1")
    first = store.neighborhood(ref, hops=1)
    assert [n.node.properties["aliases"] for n in first] == [[]]
    renamed = NodeRow("Brand", {"name": "Acme", "aliases": ["ACME Corp"]}, PROV)
    store.upsert(nodes=[renamed])
    again = store.neighborhood(ref, hops=1)
    assert [n.node.properties["aliases"] for n in again] == [["ACME Corp"]]
    store.upsert(nodes=[NodeRow("Item", {"key": "sku-1", "name": "Hiking boot"}, PROV)])
    node = store.get_node(ref)
    assert node is not None and node.properties["name"] == "Hiking boot"
    store.delete_node(store.ref("Brand", name="Acme"))
    assert store.neighborhood(ref, hops=1) == []
