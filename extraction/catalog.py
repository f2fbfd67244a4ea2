"""The catalog record schema ShopKG ingests, and its validation.

One record is one product. In JSONL every line is a JSON object with these fields; in CSV
every row has these columns, list- and object-valued columns holding JSON (a few have a plain
text form too, see :data:`CSV_FORMS`).

========== ======================================== =================================
field      type                                     notes
========== ======================================== =================================
id         string, required                         unique within a catalog
title      string, required                         at most 1,000 characters
description string                                  at most 100,000 characters
bullets    list of strings                          CSV: JSON list, or `` | ``-separated
attributes object {name: value}                     value: string, number, bool or list
category   list of strings (root first)             CSV: JSON list, or ``A > B > C``
brand      string
price      number ≥ 0
currency   3-letter ISO 4217 code                   default ``USD`` when a price is given
images     list of paths (relative to the image dir) CSV: JSON list, or ``|``-separated
reviews    list of {text, rating 1-5 (optional)}
qa         list of {question, answer}
========== ======================================== =================================

Unknown fields are an error (a misspelt ``tittle`` should not vanish silently).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

MAX_TITLE_CHARS = 1_000
MAX_TEXT_CHARS = 100_000
MAX_LIST_ITEMS = 10_000

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
AttributeValue = str | int | float | bool | list[str | int | float | bool]

CSV_FORMS = {"bullets": " | ", "images": "|", "category": " > "}


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: NonEmpty = Field(max_length=MAX_TEXT_CHARS)
    rating: float | None = Field(None, ge=1, le=5)


class QA(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: NonEmpty = Field(max_length=MAX_TEXT_CHARS)
    answer: NonEmpty = Field(max_length=MAX_TEXT_CHARS)


class CatalogRecord(BaseModel):
    """One product of a catalog, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: NonEmpty = Field(max_length=400)
    title: NonEmpty = Field(max_length=MAX_TITLE_CHARS)
    description: str = Field("", max_length=MAX_TEXT_CHARS)
    bullets: list[NonEmpty] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    attributes: dict[NonEmpty, AttributeValue] = Field(default_factory=dict)
    category: list[NonEmpty] = Field(default_factory=list, max_length=50)
    brand: str | None = Field(None, max_length=400)
    price: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=4)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    images: list[NonEmpty] = Field(default_factory=list, max_length=1_000)
    reviews: list[Review] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    qa: list[QA] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

    @field_validator("id", mode="before")
    @classmethod
    def _id_from_number(cls, value: Any) -> Any:
        # numeric ids are common in exports; booleans are not ids
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("brand", "description", mode="before")
    @classmethod
    def _blank_is_none_or_empty(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("attributes")
    @classmethod
    def _attribute_values_not_blank(cls, value: dict[str, AttributeValue]) -> dict[str, Any]:
        for name, item in value.items():
            if isinstance(item, str) and not item.strip():
                raise ValueError(f"attribute {name!r} has an empty value")
        return value

    @field_validator("images")
    @classmethod
    def _images_are_relative(cls, value: list[str]) -> list[str]:
        for path in value:
            if path.startswith("/") or ".." in path.replace("\\", "/").split("/"):
                raise ValueError(
                    f"image path {path!r} must be relative to the image directory, without '..'"
                )
        return value

    @model_validator(mode="after")
    def _currency_goes_with_price(self) -> CatalogRecord:
        if self.price is not None and self.currency is None:
            object.__setattr__(self, "currency", "USD")
        if self.price is None and self.currency is not None:
            raise ValueError("currency is given without a price")
        return self

    def content_hash(self) -> str:
        """SHA-256 of the record's canonical JSON: equal records hash equally."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def text_fields(self) -> dict[str, str]:
        """The free text extraction reads, by field."""
        return {
            "title": self.title,
            "description": self.description,
            "bullets": "\n".join(self.bullets),
            "reviews": "\n".join(review.text for review in self.reviews),
            "qa": "\n".join(f"{pair.question} {pair.answer}" for pair in self.qa),
        }


def explain(error: ValidationError) -> str:
    """A ValidationError as one line: each problem as ``field: message``."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "record"
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field (see the record schema in extraction/catalog.py)"
        elif problem["type"] == "missing":
            message = "required field is missing"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
