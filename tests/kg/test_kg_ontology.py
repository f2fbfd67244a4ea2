"""The ontology: its shape, natural keys, and the Kùzu DDL generated from it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.errors import SchemaError
from foundation.text import NAME_WORDS, tokens
from kg import SHOPKG_ONTOLOGY, NodeType, Ontology, Property, PropType, RelationType
from kg import kuzu_queries as kq
from kg.schema import encode_key, fold
from kg.validation import index_text

LABELS = {"Item", "Category", "Brand", "Value", "POI", "Problem", "Scene", "Crowd", "Concept"}
LABELS |= {"Image", "Entry", "Source"}


def test_the_shopkg_ontology_has_the_designed_types() -> None:
    assert set(SHOPKG_ONTOLOGY.labels) == LABELS
    assert set(SHOPKG_ONTOLOGY.relation_types) == {
        "IN_CATEGORY", "HAS_BRAND", "HAS_VALUE", "HAS_POI", "SOLVES", "SUITS", "IS_A",
        "HAS_IMAGE", "DEPICTS", "MENTIONS", "SIMILAR_TO", "DEFINES", "FROM_SOURCE",
    }  # fmt: skip
    suits = SHOPKG_ONTOLOGY.relation("SUITS")
    assert set(suits.endpoints) == {
        ("Item", "Scene"), ("Item", "Crowd"), ("Concept", "Scene"), ("Concept", "Crowd")
    }  # fmt: skip
    solves = SHOPKG_ONTOLOGY.relation("SOLVES")
    assert solves.endpoints == (("POI", "Problem"), ("Item", "Problem"))
    assert {"evidence", "poi", "concept"} <= set(solves.all_properties)
    assert "score" in SHOPKG_ONTOLOGY.relation("DEPICTS").all_properties
    concept = SHOPKG_ONTOLOGY.node("Concept").all_properties
    assert concept["prototype"].type is PropType.DOUBLE_LIST
    assert {"image_count", "spread"} <= set(concept)
    image = SHOPKG_ONTOLOGY.node("Image")
    assert image.key_fields == ("content_hash",)
    assert {"path", "width", "height"} <= set(image.all_properties)
    assert {"name", "aliases", "gloss"} <= set(SHOPKG_ONTOLOGY.node("Entry").all_properties)
    for rel in SHOPKG_ONTOLOGY.relations():  # provenance on every fact
        assert {"source", "extractor", "confidence"} <= set(rel.all_properties)


def test_value_keys_combine_attribute_value_and_unit() -> None:
    key = SHOPKG_ONTOLOGY.key_for("Value", {"attribute": "Size ", "value": "42", "unit": "EU"})
    assert key == "size|42|eu"
    assert SHOPKG_ONTOLOGY.key_for("Value", {"attribute": "color", "value": "red"}) == "color|red|"
    assert SHOPKG_ONTOLOGY.key_for("POI", {"name": "  Water  Proof "}) == "water proof"
    assert SHOPKG_ONTOLOGY.key_for("Item", {"key": "SKU-1"}) == "SKU-1"  # ids keep their case
    with pytest.raises(SchemaError, match="needs a non-empty 'value'"):
        SHOPKG_ONTOLOGY.key_for("Value", {"attribute": "color", "value": ""})


@given(st.lists(st.text(), min_size=2, max_size=4), st.lists(st.text(), min_size=2, max_size=4))
def test_multi_part_keys_never_collide(a: list[str], b: list[str]) -> None:
    if len(a) == len(b) and a != b:
        assert encode_key(a) != encode_key(b)


def test_tokens_and_index_words() -> None:
    assert tokens("O'Brien's  \"Best\" rain-coat_2", NAME_WORDS) == [
        "o",
        "brien",
        "s",
        "best",
        "rain",
        "coat",
        "2",
    ]
    assert index_text(tokens("iPhone 15 Straße", NAME_WORDS)) == "qiphone qnbf qstrasse"
    assert fold(" Ünïcode\tTEXT ") == "ünïcode text"


def test_bad_ontologies_are_refused() -> None:
    with pytest.raises(SchemaError, match="CamelCase"):
        NodeType("item; DROP", ())
    with pytest.raises(SchemaError, match="reserved"):
        NodeType("ShopKGMeta", ())
    with pytest.raises(SchemaError, match="snake_case"):
        NodeType("Thing", (Property("Bad-Name", PropType.STRING),))
    with pytest.raises(SchemaError, match="declared twice"):
        NodeType("Thing", (Property("key", PropType.STRING),))
    with pytest.raises(SchemaError, match="must be a STRING"):
        NodeType("Thing", (Property("n", PropType.INT64, required=True),), key_fields=("n",))
    with pytest.raises(SchemaError, match="unknown label 'Ghost'"):
        Ontology(1, [NodeType("Thing")], [RelationType("LINKS", (("Thing", "Ghost"),))])
    with pytest.raises(SchemaError, match=f"version >= {SHOPKG_ONTOLOGY.version}"):
        SHOPKG_ONTOLOGY.evolve(SHOPKG_ONTOLOGY.version - 1)


def test_kuzu_ddl_is_generated_from_the_ontology() -> None:
    assert kq.create_node_table(SHOPKG_ONTOLOGY.node("POI")) == (
        "CREATE NODE TABLE IF NOT EXISTS POI(key STRING, source STRING, extractor STRING, "
        "confidence DOUBLE, name STRING, aliases STRING[] DEFAULT [], description STRING, "
        "search_text STRING, PRIMARY KEY(key))"
    )
    assert kq.create_rel_table(SHOPKG_ONTOLOGY.relation("DEPICTS")) == (
        "CREATE REL TABLE IF NOT EXISTS DEPICTS(FROM Image TO Concept, source STRING, "
        "extractor STRING, confidence DOUBLE, score DOUBLE)"
    )
    assert kq.add_rel_pair("SUITS", "Concept", "Crowd") == (
        "ALTER TABLE SUITS ADD IF NOT EXISTS FROM Concept TO Crowd"
    )
    assert kq.create_fts_index("Entry") == (
        "CALL CREATE_FTS_INDEX('Entry', 'Entry_search', ['search_text'], stemmer := 'none')"
    )


def test_kuzu_queries_take_values_only_as_parameters() -> None:
    columns = list(SHOPKG_ONTOLOGY.relation("HAS_POI").all_properties.values())
    query = kq.create_relations("HAS_POI", "Item", "POI", columns, positional=True)
    assert query.startswith("UNWIND $rows AS row WITH row[1] AS s, row[2] AS e")
    assert "'" not in query
    assert kq.neighborhood("Item", 2, ["HAS_POI", "SOLVES"], True, "out") == (
        "MATCH (a:Item {key: $key})-[r:HAS_POI|SOLVES* SHORTEST 1..2]->(b) "
        "WHERE id(b) <> id(a) AND label(b) IN $labels "
        "WITH b, length(r) AS d ORDER BY d, label(b), b.key LIMIT $limit RETURN label(b), b.key, d"
    )
    with pytest.raises(SchemaError, match="not a valid identifier"):
        kq.fetch_node("Item {key: 'x'}) DETACH DELETE (n", ["key"])
    with pytest.raises(SchemaError, match="cannot quote safely"):
        kq.copy_nodes("Item", ["key"], "/tmp/it's.csv")
