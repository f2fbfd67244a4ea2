"""What the extraction pipeline produces: backend-neutral facts with provenance.

The pipeline knows nothing about the graph store. It emits typed nodes and relations, each
carrying where it came from (the catalog record), what made it (``name@version``) and how sure
it is, as a :class:`kg.Provenance`; a writer for a concrete store (see ``kg/``) turns them into
upserts. Labels and relation types are those of the one ontology, :data:`kg.SHOPKG_ONTOLOGY`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg.ontology import SHOPKG_ONTOLOGY
from kg.records import Provenance

NodeRef = tuple[str, str]
"""A node by ``(label, key)``; keys are unique within a label."""

_LABELS = frozenset(SHOPKG_ONTOLOGY.labels)
_RELATION_TYPES = frozenset(SHOPKG_ONTOLOGY.relation_types)


def _check_provenance(provenance: Provenance) -> None:
    """What the pipeline promises of every fact's :class:`kg.Provenance`, checked when made."""
    if not 0.0 <= provenance.confidence <= 1.0:
        raise ValueError(f"confidence must lie in [0, 1], not {provenance.confidence}")
    if "@" not in provenance.extractor:
        raise ValueError(f"extractor {provenance.extractor!r} must be written name@version")


@dataclass(frozen=True)
class ExtractedNode:
    """A node to upsert: ``label`` and ``key`` identify it, ``properties`` describe it."""

    label: str
    key: str
    properties: dict[str, Any]
    provenance: Provenance

    def __post_init__(self) -> None:
        if self.label not in _LABELS:
            raise ValueError(f"unknown node label {self.label!r}")
        _check_provenance(self.provenance)

    @property
    def ref(self) -> NodeRef:
        return (self.label, self.key)


@dataclass(frozen=True)
class ExtractedRelation:
    """A relation between two nodes given by reference."""

    type: str
    source: NodeRef
    target: NodeRef
    properties: dict[str, Any]
    provenance: Provenance

    def __post_init__(self) -> None:
        if self.type not in _RELATION_TYPES:
            raise ValueError(f"unknown relation type {self.type!r}")
        _check_provenance(self.provenance)


@dataclass
class RecordFacts:
    """All facts extracted from one catalog record (or, for corpus facts, one catalog).

    ``error`` is set when the record could not be processed; its facts are then empty.
    ``warnings`` note what was handled but worth knowing (a truncated field, say).
    ``concept_candidates`` and ``feature_phrases`` are not facts: catalog-level concept
    mining and POI propagation read them.
    """

    source_record: str
    nodes: list[ExtractedNode] = field(default_factory=list)
    relations: list[ExtractedRelation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    concept_candidates: list[str] = field(default_factory=list)
    feature_phrases: list[str] = field(default_factory=list)

    # where each (label, key, extractor) node and (type, source, target, extractor) relation
    # sits in its list: adding is then constant time, not a scan (a catalog's corpus facts
    # hold thousands). Rebuilt whenever the lists were replaced or changed from outside.
    _node_at: dict[tuple[str, str, str], int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _relation_at: dict[tuple[str, NodeRef, NodeRef, str], int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _indexed: tuple[int, int, int, int] = field(
        default=(0, -1, 0, -1), init=False, repr=False, compare=False
    )

    def _index(self) -> None:
        state = (id(self.nodes), len(self.nodes), id(self.relations), len(self.relations))
        if state != self._indexed:
            self._node_at = {
                (n.label, n.key, n.provenance.extractor): i for i, n in enumerate(self.nodes)
            }
            self._relation_at = {
                (r.type, r.source, r.target, r.provenance.extractor): i
                for i, r in enumerate(self.relations)
            }
            self._indexed = state

    def _reindexed(self) -> None:
        self._indexed = (id(self.nodes), len(self.nodes), id(self.relations), len(self.relations))

    def add_node(
        self, label: str, key: str, extractor: str, confidence: float, **properties: Any
    ) -> NodeRef:
        """Add a node (once per label, key and extractor) and return its reference."""
        self._index()
        if (label, key, extractor) not in self._node_at:
            provenance = Provenance(self.source_record, extractor, confidence)
            self._node_at[(label, key, extractor)] = len(self.nodes)
            self.nodes.append(ExtractedNode(label, key, properties, provenance))
            self._reindexed()
        return (label, key)

    def add_relation(
        self,
        rel_type: str,
        source: NodeRef,
        target: NodeRef,
        extractor: str,
        confidence: float,
        **properties: Any,
    ) -> None:
        """Add a relation; a repeat keeps the higher confidence."""
        self._index()
        at = self._relation_at.get((rel_type, source, target, extractor))
        if at is not None:
            rel = self.relations[at]
            if confidence > rel.provenance.confidence:
                provenance = Provenance(self.source_record, extractor, confidence)
                self.relations[at] = ExtractedRelation(
                    rel_type, source, target, {**rel.properties, **properties}, provenance
                )
            return
        provenance = Provenance(self.source_record, extractor, confidence)
        self._relation_at[(rel_type, source, target, extractor)] = len(self.relations)
        self.relations.append(ExtractedRelation(rel_type, source, target, properties, provenance))
        self._reindexed()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; :meth:`from_dict` reads it back to equal facts."""
        return {
            "source_record": self.source_record,
            "nodes": [
                [n.label, n.key, n.properties, *_provenance_list(n.provenance)] for n in self.nodes
            ],
            "relations": [
                [
                    r.type,
                    list(r.source),
                    list(r.target),
                    r.properties,
                    *_provenance_list(r.provenance),
                ]
                for r in self.relations
            ],
            "warnings": self.warnings,
            "error": self.error,
            "concept_candidates": self.concept_candidates,
            "feature_phrases": self.feature_phrases,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordFacts:
        source = data["source_record"]
        return cls(
            source,
            nodes=[
                ExtractedNode(label, key, properties, Provenance(origin, extractor, confidence))
                for label, key, properties, origin, extractor, confidence in data["nodes"]
            ],
            relations=[
                ExtractedRelation(
                    rel_type,
                    (start[0], start[1]),
                    (end[0], end[1]),
                    properties,
                    Provenance(origin, extractor, confidence),
                )
                for rel_type, start, end, properties, origin, extractor, confidence in data[
                    "relations"
                ]
            ],
            warnings=list(data["warnings"]),
            error=data["error"],
            concept_candidates=list(data["concept_candidates"]),
            feature_phrases=list(data.get("feature_phrases", [])),
        )

    def nodes_of(self, label: str) -> list[ExtractedNode]:
        return [node for node in self.nodes if node.label == label]

    def relations_of(self, rel_type: str) -> list[ExtractedRelation]:
        return [rel for rel in self.relations if rel.type == rel_type]


def _provenance_list(provenance: Provenance) -> list[Any]:
    return [provenance.source, provenance.extractor, provenance.confidence]
