"""How admin overrides (:mod:`foundation.db.overrides`) show in what search serves.

An edit of an ``Item`` node sets KG properties; the item table and the catalog record that
cards and answers read name some of them differently (the node's ``name`` is the record's
``title``). These functions carry an edit over, and :func:`apply_override` applies one
override to a live :class:`~retrieval.search.HybridSearcher`; the build applies the same
edits to the records it indexes (``jobs/overrides.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from catalog.schema import CatalogRecord

if TYPE_CHECKING:
    from foundation.db.overrides import Override
    from retrieval.search import HybridSearcher

# Item node property -> catalog record field (the properties an item's card and row show)
RECORD_FIELDS = {
    "name": "title",
    "description": "description",
    "price": "price",
    "currency": "currency",
}
ROW_FIELDS = ("title", "price", "currency")  # what of those the item table holds


def record_changes(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog record fields an edit of an Item node's ``properties`` sets."""
    changes: dict[str, Any] = {}
    for name, value in properties.items():
        field = RECORD_FIELDS.get(name)
        if field is None:
            continue
        if field == "price":
            changes[field] = _decimal(value)
        elif field == "title" and not value:
            continue  # a record always has a title: an emptied name leaves it
        elif field == "description":
            changes[field] = value or ""
        else:
            changes[field] = value
    return changes


def row_changes(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The item table fields an edit of an Item node's ``properties`` sets."""
    changes = record_changes(properties)
    found = {name: changes[name] for name in ROW_FIELDS if name in changes}
    if "price" in found:
        found["price"] = float(found["price"]) if found["price"] is not None else None
    return found


def edited_record(record: CatalogRecord, properties: Mapping[str, Any]) -> CatalogRecord:
    """``record`` as the admin's edit of its Item node says it is."""
    changes = record_changes(properties)
    return record.model_copy(update=changes) if changes else record


def apply_override(searcher: HybridSearcher, override: Override) -> None:
    """Make ``searcher`` serve what the KG holds after ``override``: a deleted or merged
    item out of every channel, an edited item's title and price in its hits and price
    constraints, a changed vocabulary node's items read from the store."""
    if override.label == "Item":
        if override.hides_target:
            searcher.hide_item(override.key)
        else:
            searcher.edit_item(override.key, row_changes(override.properties))
        return
    searcher.relink(override.label, override.key, gone=override.hides_target)
    if override.merge_into:
        searcher.relink(override.label, override.merge_into, gone=False)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
