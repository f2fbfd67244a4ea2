"""The machinery an ontology is made of: typed properties, node types, relation types.

The concrete ShopKG ontology lives in :mod:`kg.ontology`; this module only says what an
ontology *is*, so that both backends can generate their DDL (Kùzu tables, Neo4j constraints and
indexes) from one description and validate every batch against it before writing.

Every node type gets a ``key`` STRING property: the natural key that MERGE operates on. When a
type's natural key is made of several fields (``Value``: attribute + value + unit) the key is
computed from them by :func:`encode_key`, so callers never build keys by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from foundation.errors import SchemaError

IDENTIFIER = re.compile(r"^[A-Z][A-Za-z0-9]*$")
"""Node labels: CamelCase ASCII. They are written into Cypher text, so nothing else is allowed."""
RELATION_IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]*$")
PROPERTY_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_LABELS = frozenset({"ShopKGMeta"})
KEY = "key"
SEARCH_TEXT = "search_text"
PROVENANCE_FIELDS = ("source", "extractor", "confidence")
"""Provenance carried by every relation and every node: where a fact came from and how sure."""


class PropType(StrEnum):
    """The property types the ontology supports, named after their Kùzu column types."""

    STRING = "STRING"
    INT64 = "INT64"
    DOUBLE = "DOUBLE"
    BOOL = "BOOL"
    STRING_LIST = "STRING[]"
    DOUBLE_LIST = "DOUBLE[]"

    @property
    def is_list(self) -> bool:
        return self in (PropType.STRING_LIST, PropType.DOUBLE_LIST)


@dataclass(frozen=True)
class Property:
    """A typed property. List properties are never null: a missing list reads as ``[]``."""

    name: str
    type: PropType
    doc: str = ""
    required: bool = False


def _check_names(owner: str, properties: Iterable[Property]) -> dict[str, Property]:
    result: dict[str, Property] = {}
    for prop in properties:
        if not PROPERTY_IDENTIFIER.match(prop.name):
            raise SchemaError(f"{owner}: property name {prop.name!r} must be snake_case ASCII")
        if prop.name in result:
            raise SchemaError(f"{owner}: property {prop.name!r} is declared twice")
        result[prop.name] = prop
    return result


COMMON_NODE_PROPERTIES = (
    Property(KEY, PropType.STRING, "natural key; MERGE target", required=True),
    Property("source", PropType.STRING, "key of the Source record the node was last seen in"),
    Property("extractor", PropType.STRING, "name@version of what last wrote the node"),
    Property("confidence", PropType.DOUBLE, "how sure the extractor was, 0..1"),
)
COMMON_RELATION_PROPERTIES = (
    Property("source", PropType.STRING, "key of the Source record the fact came from"),
    Property("extractor", PropType.STRING, "name@version of the extractor that asserted it"),
    Property("confidence", PropType.DOUBLE, "how sure the extractor was, 0..1"),
)


@dataclass(frozen=True)
class NodeType:
    """A node label with its properties and natural key.

    ``key_fields`` are the properties whose values make the key (``("key",)`` when callers give
    the key directly). With ``fold_key`` the key parts are case-folded and whitespace-collapsed,
    so "Waterproof " and "waterproof" are one POI. ``search_fields`` feed the full-text index.
    """

    label: str
    properties: tuple[Property, ...] = ()
    key_fields: tuple[str, ...] = (KEY,)
    fold_key: bool = False
    search_fields: tuple[str, ...] = ()
    doc: str = ""
    all_properties: Mapping[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not IDENTIFIER.match(self.label) or self.label in RESERVED_LABELS:
            raise SchemaError(f"node label {self.label!r} must be CamelCase ASCII, not reserved")
        extra = [Property(SEARCH_TEXT, PropType.STRING, "tokens for full-text lookup")]
        props = (*COMMON_NODE_PROPERTIES, *self.properties, *(extra if self.search_fields else ()))
        merged = _check_names(self.label, props)
        for name in (*self.key_fields, *self.search_fields):
            if name not in merged:
                raise SchemaError(f"{self.label}: key/search field {name!r} is not a property")
        for name in self.key_fields:
            if merged[name].type is not PropType.STRING:
                raise SchemaError(f"{self.label}: key field {name!r} must be a STRING")
        if not any(merged[name].required for name in self.key_fields):
            raise SchemaError(f"{self.label}: at least one key field must be required")
        object.__setattr__(self, "all_properties", MappingProxyType(merged))

    @property
    def computed_key(self) -> bool:
        """True when ``key`` is derived from other fields rather than given."""
        return self.key_fields != (KEY,)


@dataclass(frozen=True)
class RelationType:
    """A relation type, its allowed (start label, end label) pairs and its own properties."""

    type: str
    endpoints: tuple[tuple[str, str], ...]
    properties: tuple[Property, ...] = ()
    doc: str = ""
    all_properties: Mapping[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not RELATION_IDENTIFIER.match(self.type):
            raise SchemaError(f"relation type {self.type!r} must be UPPER_SNAKE ASCII")
        if not self.endpoints:
            raise SchemaError(f"relation {self.type} has no endpoint pairs")
        merged = _check_names(self.type, (*COMMON_RELATION_PROPERTIES, *self.properties))
        object.__setattr__(self, "all_properties", MappingProxyType(merged))

    def allows(self, start: str, end: str) -> bool:
        return (start, end) in self.endpoints


class Ontology:
    """An immutable, versioned set of node and relation types; the one source of the schema."""

    def __init__(
        self, version: int, nodes: Iterable[NodeType], relations: Iterable[RelationType]
    ) -> None:
        self.version = version
        self._nodes: dict[str, NodeType] = {}
        for node in nodes:
            if node.label in self._nodes:
                raise SchemaError(f"node type {node.label} is declared twice")
            self._nodes[node.label] = node
        self._relations: dict[str, RelationType] = {}
        for rel in relations:
            if rel.type in self._relations:
                raise SchemaError(f"relation type {rel.type} is declared twice")
            for start, end in rel.endpoints:
                for label in (start, end):
                    if label not in self._nodes:
                        raise SchemaError(f"relation {rel.type} names unknown label {label!r}")
            self._relations[rel.type] = rel

    def evolve(
        self,
        version: int,
        nodes: Iterable[NodeType] = (),
        relations: Iterable[RelationType] = (),
    ) -> Ontology:
        """A newer ontology: these types are added, or replace the same-named ones.

        Stores migrate additively (new tables, columns, endpoint pairs, indexes), so an evolved
        ontology must only add: see :meth:`GraphStore.ensure_schema`.
        """
        if version < self.version:
            raise SchemaError(f"an evolved ontology needs version >= {self.version}")
        node_map = {**self._nodes, **{n.label: n for n in nodes}}
        rel_map = {**self._relations, **{r.type: r for r in relations}}
        return Ontology(version, node_map.values(), rel_map.values())

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    @property
    def relation_types(self) -> tuple[str, ...]:
        return tuple(self._relations)

    def node_types(self) -> Iterator[NodeType]:
        return iter(self._nodes.values())

    def relations(self) -> Iterator[RelationType]:
        return iter(self._relations.values())

    def node(self, label: str) -> NodeType:
        """The node type called ``label``; a :class:`SchemaError` listing the known ones if none."""
        try:
            return self._nodes[label]
        except (KeyError, TypeError):
            known = ", ".join(self._nodes)
            raise SchemaError(f"unknown node label {label!r}; known labels: {known}") from None

    def relation(self, rel_type: str) -> RelationType:
        try:
            return self._relations[rel_type]
        except (KeyError, TypeError):
            known = ", ".join(self._relations)
            raise SchemaError(
                f"unknown relation type {rel_type!r}; known relation types: {known}"
            ) from None

    def check_labels(self, labels: Iterable[str] | None) -> tuple[str, ...] | None:
        """Validate an optional label filter (labels are later written into Cypher text)."""
        return None if labels is None else tuple(self.node(label).label for label in labels)

    def check_relations(self, rel_types: Iterable[str] | None) -> tuple[str, ...] | None:
        if rel_types is None:
            return None
        return tuple(self.relation(rel_type).type for rel_type in rel_types)

    def key_for(self, label: str, fields: Mapping[str, object]) -> str:
        """The natural key of a ``label`` node with these field values (see :func:`encode_key`)."""
        node = self.node(label)
        parts: list[str] = []
        for name in node.key_fields:
            prop = node.all_properties[name]
            value = fields.get(name)
            if value is None and not prop.required:
                value = ""
            if not isinstance(value, str):
                raise SchemaError(
                    f"{label} key field {name!r} must be a string, got {type(value).__name__}"
                )
            part = fold(value) if node.fold_key else value
            if prop.required and not part.strip():
                raise SchemaError(f"{label} needs a non-empty {name!r} for its key")
            parts.append(part)
        return encode_key(parts)

    def describe(self) -> dict[str, object]:
        """A JSON-able summary (stored with the schema version, shown by ``stats``)."""
        return {
            "version": self.version,
            "nodes": {
                n.label: {p.name: p.type.value for p in n.all_properties.values()}
                for n in self._nodes.values()
            },
            "relations": {
                r.type: {
                    "endpoints": [list(pair) for pair in r.endpoints],
                    "properties": {p.name: p.type.value for p in r.all_properties.values()},
                }
                for r in self._relations.values()
            },
        }


def fold(text: str) -> str:
    """Case-fold and collapse whitespace: the canonical form of vocabulary keys and names."""
    return " ".join(text.split()).casefold()


def encode_key(parts: Iterable[str]) -> str:
    """Join key parts with ``|``, escaping ``\\`` and ``|`` so that distinct parts never collide.

    A single part is returned unchanged, so simple keys stay readable (``item-17``).
    """
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    return "|".join(p.replace("\\", "\\\\").replace("|", "\\|") for p in parts)
