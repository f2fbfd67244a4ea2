from __future__ import annotations

from extraction.catalog import CatalogRecord
from extraction.structure import EXTRACTOR, source_key, structure_facts


def test_structured_fields_become_facts_with_provenance() -> None:
    record = CatalogRecord(
        id="sku-1",
        title="Trail boot",
        category=["Footwear", "Boots", "Hiking Boots"],
        brand="Acme",
        price="89.5",
        attributes={
            "Colour": "Gray",
            "capacity": "0.5 L",
            "sizes": ["10", "11"],
            "note": "x" * 300,
        },
    )
    facts = structure_facts(record, "shop", uri="shop.jsonl")
    assert facts.source_record == source_key("shop", "sku-1") == "shop:sku-1"
    labels = sorted({node.label for node in facts.nodes})
    assert labels == ["Brand", "Category", "Item", "Source", "Value"]
    item = facts.nodes_of("Item")[0]
    assert item.properties["price"] == 89.5
    assert item.properties["currency"] == "USD"
    categories = {n.key: n.properties["depth"] for n in facts.nodes_of("Category")}
    assert categories == {
        "Footwear": 0,
        "Footwear > Boots": 1,
        "Footwear > Boots > Hiking Boots": 2,
    }
    assert [(r.source[1], r.target[1]) for r in facts.relations_of("IS_A")] == [
        ("Footwear > Boots", "Footwear"),
        ("Footwear > Boots > Hiking Boots", "Footwear > Boots"),
    ]
    values = {(n.properties["attribute"], n.properties["value"]) for n in facts.nodes_of("Value")}
    assert values == {("colour", "grey"), ("capacity", "500 ml"), ("sizes", "10"), ("sizes", "11")}
    assert any("300 characters skipped" in warning for warning in facts.warnings)
    assert all(n.provenance.extractor == EXTRACTOR for n in facts.nodes)
    assert len(facts.relations_of("HAS_VALUE")) == 4
    assert facts.relations_of("IN_CATEGORY")[0].target == (
        "Category",
        "Footwear > Boots > Hiking Boots",
    )


def test_a_record_with_only_a_title_gives_an_item_and_its_source() -> None:
    facts = structure_facts(CatalogRecord(id="x", title="Mug"), "shop")
    assert sorted(n.label for n in facts.nodes) == ["Item", "Source"]
    assert [r.type for r in facts.relations] == ["FROM_SOURCE"]
