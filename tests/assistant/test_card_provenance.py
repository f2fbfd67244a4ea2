"""The item card says where each attribute value came from: the catalog text, or the item's
photo (the build's image_values stage), with the confidence of what was read there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from assistant.api import CardValue
from assistant.service import Assistant
from catalog.schema import CatalogRecord
from extraction.record_facts import CATALOG
from jobs.image_values import EXTRACTOR as PHOTO_EXTRACTOR
from jobs.image_values import FROM_THE_PHOTO
from kg import GraphStore, NodeRef, NodeRow, Provenance, RelationRow, store_from_uri
from retrieval.search import Candidate

SOCKS = CatalogRecord(
    id="socks-1",
    title="Wool hiking socks",
    attributes={"material": "merino wool"},
    price=12,
    currency="USD",
)
TAGGER = "shopkg.attribute_tagger@3"  # a value the text mentions; the card shows the record's


def _value(attribute: str, value: str) -> dict[str, str]:
    return {"attribute": attribute, "value": value, "unit": ""}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    opened = store_from_uri(f"kuzu://{tmp_path / 'graph'}").open()
    socks = NodeRef("Item", "socks-1")
    text = Provenance(source="socks-1", extractor=CATALOG, confidence=1.0)
    tagged = Provenance(source="socks-1", extractor=TAGGER, confidence=0.8)
    photo = Provenance(source="socks-1", extractor=PHOTO_EXTRACTOR, confidence=0.9349)
    newer = Provenance(source="socks-1", extractor="shopkg.image_values@7", confidence=0.91)
    facts = [
        ("material", "merino wool", text),
        ("season", "winter", tagged),
        ("color", "navy", photo),
        ("pattern", "striped", newer),
    ]
    opened.upsert(
        nodes=[
            NodeRow("Item", {"key": "socks-1", "name": SOCKS.title}),
            NodeRow("Item", {"key": "boot-1", "name": "Trail boot"}),
            *(NodeRow("Value", _value(a, v), prov) for a, v, prov in facts),
        ],
    )
    raw = {"material": "merino wool", "season": "winter"}
    opened.upsert(
        relations=[
            RelationRow(
                "HAS_VALUE",
                socks,
                opened.ref("Value", **_value(a, v)),
                {"raw": raw.get(a, FROM_THE_PHOTO)},
                prov,
            )
            for a, v, prov in facts
        ]
        + [  # another item's photo: not this card's
            RelationRow(
                "HAS_VALUE",
                NodeRef("Item", "boot-1"),
                opened.ref("Value", **_value("color", "navy")),
                {"raw": FROM_THE_PHOTO},
                Provenance(source="boot-1", extractor=PHOTO_EXTRACTOR, confidence=0.95),
            )
        ]
    )
    yield opened
    opened.close()


def _assistant(store: GraphStore | None) -> Assistant:
    row = {"key": "socks-1", "title": SOCKS.title, "price": 12.0, "currency": "USD"}
    searcher = SimpleNamespace(items={"socks-1": row}, store=store, dense=None, text_encoder=None)
    return Assistant(
        cast(Any, searcher), lambda key: SOCKS if key == "socks-1" else None, ranker=None
    )


def test_a_value_read_from_the_photo_says_so_on_the_card(store: GraphStore) -> None:
    card = _assistant(store).item("socks-1")
    assert card is not None
    assert card.values == [
        CardValue("material", "merino wool", "text", CATALOG, 1.0),
        CardValue("color", "navy", "photo", PHOTO_EXTRACTOR, 0.9349),
        CardValue("pattern", "striped", "photo", "shopkg.image_values@7", 0.91),
    ]


def test_values_from_the_text_stay_as_they_are_on_the_card(store: GraphStore) -> None:
    card = _assistant(store).item("socks-1")
    assert card is not None
    assert card.attributes == {"material": ["merino wool"]}  # what the record says, no more


def test_a_card_without_a_graph_has_the_text_values_only() -> None:
    card = _assistant(None).item("socks-1")
    assert card is not None
    assert card.values == [CardValue("material", "merino wool", "text", CATALOG, 1.0)]


BOOTS = {
    "boot-1": CatalogRecord(
        id="boot-1", title="Trail boot", attributes={"colour": "Black", "material": "leather"}
    ),
    "boot-2": CatalogRecord(
        id="boot-2",
        title="Fell boot",
        attributes={"color": ["Brown", "Tan"], "Colour": "Brown", "Material": "suede"},
    ),
}


def test_cards_and_comparisons_show_one_row_per_attribute_however_the_record_spells_it() -> None:
    rows = {key: {"key": key, "title": r.title, "price": 90.0} for key, r in BOOTS.items()}
    rows["boot-2"]["values"] = {"Colour": "Brown", "Material": "suede"}  # the item table's
    searcher = SimpleNamespace(items=rows, store=None, dense=None, text_encoder=None)
    assistant = Assistant(cast(Any, searcher), BOOTS.get, ranker=None)
    second = assistant.item("boot-2")
    assert second is not None
    assert second.attributes == {"color": ["Brown", "Tan"], "material": ["suede"]}
    assert [(v.attribute, v.value) for v in second.values] == [
        ("color", "Brown"),
        ("color", "Tan"),
        ("material", "suede"),
    ]
    hits = [assistant.hit(Candidate(key, {"bm25": 1.0}, [], 1.0)) for key in BOOTS]
    assert hits[1].key_values == {"color": "Brown", "material": "suede"}
    assistant.dialog.session("s").hits = hits
    turn = assistant.turn("s", "compare the first two")
    assert turn.intent == "compare" and len(turn.compared) == 2
    names = {name for card in turn.compared if card for name in card.attributes}
    assert names == {"color", "material"}  # one colour row in the comparison table
    assert "color: Black" in turn.message and "color: Brown/Tan" in turn.message
