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

Unknown fields are an error (a misspelt ``tittle`` should not vanish silently), and so is a
CSV header without ``id`` and ``title`` (the whole file is refused before any row is read).

Invisible control characters are never taken as they are: in the fields that name or label a
product (id, title, brand, category, attribute names and values, image paths) a C0/C1 control
character (NUL, escape, a line break in an id), a bidirectional override or isolate (U+202E
makes "gpj.exe" read "exe.jpg") or a zero-width or BOM character quarantines the record with
the field, the character and its position; in free text (description, bullets, reviews, Q&A)
they are removed, except tab and line breaks.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
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
REQUIRED_COLUMNS = ("id", "title")

# C0 and C1 controls, DEL, zero-width space / word joiner / invisible operators, bidi
# embeddings, overrides and isolates, the BOM, interlinear annotation marks. Zero-width
# (non-)joiners stay: emoji and several scripts need them.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_LINE_CONTROLS = frozenset("\t\n\r")


def unsafe_character(text: str) -> str | None:
    """A description of the first invisible control character in ``text``, if any."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group()
    name = unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} ({name}) at position {found.start()}"


def _refuse_unsafe(value: Any) -> Any:
    """For naming fields: refuse strings (or strings in a list) with control characters."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and (found := unsafe_character(text)) is not None:
            raise ValueError(f"contains an invisible control character {found}")
    return value


def _strip_unsafe(value: Any) -> Any:
    """For free text: drop control characters, keeping tab and line breaks."""
    if isinstance(value, str):
        return _UNSAFE.sub(lambda m: m.group() if m.group() in _LINE_CONTROLS else "", value)
    if isinstance(value, list):
        return [_strip_unsafe(item) for item in value]
    return value


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: NonEmpty = Field(max_length=MAX_TEXT_CHARS)
    rating: float | None = Field(None, ge=1, le=5)

    _text_is_clean = field_validator("text", mode="before")(_strip_unsafe)


class QA(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: NonEmpty = Field(max_length=MAX_TEXT_CHARS)
    answer: NonEmpty = Field(max_length=MAX_TEXT_CHARS)

    _text_is_clean = field_validator("question", "answer", mode="before")(_strip_unsafe)


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

    _names_are_clean = field_validator("id", "title", "brand", "category", "images", mode="after")(
        _refuse_unsafe
    )
    _text_is_clean = field_validator("description", "bullets", mode="before")(_strip_unsafe)

    @field_validator("attributes")
    @classmethod
    def _attribute_values_not_blank(cls, value: dict[str, AttributeValue]) -> dict[str, Any]:
        for name, item in value.items():
            if isinstance(item, str) and not item.strip():
                raise ValueError(f"attribute {name!r} has an empty value")
            for text in [name, *(item if isinstance(item, list) else [item])]:
                if isinstance(text, str) and (found := unsafe_character(text)) is not None:
                    raise ValueError(
                        f"attribute {name!r} contains an invisible control character {found}"
                    )
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
            message = "unknown field (see the record schema in catalog/schema.py)"
        elif problem["type"] == "missing":
            message = "required field is missing"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def item_text(record: CatalogRecord) -> str:
    """What the dense text channel encodes for an item: title, category, brand, key values."""
    parts = [record.title]
    if record.category:
        parts.append(" > ".join(record.category))
    if record.brand:
        parts.append(record.brand)
    values = [
        f"{name}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for name, v in list(record.attributes.items())[:8]
    ]
    parts.extend(values)
    # the description stays with the keyword channel: short texts encode several times faster
    return ". ".join(parts)
