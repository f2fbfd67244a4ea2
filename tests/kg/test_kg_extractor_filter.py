"""Conformance: reading only the facts one extractor (or every version of it) asserted, and
which extractors asserted how many facts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from foundation.errors import SchemaError
from kg import GraphStore, Neighbor, Provenance, RelationRow

from .conftest import Shop

PHOTO_1 = Provenance(source="boot-2", extractor="shopkg.image_values@1", confidence=0.93)
PHOTO_2 = Provenance(source="jacket-1", extractor="shopkg.image_values@2", confidence=0.91)


@pytest.fixture
def photographed(store: GraphStore, shop: Shop) -> Shop:
    """The shop with two values read from photos by two versions of the image-values stage:
    the city boot looks black (its text says brown), the jacket looks brown."""
    store.upsert_relations(
        [
            RelationRow("HAS_VALUE", shop.city_boot, shop.black, provenance=PHOTO_1),
            RelationRow("HAS_VALUE", shop.jacket, shop.brown, provenance=PHOTO_2),
        ]
    )
    return shop


def refs(found: Sequence[Neighbor]) -> list[tuple[str, str]]:
    return [(n.node.label, n.node.key) for n in found]


def test_the_neighborhood_follows_only_the_facts_of_the_extractor_asked_for(
    store: GraphStore, photographed: Shop
) -> None:
    shop = photographed
    assert refs(store.neighborhood(shop.city_boot, extractor="shopkg.image_values@1")) == [
        ("Value", "color|black|")
    ]
    assert refs(store.neighborhood(shop.black)) == [("Item", "boot-1"), ("Item", "boot-2")]
    assert refs(store.neighborhood(shop.black, extractor="shopkg.image_values@")) == [
        ("Item", "boot-2")
    ]
    assert refs(store.neighborhood(shop.city_boot, hops=2, extractor="catalog@1")) == [
        ("Category", "c-boots"),
        ("Value", "color|brown|"),
        ("Category", "c-shoes"),
        ("Item", "boot-1"),
    ]
    every_version = store.neighborhood(shop.brown, hops=3, extractor="shopkg.image_values@")
    assert refs(every_version) == [("Item", "jacket-1")]
    assert store.neighborhood(shop.city_boot, extractor="nobody@1") == []


def test_relations_and_exports_keep_only_the_facts_of_the_extractor_asked_for(
    store: GraphStore, photographed: Shop
) -> None:
    shop = photographed
    found = store.relations_of(shop.black, extractor="shopkg.image_values@")
    assert [(r.type, str(r.start), r.provenance) for r in found] == [
        ("HAS_VALUE", "Item:boot-2", PHOTO_1)
    ]
    assert len(store.relations_of(shop.black)) == 2
    assert store.relations_of(shop.black, extractor="shopkg.image_values@2") == []
    graph = store.export_networkx(
        nodes=[shop.city_boot, shop.jacket, shop.black, shop.brown],
        extractor="shopkg.image_values@",
    )
    assert sorted((u[1], v[1]) for u, v in graph.edges()) == [
        ("boot-2", "color|black|"),
        ("jacket-1", "color|brown|"),
    ]


def test_extractors_count_the_facts_each_one_asserted(
    store: GraphStore, photographed: Shop
) -> None:
    assert store.extractors() == {
        "catalog@1": 6,
        "dictionary@1": 1,
        "poi_tagger@1": 10,
        "shopkg.image_values@1": 1,
        "shopkg.image_values@2": 1,
    }


@pytest.mark.parametrize(
    "bad", ["image_values", "@1", "@", "a@b@c", "x' OR 1=1 //@1", "poi tagger@1", "", "a@" * 200]
)
def test_a_malformed_extractor_filter_is_refused_with_what_to_write(
    store: GraphStore, shop: Shop, bad: str
) -> None:
    with pytest.raises(SchemaError, match="name@version"):
        store.neighborhood(shop.boot, extractor=bad)
    with pytest.raises(SchemaError, match="name@version"):
        store.relations_of(shop.boot, extractor=bad)
