"""Facts a catalog states outright: the item, its category path, brand and attribute values.

This is the ``catalog`` extractor: no model, confidence 1, every fact traced to its record.
Free-text extraction (values in titles, POIs, problems, scenes, concepts) adds to these.
Attribute values are normalized (``"0.5 L"`` → ``500 ml``) so equal values share one node.
"""

from __future__ import annotations

from extraction.catalog import CatalogRecord
from extraction.facts import NodeRef, RecordFacts
from extraction.values import normalize_value

EXTRACTOR = "catalog@1"
MAX_VALUES_PER_ATTRIBUTE = 50
MAX_VALUE_CHARS = 200


def source_key(catalog: str, record_id: str) -> str:
    """The key of a record's Source node (and the ``source_record`` of its facts)."""
    return f"{catalog}:{record_id}"


def value_key(attribute: str, value: str, unit: str) -> str:
    """The RecordFacts key of a Value node: its three key fields, joined."""
    return f"{attribute}\x1f{value}\x1f{unit}"


def structure_facts(record: CatalogRecord, catalog: str, *, uri: str = "") -> RecordFacts:
    """The item node and what its structured fields say about it."""
    facts = RecordFacts(source_key(catalog, record.id))
    item = facts.add_node(
        "Item",
        record.id,
        EXTRACTOR,
        1.0,
        name=record.title,
        description=record.description,
        price=float(record.price) if record.price is not None else None,
        currency=record.currency,
    )
    source = facts.add_node(
        "Source",
        facts.source_record,
        EXTRACTOR,
        1.0,
        uri=uri,
        record_hash=record.content_hash(),
        kind="catalog",
    )
    facts.add_relation("FROM_SOURCE", item, source, EXTRACTOR, 1.0)
    leaf = _category_path(facts, record.category)
    if leaf is not None:
        facts.add_relation("IN_CATEGORY", item, leaf, EXTRACTOR, 1.0)
    if record.brand:
        brand = facts.add_node("Brand", record.brand.casefold(), EXTRACTOR, 1.0, name=record.brand)
        facts.add_relation("HAS_BRAND", item, brand, EXTRACTOR, 1.0)
    for attribute, raw in record.attributes.items():
        values = raw if isinstance(raw, list) else [raw]
        if len(values) > MAX_VALUES_PER_ATTRIBUTE:
            facts.warnings.append(
                f"attribute {attribute!r}: kept the first {MAX_VALUES_PER_ATTRIBUTE} of "
                f"{len(values)} values"
            )
        for value in values[:MAX_VALUES_PER_ATTRIBUTE]:
            ref = add_value(facts, attribute, str(value), EXTRACTOR, 1.0)
            if ref is not None:
                facts.add_relation("HAS_VALUE", item, ref, EXTRACTOR, 1.0, raw=str(value))
    return facts


def add_value(
    facts: RecordFacts, attribute: str, raw: str, extractor: str, confidence: float
) -> NodeRef | None:
    """A normalized Value node for ``attribute = raw`` (``None`` for an empty or huge value)."""
    name = " ".join(attribute.strip().lower().replace("_", " ").split())
    if not name or not raw.strip():
        return None
    if len(raw) > MAX_VALUE_CHARS:
        facts.warnings.append(f"attribute {attribute!r}: a value of {len(raw)} characters skipped")
        return None
    normalized = normalize_value(raw, name)
    if not normalized.text:
        return None
    unit = normalized.unit or ""
    return facts.add_node(
        "Value",
        value_key(name, normalized.text, unit),
        extractor,
        confidence,
        attribute=name,
        value=normalized.text,
        unit=unit,
        number=normalized.number,
        name=f"{name}: {normalized.text}",
    )


def _category_path(facts: RecordFacts, path: list[str]) -> NodeRef | None:
    parent: NodeRef | None = None
    for depth, name in enumerate(path):
        full = " > ".join(path[: depth + 1])
        ref = facts.add_node("Category", full, EXTRACTOR, 1.0, name=name, path=full, depth=depth)
        if parent is not None:
            facts.add_relation("IS_A", ref, parent, EXTRACTOR, 1.0)
        parent = ref
    return parent
