"""Writing extracted facts into a :class:`~kg.GraphStore`.

Facts address nodes as ``(label, key)``; the store addresses them by the ontology's natural
key fields (``Value`` by attribute, value and unit; ``POI`` by name; ``Item`` by key). The
writer maps one to the other, remembering the key fields of every node it has written so
relations from later batches (catalog-level concepts, entries) resolve to the same nodes.

Re-extracting a record replaces what was asserted from that record and nothing else: its old
facts are deleted by source before the new ones are upserted (``replace``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from extraction.facts import ExtractedNode, ExtractedRelation, RecordFacts
from extraction.values import normalize_value
from foundation.errors import ExtractionError
from kg import GraphStore, NodeRef, NodeRow, RelationRow, WriteReport


class KGWriter:
    """Upserts :class:`RecordFacts` into ``store`` in batches."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._keys: dict[tuple[str, str], dict[str, str]] = {}

    def key_fields(self, node: ExtractedNode) -> dict[str, str]:
        """The natural key of ``node`` as the ontology defines it for its label."""
        fields = self.store.ontology.node(node.label).key_fields
        if fields == ("key",):
            found = {"key": node.key}
        else:
            found = {}
            for name in fields:
                value = node.properties.get(name)
                if value is None and name in ("name",):
                    value = node.key
                found[name] = "" if value is None else str(value)
        self._keys[(node.label, node.key)] = found
        return found

    def ref(self, label: str, key: str) -> NodeRef:
        """The store reference of a fact's ``(label, key)``."""
        fields = self._keys.get((label, key))
        if fields is None:
            fields = self._guess(label, key)
        return self.store.ref(label, **fields)

    def _guess(self, label: str, key: str) -> dict[str, str]:
        fields = self.store.ontology.node(label).key_fields
        if fields == ("key",):
            return {"key": key}
        if fields == ("name",):
            return {"name": key}
        if label == "Value" and "=" in key:
            attribute, _, value = key.partition("=")
            return {
                "attribute": attribute,
                "value": value,
                "unit": normalize_value(value, attribute).unit or "",
            }
        raise ExtractionError(
            f"relation names {label} {key!r}, a node that was never written; "
            "write the facts that create it first"
        )

    def node_row(self, node: ExtractedNode) -> NodeRow:
        declared = self.store.ontology.node(node.label).all_properties
        properties: dict[str, Any] = {
            name: value
            for name, value in node.properties.items()
            if value is not None and name in declared
        }
        properties.update(self.key_fields(node))
        return NodeRow(node.label, properties, node.provenance)

    def relation_row(self, relation: ExtractedRelation) -> RelationRow:
        declared = self.store.ontology.relation(relation.type).all_properties
        properties = {
            name: value
            for name, value in relation.properties.items()
            if value is not None and name in declared
        }
        return RelationRow(
            relation.type,
            self.ref(*relation.source),
            self.ref(*relation.target),
            properties,
            relation.provenance,
        )

    def write(
        self,
        batch: Sequence[RecordFacts],
        *,
        replace: Iterable[str] = (),
        new: Iterable[str] = (),
    ) -> WriteReport:
        """Delete the facts of the ``replace`` sources, then upsert ``batch`` in one write.
        ``new``: records known never to have been written (see ``GraphStore.upsert``); their
        relations, and the replaced records', are created without looking for stored copies."""
        sources = list(replace)
        if sources:  # one pass over the graph for the whole batch, not one per record
            self.store.delete_facts(sources=sources)
        usable = [facts for facts in batch if facts.error is None]
        nodes = [self.node_row(node) for facts in usable for node in facts.nodes]
        relations = [self.relation_row(rel) for facts in usable for rel in facts.relations]
        # after the delete, the replaced sources have nothing stored either
        fresh = {*new, *sources}
        return self.store.upsert(nodes=nodes, relations=relations, new_sources=fresh)
