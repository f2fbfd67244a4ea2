"""One record's processed Doc → its facts, each with provenance.

The record's own structured fields (category path, brand, attributes) are facts with
confidence 1 from ``shopkg.catalog``; what the pipeline found in text carries the confidence
of the step that found it and that step's ``name@version``.
"""

from __future__ import annotations

from typing import Any

from catalog.schema import CatalogRecord
from extraction.facts import NodeRef, RecordFacts
from extraction.textnorm import normalize_text
from extraction.values import canonical_attribute, normalize_value

CATALOG = "shopkg.catalog@1"
DICTIONARY = "shopkg.dictionary_matcher@1"
NEEDS = "shopkg.need_finder@1"


def value_key(attribute: str, value: str) -> str:
    """The key of a ``Value`` node: ``attribute=canonical value``."""
    return f"{attribute}={value}"


def category_key(path: list[str], depth: int) -> str:
    return " > ".join(path[: depth + 1])


def facts_from_doc(record: CatalogRecord, doc: Any) -> RecordFacts:
    """Nodes and relations of one record."""
    facts = RecordFacts(record.id, warnings=list(doc._.warnings or []))
    properties: dict[str, Any] = {"name": normalize_text(record.title)}
    if record.price is not None:
        properties.update(price=float(record.price), currency=record.currency)
    item = facts.add_node("Item", record.id, CATALOG, 1.0, **properties)
    _structured(record, facts, item)
    _values(doc, facts, item, stated_attributes(record))
    _needs(doc, facts, item)
    facts.concept_candidates = list(doc._.concept_candidates or [])
    facts.feature_phrases = list(doc._.feature_phrases or [])
    return facts


def _structured(record: CatalogRecord, facts: RecordFacts, item: NodeRef) -> None:
    parent: NodeRef | None = None
    for depth, name in enumerate(record.category):
        node = facts.add_node(
            "Category", category_key(record.category, depth), CATALOG, 1.0, name=name
        )
        if parent is not None:
            facts.add_relation("IS_A", node, parent, CATALOG, 1.0)
        parent = node
    if parent is not None:
        facts.add_relation("IN_CATEGORY", item, parent, CATALOG, 1.0)
    if record.brand:
        brand = facts.add_node("Brand", record.brand.lower(), CATALOG, 1.0, name=record.brand)
        facts.add_relation("HAS_BRAND", item, brand, CATALOG, 1.0)
    for attribute, raw in record.attributes.items():
        for item_value in raw if isinstance(raw, list) else [raw]:
            name = canonical_attribute(attribute)  # one Value node for colour and color
            canonical = normalize_value(str(item_value), name)
            if not canonical.text:
                continue
            value = facts.add_node(
                "Value",
                value_key(name, canonical.text),
                CATALOG,
                1.0,
                attribute=name,
                value=canonical.text,
                unit=canonical.unit,
            )
            facts.add_relation("HAS_VALUE", item, value, CATALOG, 1.0, raw=str(item_value))


def stated_attributes(record: CatalogRecord) -> set[str]:
    """The attributes a record states in its own structured fields (brand included)."""
    stated = {canonical_attribute(attribute) for attribute in record.attributes}
    return (stated | {"brand"}) if record.brand else stated


def _values(doc: Any, facts: RecordFacts, item: NodeRef, stated: set[str]) -> None:
    """The values found in the text. The tagger fills only attributes the record does not
    state itself: where it does, the catalog's own value stands (a tagger's guess beside it
    would be a second, often partial, value: "northvale summit" beside the brand Northvale)."""
    tagger = doc._.tagger_version or "shopkg.attribute_tagger@unknown"
    for mention in doc._.values or ():
        extractor = tagger if mention.method == "tagger" else DICTIONARY
        attribute = canonical_attribute(mention.attribute)
        if mention.method == "tagger" and attribute in stated:
            continue
        value = facts.add_node(
            "Value",
            value_key(attribute, mention.value),
            extractor,
            mention.confidence,
            attribute=attribute,
            value=mention.value,
            unit=mention.unit,
        )
        facts.add_relation(
            "HAS_VALUE",
            item,
            value,
            extractor,
            mention.confidence,
            raw=mention.raw,
            start_char=mention.start_char,
        )
    for match in doc._.entry_matches or ():
        if match.label == "Brand" and not facts.relations_of("HAS_BRAND"):
            brand = facts.add_node("Brand", match.key, DICTIONARY, 0.7, name=match.text)
            facts.add_relation("HAS_BRAND", item, brand, DICTIONARY, 0.7, section=match.section)


def _needs(doc: Any, facts: RecordFacts, item: NodeRef) -> None:
    for mention in doc._.needs or ():
        node = facts.add_node(mention.kind, mention.name, NEEDS, mention.confidence)
        if mention.kind == "POI":
            facts.add_relation("HAS_POI", item, node, NEEDS, mention.confidence)
        elif mention.kind in ("Scene", "Crowd"):
            facts.add_relation(
                "SUITS", item, node, NEEDS, mention.confidence, pattern=mention.pattern
            )
    for link in doc._.solves or ():
        facts.add_relation(
            "SOLVES",
            ("POI", link.poi),
            ("Problem", link.problem),
            NEEDS,
            link.confidence,
            evidence=link.evidence,
        )
