from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from catalog.schema import CatalogRecord, explain


def _problem(data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        CatalogRecord.model_validate(data)
    return explain(caught.value)


def test_a_full_record_validates_and_defaults_the_currency() -> None:
    record = CatalogRecord.model_validate(
        {
            "id": 42,
            "title": "  Trail Runner GTX ",
            "description": "Keeps your feet dry on rainy commutes.",
            "bullets": ["Waterproof membrane"],
            "attributes": {"colour": "red", "size": 42, "vegan": True, "widths": ["D", "2E"]},
            "category": ["Footwear", "Running"],
            "brand": "Acme",
            "price": "89.90",
            "images": ["shoes/1.jpg"],
            "reviews": [{"text": "Dry feet all winter", "rating": 5}],
            "qa": [{"question": "True to size?", "answer": "Yes"}],
        }
    )
    assert record.id == "42"
    assert record.title == "Trail Runner GTX"
    assert record.price == Decimal("89.90")
    assert record.currency == "USD"


def test_the_content_hash_is_stable_and_sensitive() -> None:
    one = CatalogRecord(id="a", title="Mug", attributes={"b": "1", "a": "2"})
    same = CatalogRecord(id="a", title="Mug", attributes={"a": "2", "b": "1"})
    other = CatalogRecord(id="a", title="Mug!", attributes={"a": "2", "b": "1"})
    assert one.content_hash() == same.content_hash()
    assert one.content_hash() != other.content_hash()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"id": "a", "title": "   "}, "title: String should have at least 1 character"),
        ({"id": "a"}, "title: required field is missing"),
        ({"id": "a", "title": "t", "tittle": "t"}, "tittle: unknown field"),
        ({"id": "a", "title": "t", "price": -1}, "price: Input should be greater than or equal"),
        ({"id": "a", "title": "t", "price": "cheap"}, "price: Input should be a valid decimal"),
        ({"id": "a", "title": "t", "currency": "EUR"}, "currency is given without a price"),
        ({"id": "a", "title": "t", "price": 1, "currency": "euro"}, "currency: String should"),
        ({"id": "a", "title": "t", "bullets": "one"}, "bullets: Input should be a valid list"),
        ({"id": "a", "title": "t", "attributes": {"colour": " "}}, "'colour' has an empty value"),
        ({"id": "a", "title": "t", "images": ["../etc/passwd"]}, "must be relative"),
        ({"id": "a", "title": "t", "reviews": [{"text": "ok", "rating": 9}]}, "reviews.0.rating"),
        ({"id": True, "title": "t"}, "id: Input should be a valid string"),
        ({"id": "a", "title": "t", "description": "x" * 1_048_576}, "description: String should"),
    ],
)
def test_bad_records_are_explained_field_by_field(data: dict[str, object], expected: str) -> None:
    assert expected in _problem(data)


def test_html_mojibake_and_non_english_text_are_accepted_for_the_pipeline_to_clean() -> None:
    record = CatalogRecord(
        id="x",
        title="CafÃ© <b>Crème</b> — 咖啡杯",
        description="<p>Große Tasse</p>",
    )
    assert "咖啡杯" in record.title
