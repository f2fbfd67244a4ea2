"""Fixtures of the graph-store conformance suite: the same tests run on every backend.

Kùzu always runs (a fresh database per test in ``tmp_path``). Neo4j runs under the ``neo4j``
marker when ``SHOPKG_NEO4J_URI`` (with ``SHOPKG_NEO4J_USER``/``SHOPKG_NEO4J_PASSWORD``) is set;
its database is wiped, schema version marker included, before each test opens a store, so
the tests pass in any order (``--shuffle-backends`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kg import (
    SHOPKG_ONTOLOGY,
    GraphStore,
    NodeRef,
    NodeRow,
    Ontology,
    Provenance,
    RelationRow,
)
from kg.kuzu_store import KuzuStore
from kg.neo4j_store import Neo4jStore

StoreFactory = Callable[..., GraphStore]
NEO4J_HELP = (
    "Neo4j conformance tests need a Neo4j 5 server: set SHOPKG_NEO4J_URI "
    "(e.g. bolt://localhost:7687), SHOPKG_NEO4J_USER and SHOPKG_NEO4J_PASSWORD"
)


KUZU_BUFFER_POOL = 256 << 20


@pytest.fixture(scope="session")
def empty_kuzu_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Kùzu graph with the ShopKG schema, made once; tests start from copies of it."""
    path = tmp_path_factory.mktemp("kuzu-template") / "graph"
    with KuzuStore(path, buffer_pool_bytes=KUZU_BUFFER_POOL):
        pass
    return path


@pytest.fixture(params=["kuzu", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path, empty_kuzu_graph: Path
) -> StoreFactory:
    """Makes unopened stores over one and the same (initially empty) graph."""
    if request.param == "kuzu":
        path = tmp_path / "graph"

        def make_kuzu(ontology: Ontology = SHOPKG_ONTOLOGY, batch_size: int = 512) -> GraphStore:
            if ontology is SHOPKG_ONTOLOGY and not path.exists():
                shutil.copytree(empty_kuzu_graph, path)
            return KuzuStore(
                path, ontology, batch_size=batch_size, buffer_pool_bytes=KUZU_BUFFER_POOL
            )

        return make_kuzu

    uri = os.environ.get("SHOPKG_NEO4J_URI")
    if not uri:
        pytest.skip(NEO4J_HELP)
    user = os.environ.get("SHOPKG_NEO4J_USER", "neo4j")
    password = os.environ.get("SHOPKG_NEO4J_PASSWORD", "")

    def make_neo4j(ontology: Ontology = SHOPKG_ONTOLOGY, batch_size: int = 512) -> GraphStore:
        return Neo4jStore(
            uri, user=user, password=password, ontology=ontology, batch_size=batch_size
        )

    # before any store opens: a test that left a newer schema version (or anything else)
    # behind must not break the next one, whatever order they run in
    Neo4jStore(uri, user=user, password=password).reset()
    return make_neo4j


@pytest.fixture
def store(store_factory: StoreFactory) -> Iterator[GraphStore]:
    with store_factory() as opened:
        yield opened


CATALOG = Provenance(source="catalog.jsonl#1", extractor="catalog@1", confidence=1.0)
TAGGER = Provenance(source="catalog.jsonl#1", extractor="poi_tagger@1", confidence=0.8)


class Shop:
    """Refs of the small sample graph (see :func:`shop`)."""

    boot = NodeRef("Item", "boot-1")
    city_boot = NodeRef("Item", "boot-2")
    jacket = NodeRef("Item", "jacket-1")
    waterproof = NodeRef("POI", "waterproof")
    breathable = NodeRef("POI", "breathable")
    wet_feet = NodeRef("Problem", "wet feet")
    sweaty_feet = NodeRef("Problem", "sweaty feet")
    boots_category = NodeRef("Category", "c-boots")
    shoes_category = NodeRef("Category", "c-shoes")
    acme = NodeRef("Brand", "acme")
    black = NodeRef("Value", "color|black|")
    brown = NodeRef("Value", "color|brown|")
    rain = NodeRef("Scene", "rainy commute")
    hikers = NodeRef("Crowd", "hikers")
    boots_concept = NodeRef("Concept", "boots")
    footwear = NodeRef("Concept", "footwear")
    entry = NodeRef("Entry", "waterproof")


SHOP_NODES = [
    NodeRow("Item", {"key": "boot-1", "name": "Trail boot", "price": 89.5}, CATALOG),
    NodeRow("Item", {"key": "boot-2", "name": "City boot", "price": 120.0}, CATALOG),
    NodeRow("Item", {"key": "jacket-1", "name": "Rain jacket"}, CATALOG),
    NodeRow("POI", {"name": "Waterproof", "aliases": ["water-resistant"]}, TAGGER),
    NodeRow("POI", {"name": "breathable"}, TAGGER),
    NodeRow("Problem", {"name": "wet feet"}, TAGGER),
    NodeRow("Problem", {"name": "sweaty feet"}, TAGGER),
    NodeRow("Category", {"key": "c-boots", "name": "Boots", "depth": 1}, CATALOG),
    NodeRow("Category", {"key": "c-shoes", "name": "Shoes", "depth": 0}, CATALOG),
    NodeRow("Brand", {"name": "Acme"}, CATALOG),
    NodeRow("Value", {"attribute": "color", "value": "black"}, CATALOG),
    NodeRow("Value", {"attribute": "color", "value": "brown"}, CATALOG),
    NodeRow("Scene", {"name": "rainy commute"}, TAGGER),
    NodeRow("Crowd", {"name": "hikers"}, TAGGER),
    NodeRow("Concept", {"name": "boots"}, TAGGER),
    NodeRow("Concept", {"name": "footwear"}, TAGGER),
    NodeRow(
        "Entry",
        {"name": "waterproof", "aliases": ["waterproofing"], "gloss": "does not let water in"},
    ),
]


def _shop_relations(s: Shop) -> list[RelationRow]:
    def rel(rel_type: str, start: NodeRef, end: NodeRef, prov: Provenance) -> RelationRow:
        return RelationRow(rel_type, start, end, provenance=prov)

    return [
        rel("HAS_POI", s.boot, s.waterproof, TAGGER),
        rel("HAS_POI", s.boot, s.breathable, TAGGER),
        rel("HAS_POI", s.city_boot, s.waterproof, TAGGER),
        rel("HAS_POI", s.jacket, s.waterproof, TAGGER),
        rel("SOLVES", s.waterproof, s.wet_feet, TAGGER),
        rel("SOLVES", s.breathable, s.sweaty_feet, TAGGER),
        rel("IN_CATEGORY", s.boot, s.boots_category, CATALOG),
        rel("IN_CATEGORY", s.city_boot, s.boots_category, CATALOG),
        rel("IS_A", s.boots_category, s.shoes_category, CATALOG),
        rel("HAS_BRAND", s.boot, s.acme, CATALOG),
        rel("HAS_VALUE", s.boot, s.black, CATALOG),
        rel("HAS_VALUE", s.city_boot, s.brown, CATALOG),
        rel("SUITS", s.boot, s.rain, TAGGER),
        rel("SUITS", s.boot, s.hikers, TAGGER),
        rel("MENTIONS", s.boot, s.boots_concept, TAGGER),
        rel("IS_A", s.boots_concept, s.footwear, TAGGER),
        rel("DEFINES", s.entry, s.waterproof, Provenance(extractor="dictionary@1")),
    ]


@pytest.fixture
def shop(store: GraphStore) -> Shop:
    """A small shop graph: three items, their POIs, problems, categories and concepts."""
    refs = Shop()
    store.upsert(nodes=SHOP_NODES, relations=_shop_relations(refs))
    return refs
