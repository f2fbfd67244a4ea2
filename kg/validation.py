"""Check batches against the ontology before anything is written.

Every row of a batch is checked up front: labels, relation types, property names and types,
keys, endpoint labels and provenance. The first problem raises a :class:`SchemaError` that
names the row, what is wrong and what to do, and nothing of the batch is written. Valid rows
come out normalized (keys computed, full-text tokens derived) and de-duplicated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from foundation.errors import SchemaError
from foundation.text import NAME_WORDS, singular, strip_accents, tokens
from kg.records import ExtractorFilter, NodeRef, NodeRow, Provenance, RelationKey, RelationRow
from kg.schema import (
    KEY,
    PROVENANCE_FIELDS,
    SEARCH_TEXT,
    Ontology,
    Property,
    PropType,
    RelationType,
)

EXTRACTOR = re.compile(r"^[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-+]+$")
EXTRACTOR_FILTER = re.compile(r"^[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-+]*$")
"""An extractor, or with nothing after the ``@`` every version of one."""
EXTRACTOR_FILTER_MAX = 200
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TOKEN_PREFIX = "q"  # noqa: S105 (not a password)
"""Prefixed to every indexed word. Kùzu's FTS drops MySQL's stop words ("best", "four", "new",
"hello", ...) and Kùzu 0.11.3 crashes on inserts when given its own list; prefixed words are
never stop words, yet stem the same ("qboots" -> "qboot")."""
_DIGITS = str.maketrans("0123456789", "abcdefghij")


@dataclass(frozen=True)
class ValidNode:
    """A checked node row: ``values`` are the properties to set, key and provenance included."""

    label: str
    key: str
    values: Mapping[str, Any]
    row: int

    @property
    def ref(self) -> NodeRef:
        return NodeRef(self.label, self.key)


class ValidRelation(NamedTuple):
    """A checked relation row; ``values`` hold its properties and provenance.

    A plain tuple, built without a Python frame per row (a batch has a million of them).
    Rows without properties of their own share one ``values`` mapping per provenance: read it,
    never change it. Make one with :func:`valid_relation`.
    """

    type: str
    start: NodeRef
    end: NodeRef
    values: Mapping[str, Any]
    row: int
    identity: RelationKey
    """What MERGE matches on: (type, start, end, extractor, source)."""
    group: tuple[str, str, str]
    """(type, start label, end label): the unit backends write relations in."""


def valid_relation(
    rel_type: str, start: NodeRef, end: NodeRef, values: Mapping[str, Any], row: int
) -> ValidRelation:
    """A :class:`ValidRelation` with its identity and group derived from the other fields."""
    identity = RelationKey(
        rel_type, start, end, values.get("extractor") or "", values.get("source") or ""
    )
    return ValidRelation(
        rel_type, start, end, values, row, identity, (rel_type, start.label, end.label)
    )


INDEX_TEXT_SCHEME = 2
"""How :func:`index_word` normalizes; stored with the schema, so that opening a graph indexed
by an older scheme re-derives its ``search_text`` and rebuilds its full-text indexes."""


def index_word(word: str) -> str:
    """A word (a :data:`NAME_WORDS` token: case-folded) as the full-text index sees it.

    ShopKG normalizes the terms itself, so every store answers a lookup alike whatever its
    analyzer does: accents are stripped ("jäger" → "jager"), plurals stemmed ("kids" → "kid",
    :func:`~foundation.text.singular`), then the word is prefixed (never a stop word) and its
    ASCII digits spelled as letters behind an ``n`` marker, because Kùzu's tokenizer drops
    digits ("15" -> "qnbf"). The stores index the result without stemming or stop words of
    their own (Kùzu ``stemmer := 'none'``, Neo4j's ``whitespace`` analyzer)."""
    word = singular(strip_accents(word))
    if any("0" <= ch <= "9" for ch in word):
        return f"{TOKEN_PREFIX}n{word.translate(_DIGITS)}"
    return TOKEN_PREFIX + word


def index_text(words: Iterable[str]) -> str:
    """Words as written into the full-text index and into full-text queries."""
    return " ".join(index_word(w) for w in words)


def search_text(values: Mapping[str, Any], fields: Iterable[str]) -> str:
    """The text indexed for full-text lookup: the tokens of the search fields."""
    words: list[str] = []
    for name in fields:
        value = values.get(name)
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str):
                words.extend(tokens(text, NAME_WORDS))
    return index_text(words)


def check_value(prop: Property, value: Any, where: str) -> Any:
    """``value`` converted to the property's type, or a SchemaError naming ``where``."""
    if value is None:
        if prop.required:
            raise SchemaError(f"{where}: property {prop.name!r} is required and cannot be None")
        return [] if prop.type.is_list else None
    kind = prop.type
    if kind is PropType.STRING and isinstance(value, str):
        return value
    if kind is PropType.BOOL and isinstance(value, bool):
        return value
    if kind is PropType.INT64 and isinstance(value, int) and not isinstance(value, bool):
        if INT64_MIN <= value <= INT64_MAX:
            return value
        raise SchemaError(f"{where}: property {prop.name!r} = {value} does not fit in INT64")
    if kind is PropType.DOUBLE and _is_number(value):
        return _finite(float(value), prop.name, where)
    is_list = isinstance(value, list | tuple)
    if kind is PropType.STRING_LIST and is_list and all(isinstance(v, str) for v in value):
        return list(value)
    if kind is PropType.DOUBLE_LIST and is_list and all(_is_number(v) for v in value):
        return [_finite(float(v), prop.name, where) for v in value]
    raise SchemaError(
        f"{where}: property {prop.name!r} must be {kind.value}, got {type(value).__name__} "
        f"{_preview(value)}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: float, name: str, where: str) -> float:
    if not math.isfinite(value):
        raise SchemaError(f"{where}: property {name!r} must be a finite number, got {value}")
    return value


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_provenance(provenance: Provenance | None, where: str) -> dict[str, Any]:
    """The provenance values to store; the manual provenance when none is given."""
    prov = provenance if provenance is not None else Provenance()
    if not isinstance(prov, Provenance):
        raise SchemaError(f"{where}: provenance must be a kg.Provenance")
    if not isinstance(prov.extractor, str) or not EXTRACTOR.match(prov.extractor):
        raise SchemaError(
            f"{where}: extractor {prov.extractor!r} must look like name@version "
            "(e.g. 'poi_tagger@1.2')"
        )
    if not isinstance(prov.source, str):
        raise SchemaError(f"{where}: provenance source must be a Source key (a string)")
    conf = prov.confidence
    if not _is_number(conf) or not 0.0 <= float(conf) <= 1.0:
        raise SchemaError(f"{where}: confidence must be a number in [0, 1], got {conf!r}")
    return {"source": prov.source, "extractor": prov.extractor, "confidence": float(conf)}


def extractor_filter(text: str | ExtractorFilter | None) -> ExtractorFilter | None:
    """``text`` as a filter of facts by extractor: ``name@version`` keeps that extractor's
    facts, ``name@`` those of every version of it; None keeps everything."""
    if text is None or isinstance(text, ExtractorFilter):
        return text
    if (
        not isinstance(text, str)
        or len(text) > EXTRACTOR_FILTER_MAX
        or not EXTRACTOR_FILTER.match(text)
    ):
        raise SchemaError(
            f"extractor filter {_preview(text)} must be an extractor's name@version "
            "(e.g. 'shopkg.image_values@1') or its name and '@' for every version "
            "(e.g. 'shopkg.image_values@')"
        )
    return ExtractorFilter(text)


class _ProvenanceCache:
    """Batches reuse a few Provenance objects; check each one once."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[Provenance | None, dict[str, Any]]] = {}

    def __call__(self, provenance: Provenance | None, where: Callable[[], str]) -> dict[str, Any]:
        hit = self._seen.get(id(provenance))
        if hit is None or hit[0] is not provenance:
            hit = (provenance, check_provenance(provenance, where()))
            self._seen[id(provenance)] = hit
        return hit[1]


def validate_nodes(ontology: Ontology, rows: Iterable[NodeRow]) -> tuple[list[ValidNode], int]:
    """Checked, de-duplicated node rows (later rows win per property) and the duplicate count."""
    merged: dict[tuple[str, str], ValidNode] = {}
    provenance = _ProvenanceCache()
    duplicates = 0
    for index, row in enumerate(rows):
        where = f"node batch row {index}"
        if not isinstance(row, NodeRow):
            raise SchemaError(f"{where}: expected a kg.NodeRow, got {type(row).__name__}")
        try:
            node_type = ontology.node(row.label)
        except SchemaError as e:
            raise SchemaError(f"{where}: {e}") from None
        where = f"{where} ({row.label})"
        if not isinstance(row.properties, Mapping):
            raise SchemaError(f"{where}: properties must be a mapping")
        values: dict[str, Any] = {}
        for name, value in row.properties.items():
            prop = node_type.all_properties.get(name) if isinstance(name, str) else None
            if prop is None or name in (SEARCH_TEXT, *PROVENANCE_FIELDS):
                settable = [p for p in node_type.all_properties if p not in _DERIVED]
                hint = (
                    "set provenance with NodeRow(provenance=Provenance(...))"
                    if name in PROVENANCE_FIELDS
                    else f"{row.label} has: {', '.join(settable)}"
                )
                raise SchemaError(f"{where}: unknown property {name!r}; {hint}")
            values[name] = check_value(prop, value, where)
        missing = [
            p.name for p in node_type.all_properties.values() if p.required and p.name not in values
        ]
        if node_type.computed_key:
            missing = [m for m in missing if m != KEY]
        if missing:
            raise SchemaError(f"{where}: missing required propert(ies) {', '.join(missing)}")
        try:
            key = ontology.key_for(row.label, values)
        except SchemaError as e:
            raise SchemaError(f"{where}: {e}") from None
        if node_type.computed_key and KEY in values and values[KEY] != key:
            raise SchemaError(
                f"{where}: key {values[KEY]!r} does not match the key computed from "
                f"{', '.join(node_type.key_fields)} ({key!r}); leave 'key' out"
            )
        values[KEY] = key
        values.update(provenance(row.provenance, partial(str, where)))
        ident = (row.label, key)
        previous = merged.get(ident)
        if previous is not None:
            duplicates += 1
            values = {**previous.values, **values}
        merged[ident] = ValidNode(row.label, key, values, previous.row if previous else index)
    return list(merged.values()), duplicates


_DERIVED = (SEARCH_TEXT, *PROVENANCE_FIELDS)


def validate_relations(
    ontology: Ontology, rows: Iterable[RelationRow]
) -> tuple[list[ValidRelation], int]:
    """Checked, de-duplicated relation rows (later rows win per property, the first row's
    number stays) and the duplicate count.

    One pass of plain Python over the rows, at about a microsecond a row: the checks that
    depend only on (type, start label, end label) run once per such shape, those of a
    Provenance object once per object, and rows without properties of their own share the
    provenance's values instead of copying them.
    """
    merged: dict[RelationKey, ValidRelation] = {}
    duplicates = 0
    provenance = _ProvenanceCache()
    shapes: dict[tuple[str, str, str], RelationType] = {}  # checked (type, start, end) labels
    seen: dict[int, tuple[Provenance | None, dict[str, Any], str, str]] = {}
    new = tuple.__new__
    for index, row in enumerate(rows):
        if type(row) is not RelationRow and not isinstance(row, RelationRow):
            raise SchemaError(
                f"relation batch row {index}: expected a kg.RelationRow, got {type(row).__name__}"
            )
        rel, start, end = row.type, row.start, row.end
        shape = (rel, start[0], end[0]) if type(start) is type(end) is NodeRef else None
        try:
            rel_type = shapes.get(shape) if shape is not None else None
        except TypeError:  # an unhashable type or label: _check_shape names it
            rel_type = shape = None
        if rel_type is None:
            rel_type = _check_shape(ontology, row, index)
            if shape is None:
                shape = (rel, start.label, end.label)
            else:
                shapes[shape] = rel_type
        start_key, end_key = start[1], end[1]
        if not isinstance(start_key, str) or not start_key:
            raise SchemaError(_where(index, row) + ": start must be a NodeRef with a non-empty key")
        if not isinstance(end_key, str) or not end_key:
            raise SchemaError(_where(index, row) + ": end must be a NodeRef with a non-empty key")
        prov = row.provenance
        known = seen.get(id(prov))
        if known is None or known[0] is not prov:
            checked = provenance(prov, partial(_where, index, row))
            known = (prov, checked, checked["extractor"], checked["source"])
            seen[id(prov)] = known
        values: Mapping[str, Any] = known[1]
        if row.properties:
            values = {**_relation_properties(rel_type, row, _where(index, row)), **values}
        identity = new(RelationKey, (rel, start, end, known[2], known[3]))
        valid = new(ValidRelation, (rel, start, end, values, index, identity, shape))
        previous = merged.setdefault(identity, valid)
        if previous is not valid:
            duplicates += 1
            values = {**previous.values, **values}
            merged[identity] = new(
                ValidRelation, (rel, start, end, values, previous.row, identity, shape)
            )
    return list(merged.values()), duplicates


def _where(index: int, row: RelationRow) -> str:
    return f"relation batch row {index} ({row.type})"


def _check_shape(ontology: Ontology, row: RelationRow, index: int) -> RelationType:
    """The relation type of ``row`` after checking its type and endpoint labels."""
    try:
        rel_type = ontology.relation(row.type)
    except SchemaError as e:
        raise SchemaError(f"relation batch row {index}: {e}") from None
    where = _where(index, row)
    for end_name, ref in (("start", row.start), ("end", row.end)):
        if not isinstance(ref, NodeRef):
            raise SchemaError(f"{where}: {end_name} must be a NodeRef with a non-empty key")
        try:
            ontology.node(ref.label)
        except SchemaError as e:
            raise SchemaError(f"{where}: {end_name}: {e}") from None
    if not rel_type.allows(row.start.label, row.end.label):
        allowed = ", ".join(f"{s}->{e}" for s, e in rel_type.endpoints)
        raise SchemaError(
            f"{where}: {row.type} cannot go from {row.start.label} to {row.end.label}; "
            f"allowed: {allowed}"
        )
    return rel_type


def _relation_properties(rel_type: RelationType, row: RelationRow, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in row.properties.items():
        prop = rel_type.all_properties.get(name) if isinstance(name, str) else None
        if prop is None or name in PROVENANCE_FIELDS:
            own = [p.name for p in rel_type.properties] or ["none"]
            raise SchemaError(
                f"{where}: unknown property {name!r}; {row.type} properties: "
                f"{', '.join(own)} (provenance goes in RelationRow.provenance)"
            )
        values[name] = check_value(prop, value, where)
    return values
