"""What goes into a graph store and what comes out of it: small frozen records.

Rows (:class:`NodeRow`, :class:`RelationRow`) are what callers write; records
(:class:`NodeRecord`, :class:`RelationRecord`, ...) are what queries return; reports say what a
write, merge or delete changed, in a JSON-able form fit for an audit log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kg.schema import Ontology

MANUAL_EXTRACTOR = "manual@0"


class NodeRef(NamedTuple):
    """A node by label and natural key; the only way nodes are addressed."""

    label: str
    key: str

    def __str__(self) -> str:
        return f"{self.label}:{self.key}"


class RelationKey(NamedTuple):
    """What identifies a stored relation: one extractor's assertion of a fact from one source."""

    type: str
    start: NodeRef
    end: NodeRef
    extractor: str
    source: str


@dataclass(frozen=True)
class Provenance:
    """Where a fact came from: a Source record key, the extractor ``name@version``, confidence."""

    source: str = ""
    extractor: str = MANUAL_EXTRACTOR
    confidence: float = 1.0


@dataclass(frozen=True)
class ExtractorFilter:
    """Which facts to keep by who asserted them: those of one extractor (``name@version``), or,
    when ``text`` ends with ``@`` (``shopkg.image_values@``), those of every version of it.
    Make one with :func:`kg.validation.extractor_filter`, which checks the text."""

    text: str

    @property
    def every_version(self) -> bool:
        return self.text.endswith("@")

    def matches(self, extractor: str) -> bool:
        return extractor.startswith(self.text) if self.every_version else extractor == self.text


@dataclass(frozen=True)
class NodeRow:
    """A node to upsert. Properties not given are left as they are on an existing node."""

    label: str
    properties: Mapping[str, Any]
    provenance: Provenance | None = None


@dataclass(frozen=True)
class RelationRow:
    """A relation to upsert; it is identified by (type, start, end, extractor, source)."""

    type: str
    start: NodeRef
    end: NodeRef
    properties: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance | None = None


@dataclass(frozen=True)
class NodeRecord:
    """A node read from a store."""

    label: str
    key: str
    properties: Mapping[str, Any]

    @property
    def ref(self) -> NodeRef:
        return NodeRef(self.label, self.key)

    @property
    def name(self) -> str:
        """Display name: the ``name`` property when there is one, else the key."""
        name = self.properties.get("name")
        return name if isinstance(name, str) and name else self.key


@dataclass(frozen=True)
class RelationRecord:
    """A relation read from a store, with its true direction."""

    type: str
    start: NodeRef
    end: NodeRef
    properties: Mapping[str, Any]

    @property
    def provenance(self) -> Provenance:
        p = self.properties
        confidence = p.get("confidence")
        return Provenance(
            source=p.get("source") or "",
            extractor=p.get("extractor") or "",
            confidence=1.0 if confidence is None else float(confidence),
        )

    @property
    def identity(self) -> RelationKey:
        """What MERGE matches on: one extractor's assertion of this fact from one source."""
        prov = self.provenance
        return RelationKey(self.type, self.start, self.end, prov.extractor, prov.source)


@dataclass(frozen=True)
class Neighbor:
    """A node near another one, ``distance`` hops away."""

    node: NodeRecord
    distance: int


@dataclass(frozen=True)
class GraphPath:
    """A path between two nodes, e.g. Item -HAS_POI-> POI -SOLVES-> Problem."""

    nodes: tuple[NodeRecord, ...]
    relations: tuple[RelationRecord, ...]

    def __len__(self) -> int:
        return len(self.relations)

    def describe(self) -> str:
        """A readable one-liner for recommendation reasons and logs."""
        parts = [str(self.nodes[0].ref)]
        for rel, node in zip(self.relations, self.nodes[1:], strict=True):
            forward = rel.end == node.ref
            parts.append(f"-{rel.type}->" if forward else f"<-{rel.type}-")
            parts.append(str(node.ref))
        return " ".join(parts)


@dataclass(frozen=True)
class LookupHit:
    """A full-text match; ``exact`` when the query has the same words as the name or an alias."""

    node: NodeRecord
    score: float
    exact: bool


def _jsonable(value: Any) -> Any:
    if isinstance(value, NodeRef):
        return {"label": value.label, "key": value.key}
    if isinstance(value, RelationKey):
        return {f: _jsonable(v) for f, v in value._asdict().items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping | MappingProxyType):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _Report:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the report, for the audit log."""
        result = _jsonable(self)
        assert isinstance(result, dict)
        return result


@dataclass(frozen=True)
class WriteReport(_Report):
    """What an upsert batch did. ``unchanged`` rows were already stored exactly so."""

    nodes_created: int = 0
    nodes_updated: int = 0
    nodes_unchanged: int = 0
    relations_created: int = 0
    relations_updated: int = 0
    relations_unchanged: int = 0
    duplicates_in_batch: int = 0

    def __add__(self, other: WriteReport) -> WriteReport:
        return WriteReport(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )


@dataclass(frozen=True)
class MergeReport(_Report):
    """What merging ``merged`` into ``kept`` changed; ``merged_node`` is its last state."""

    kept: NodeRef
    merged: NodeRef
    merged_node: Mapping[str, Any]
    relations_moved: Mapping[str, int]
    relations_dropped: tuple[str, ...]
    properties_filled: tuple[str, ...]
    aliases_added: tuple[str, ...]


@dataclass(frozen=True)
class DeleteReport(_Report):
    """What a delete removed: nodes (with their last properties) and relations by type."""

    nodes_deleted: tuple[NodeRef, ...]
    relations_deleted: Mapping[str, int]
    deleted_nodes: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class GraphStats(_Report):
    """Counts and schema facts of a store."""

    backend: str
    schema_version: int
    nodes: Mapping[str, int]
    relations: Mapping[str, int]
    full_text_indexes: tuple[str, ...]

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_relations(self) -> int:
        return sum(self.relations.values())


@dataclass(frozen=True)
class SchemaReport(_Report):
    """What :meth:`GraphStore.ensure_schema` did; ``applied`` is empty when nothing changed."""

    backend: str
    version_before: int | None
    version_after: int
    applied: tuple[str, ...]


def relation_record(
    ontology: Ontology, rel_type: str, start: NodeRef, end: NodeRef, raw: Mapping[str, Any]
) -> RelationRecord:
    """A stored relation as a record with exactly its type's properties (missing ones None)."""
    props = ontology.relation(rel_type).all_properties
    return RelationRecord(rel_type, start, end, {name: raw.get(name) for name in props})
