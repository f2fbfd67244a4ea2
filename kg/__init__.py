"""The ShopKG knowledge graph: one ontology, one ``GraphStore`` seam, Kùzu and Neo4j backends.

Typical use::

    from kg import NodeRow, RelationRow, Provenance, open_store

    with open_store(settings) as store:
        prov = Provenance(source="catalog.jsonl#17", extractor="poi_tagger@1", confidence=0.9)
        store.upsert(
            nodes=[NodeRow("Item", {"key": "sku-17", "name": "Trail boot"}),
                   NodeRow("POI", {"name": "waterproof"}, prov)],
            relations=[RelationRow("HAS_POI", store.ref("Item", key="sku-17"),
                                   store.ref("POI", name="waterproof"), provenance=prov)],
        )
        store.neighborhood(store.ref("Item", key="sku-17"), hops=2)

Backends are imported lazily, so importing ``kg`` loads neither Kùzu nor the Neo4j driver.
"""

from __future__ import annotations

from kg.factory import open_store, store_from_uri
from kg.ontology import SCHEMA_VERSION, SHOPKG_ONTOLOGY
from kg.records import (
    DeleteReport,
    ExtractorFilter,
    GraphPath,
    GraphStats,
    LookupHit,
    MergeReport,
    Neighbor,
    NodeRecord,
    NodeRef,
    NodeRow,
    Provenance,
    RelationKey,
    RelationRecord,
    RelationRow,
    SchemaReport,
    WriteReport,
)
from kg.schema import NodeType, Ontology, Property, PropType, RelationType
from kg.store import GraphStore

__all__ = [
    "SCHEMA_VERSION",
    "SHOPKG_ONTOLOGY",
    "DeleteReport",
    "ExtractorFilter",
    "GraphPath",
    "GraphStats",
    "GraphStore",
    "LookupHit",
    "MergeReport",
    "Neighbor",
    "NodeRecord",
    "NodeRef",
    "NodeRow",
    "NodeType",
    "Ontology",
    "PropType",
    "Property",
    "Provenance",
    "RelationKey",
    "RelationRecord",
    "RelationRow",
    "RelationType",
    "SchemaReport",
    "WriteReport",
    "open_store",
    "store_from_uri",
]
