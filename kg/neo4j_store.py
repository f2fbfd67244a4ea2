"""``Neo4jStore``: the production graph store, Neo4j 5 over Bolt (``neo4j://`` / ``bolt://``).

Every write batch is one managed transaction (``session.execute_write``), which the driver
retries on transient errors (deadlocks, leader switches); the work function re-reads what it
needs, so a retry is safe. Bulk deletes commit in bounded batches instead. Schema: a
uniqueness constraint on ``key`` per label (which is also the MERGE/lookup index), range
indexes on provenance, and one full-text index per searchable label (whitespace analyzer:
ShopKG normalizes the words); opening a store reads ``SHOW INDEXES``/``SHOW CONSTRAINTS`` and
creates only what is missing, so an up-to-date graph opens without DDL or notifications.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

from foundation.errors import GraphStoreError, SchemaError, ShopKGError, require
from kg import neo4j_queries as q
from kg.ontology import SHOPKG_ONTOLOGY
from kg.planning import RelationGroup, WriteTx
from kg.records import (
    DeleteReport,
    ExtractorFilter,
    GraphPath,
    GraphStats,
    Neighbor,
    NodeRecord,
    NodeRef,
    RelationKey,
    RelationRecord,
    SchemaReport,
    relation_record,
)
from kg.schema import KEY, SEARCH_TEXT, Ontology
from kg.store import Direction, GraphStore, T, described_schema
from kg.validation import ValidRelation

Tx = Any  # neo4j.ManagedTransaction; the driver is imported lazily
PROVENANCE_INDEXED = ("extractor", "source")


class Neo4jWriteTx:
    """The write primitives, inside one managed Neo4j transaction."""

    def __init__(self, tx: Tx, ontology: Ontology) -> None:
        self._tx = tx
        self._ontology = ontology

    def _rows(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        return [dict(record) for record in self._tx.run(query, params)]

    def fetch_nodes(self, label: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = self._rows(q.fetch_nodes(label), keys=list(keys))
        return {r["props"][KEY]: _complete(self._ontology, label, r["props"]) for r in rows}

    def existing_keys(self, label: str, keys: Sequence[str]) -> set[str]:
        return {r["key"] for r in self._rows(q.existing_keys(label), keys=list(keys))}

    def create_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._tx.run(q.create_nodes(label), {"rows": [dict(r) for r in rows]}).consume()

    def update_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        params = [{"key": r[KEY], "props": {k: v for k, v in r.items() if k != KEY}} for r in rows]
        if params:
            self._tx.run(q.update_nodes(label), {"rows": params}).consume()

    def delete_nodes(self, label: str, keys: Sequence[str]) -> None:
        if keys:
            self._tx.run(q.delete_nodes(label), {"keys": list(keys)}).consume()

    def node_keys_where(
        self, label: str, extractor: str | None, sources: Sequence[str] | None
    ) -> list[str]:
        query = q.node_keys_where(label, extractor is not None, sources is not None)
        return [r["key"] for r in self._rows(query, **_provenance(extractor, sources))]

    def orphan_keys(self, label: str, keys: Sequence[str]) -> list[str]:
        return [r["key"] for r in self._rows(q.orphan_keys(label), keys=list(keys))]

    def fetch_relations(
        self, group: RelationGroup, start_keys: Sequence[str]
    ) -> dict[RelationKey, dict[str, Any]]:
        rel_type, start, end = group
        result: dict[RelationKey, dict[str, Any]] = {}
        keys = list(dict.fromkeys(start_keys))
        for r in self._rows(q.fetch_relations(rel_type, start, end), keys=keys):
            props = r["props"]
            key = RelationKey(
                rel_type,
                NodeRef(start, r["start"]),
                NodeRef(end, r["end"]),
                props.get("extractor") or "",
                props.get("source") or "",
            )
            result[key] = props
        return result

    def create_relations(self, group: RelationGroup, rows: Sequence[ValidRelation]) -> None:
        rel_type, start, end = group
        params = [{"start": r.start.key, "end": r.end.key, "props": dict(r.values)} for r in rows]
        if params:
            self._tx.run(q.create_relations(rel_type, start, end), {"rows": params}).consume()

    def update_relations(self, group: RelationGroup, rows: Sequence[ValidRelation]) -> None:
        rel_type, start, end = group
        params = [_identity_row(r.identity) | {"props": dict(r.values)} for r in rows]
        if params:
            self._tx.run(q.update_relations(rel_type, start, end), {"rows": params}).consume()

    def delete_relations(self, group: RelationGroup, keys: Sequence[RelationKey]) -> None:
        rel_type, start, end = group
        params = [_identity_row(k) for k in keys]
        if params:
            self._tx.run(q.delete_relations(rel_type, start, end), {"rows": params}).consume()

    def delete_relations_where(
        self, rel_type: str, extractor: str | None, sources: Sequence[str] | None
    ) -> int:
        query = q.delete_relations_where(rel_type, extractor is not None, sources is not None)
        return int(self._rows(query, **_provenance(extractor, sources))[0]["n"])

    def relations_of(self, ref: NodeRef) -> list[RelationRecord]:
        return relations_of(self._rows, self._ontology, ref)


Rows = Callable[..., list[dict[str, Any]]]


def label_of(ontology: Ontology, labels: Sequence[str]) -> str:
    """The ontology label among a Neo4j node's labels."""
    known = [label for label in labels if label in ontology.labels]
    if not known:
        raise GraphStoreError(f"a node with labels {list(labels)} is not in the ontology")
    return known[0]


def relations_of(rows: Rows, ontology: Ontology, ref: NodeRef) -> list[RelationRecord]:
    """Every relation touching ``ref``, in its stored direction."""
    found: list[RelationRecord] = []
    for outgoing in (True, False):
        for r in rows(q.relations_of(ref.label, outgoing), key=ref.key):
            other = NodeRef(label_of(ontology, r["labels"]), r["key"])
            start, end = (ref, other) if outgoing else (other, ref)
            found.append(relation_record(ontology, r["type"], start, end, r["props"]))
    return found


def _identity_row(key: RelationKey) -> dict[str, Any]:
    return {
        "start": key.start.key,
        "end": key.end.key,
        "extractor": key.extractor,
        "source": key.source,
    }


def _provenance(extractor: str | None, sources: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if extractor is not None:
        params["extractor"] = extractor
    if sources is not None:
        params["sources"] = list(sources)
    return params


def _complete(ontology: Ontology, label: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """Neo4j omits unset properties; records carry every ontology property (lists as [])."""
    return {
        name: (props.get(name) or []) if prop.type.is_list else props.get(name)
        for name, prop in ontology.node(label).all_properties.items()
    }


@dataclass(frozen=True)
class ExistingSchema:
    """What ``SHOW INDEXES`` and ``SHOW CONSTRAINTS`` listed: names, and the analyzer of
    each full-text index."""

    names: frozenset[str]
    fulltext_analyzers: Mapping[str, str]


@dataclass(frozen=True)
class SchemaPlan:
    create: tuple[LiteralString, ...]
    """The statements of what is missing, in order (``IF NOT EXISTS`` all the same)."""
    reindex: tuple[str, ...]
    """Labels whose full-text index has another analyzer: drop it, re-derive, re-create."""


def plan_schema(ontology: Ontology, existing: ExistingSchema) -> SchemaPlan:
    """Only what is missing, so an open of an up-to-date graph runs no DDL (each ``CREATE …
    IF NOT EXISTS`` of an existing index makes the server send a notification)."""
    wanted: list[tuple[str, LiteralString]] = []
    reindex: list[str] = []
    for node in ontology.node_types():
        label = node.label
        wanted.append((q.key_constraint_name(label), q.key_constraint(label)))
        wanted.extend(
            (q.property_index_name(label, p), q.node_property_index(label, p))
            for p in PROVENANCE_INDEXED
        )
        if node.search_fields:
            name = q.fulltext_index_name(label)
            analyzer = existing.fulltext_analyzers.get(name)
            if name in existing.names and analyzer != q.FULLTEXT_ANALYZER:
                reindex.append(label)
            wanted.append((name, q.fulltext_index(label, SEARCH_TEXT)))
    for rel in ontology.relations():
        wanted.extend(
            (q.property_index_name(rel.type, p), q.relation_property_index(rel.type, p))
            for p in PROVENANCE_INDEXED
        )
    dropped = {q.fulltext_index_name(label) for label in reindex}
    create = tuple(s for name, s in wanted if name not in existing.names or name in dropped)
    return SchemaPlan(create, tuple(reindex))


class Neo4jStore(GraphStore):
    """A graph store in a Neo4j 5 database, reached through the official driver."""

    backend = "neo4j"

    def __init__(
        self,
        uri: str,
        *,
        user: str = "neo4j",
        password: str = "",
        database: str | None = None,
        ontology: Ontology = SHOPKG_ONTOLOGY,
        batch_size: int = 512,
        bulk_rows: int = q.BULK_ROWS,
    ) -> None:
        super().__init__(ontology, batch_size=batch_size)
        if bulk_rows < 1:
            raise GraphStoreError(f"bulk_rows must be >= 1, got {bulk_rows}")
        self.bulk_rows = bulk_rows
        """Rows per inner transaction of bulk deletes (:meth:`clear`, :meth:`delete_facts`)."""
        self.uri = uri
        self.database = database
        self._auth = (user, password)
        self._driver: Any = None

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r}, user={self._auth[0]!r}, database={self.database!r})"

    def _connect(self) -> None:
        neo4j: Any = require("neo4j")
        try:
            # INFO notifications ("index already exists", ...) are neither sent nor logged
            self._driver = neo4j.GraphDatabase.driver(
                self.uri, auth=self._auth, notifications_min_severity="WARNING"
            )
            quiet = logging.getLogger("neo4j.notifications")
            if quiet.level == logging.NOTSET:
                quiet.setLevel(logging.WARNING)
            self._driver.verify_connectivity()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, ValueError) as e:
            if self._driver is not None:
                self._driver.close()
            raise GraphStoreError(
                f"cannot connect to Neo4j at {self.uri} as {self._auth[0]!r}: {e}; check "
                "SHOPKG_GRAPH, SHOPKG_NEO4J_USER and SHOPKG_NEO4J_PASSWORD"
            ) from e

    def _disconnect(self) -> None:
        self._driver.close()
        self._driver = None

    def _session(self) -> Any:
        return self._driver.session(database=self.database)

    def _guard(self, action: Callable[[], T]) -> T:
        from neo4j.exceptions import DriverError, Neo4jError

        try:
            return action()
        except ShopKGError:
            raise
        except (Neo4jError, DriverError) as e:
            raise GraphStoreError(f"Neo4j at {self.uri} failed: {e}") from e

    def _transact(self, work: Callable[[WriteTx], T]) -> T:
        self._require_open()

        def run() -> T:
            with self._session() as session:
                result: T = session.execute_write(lambda tx: work(Neo4jWriteTx(tx, self.ontology)))
                return result

        return self._guard(run)

    def _read(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        self._require_open()

        def run() -> list[dict[str, Any]]:
            with self._session() as session:
                rows: list[dict[str, Any]] = session.execute_read(
                    lambda tx: [dict(r) for r in tx.run(query, params)]
                )
                return rows

        return self._guard(run)

    def _write(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        """One statement in its own managed write transaction (retried on transient errors)."""
        self._require_open()

        def run() -> list[dict[str, Any]]:
            with self._session() as session:
                rows: list[dict[str, Any]] = session.execute_write(
                    lambda tx: [dict(r) for r in tx.run(query, params)]
                )
                return rows

        return self._guard(run)

    def _auto_commit(self, query: LiteralString, **params: Any) -> None:
        def run() -> None:
            with self._session() as session:
                session.run(query, params).consume()

        self._guard(run)

    def clear(self) -> None:
        """Delete every node and relation (full rebuilds); the schema and its version marker
        stay. Relations go first, then nodes, both in bounded batches, so memory does not
        grow with the graph; it is not atomic (a failure leaves part of the graph)."""
        self._require_open()
        self._auto_commit(q.clear_relations(self.bulk_rows))
        self._auto_commit(q.clear_nodes(keep_meta=True, rows=self.bulk_rows))

    def reset(self) -> None:
        """Delete everything, the schema version marker included, without opening the store
        (so without its schema check): what a test or a reload of an older or newer ShopKG's
        graph starts from. Constraints and indexes stay (re-opening reuses them)."""
        was_open = self._open
        if not was_open:
            self._connect()
        try:
            self._auto_commit(q.clear_relations(self.bulk_rows))
            self._auto_commit(q.clear_nodes(keep_meta=False, rows=self.bulk_rows))
        finally:
            if not was_open:
                self._disconnect()

    def _delete_facts(self, extractor: str | None, sources: list[str] | None) -> DeleteReport:
        """Relations first, each type in inner transactions of :attr:`bulk_rows`; then the
        nodes left without relations, :attr:`bulk_rows` keys per transaction. Memory stays
        bounded at any size; the price is atomicity: a failure midway leaves the rest, and a
        re-run deletes it (the delete is idempotent)."""
        has_extractor, has_sources = extractor is not None, sources is not None
        params = _provenance(extractor, sources)
        counts: dict[str, int] = {}
        for rel_type in self.ontology.relation_types:
            counted = self._read(
                q.count_relations_where(rel_type, has_extractor, has_sources), **params
            )
            n = int(counted[0]["n"]) if counted else 0
            if n:
                query = q.delete_relations_where_batched(
                    rel_type, has_extractor, has_sources, self.bulk_rows
                )
                self._auto_commit(query, **params)
                counts[rel_type] = n
        deleted: list[NodeRef] = []
        for label in self.ontology.labels:
            query = q.node_keys_where(label, has_extractor, has_sources)
            candidates = [r["key"] for r in self._read(query, **params)]
            gone: list[str] = []
            for start in range(0, len(candidates), self.bulk_rows):
                chunk = candidates[start : start + self.bulk_rows]
                rows = self._write(q.delete_orphans(label), keys=chunk)
                gone.extend(r["key"] for r in rows)
            deleted.extend(NodeRef(label, k) for k in sorted(gone))
        return DeleteReport(nodes_deleted=tuple(deleted), relations_deleted=counts)

    # -- schema --------------------------------------------------------------------------
    def _ensure_schema(self) -> SchemaReport:
        existing = self._existing_schema()
        if q.key_constraint_name(q.META_LABEL) not in existing.names:
            self._auto_commit(q.META_CONSTRAINT)
        rows = self._read(q.READ_SCHEMA_VERSION)
        before = int(rows[0]["version"]) if rows and rows[0]["version"] is not None else None
        if before is not None and before > self.ontology.version:
            raise SchemaError(
                f"the Neo4j graph at {self.uri} has schema version {before}, newer than this "
                f"ShopKG's ontology (version {self.ontology.version}); upgrade ShopKG"
            )
        plan = plan_schema(self.ontology, existing)
        for label in plan.reindex:  # indexed by an older scheme: re-derive, then re-index
            self._auto_commit(q.drop_index(q.fulltext_index_name(label)))
            self._rederive_search_text(label)
        for statement in plan.create:
            self._auto_commit(statement)
        if plan.create:
            self._auto_commit(q.AWAIT_INDEXES)
        if before != self.ontology.version:
            described = json.dumps(described_schema(self.ontology), sort_keys=True)
            self._transact_raw(
                q.WRITE_SCHEMA_VERSION, version=self.ontology.version, ontology=described
            )
        return SchemaReport(self.backend, before, self.ontology.version, plan.create)

    def _existing_schema(self) -> ExistingSchema:
        indexes = self._read(q.SHOW_INDEXES)
        constraints = self._read(q.SHOW_CONSTRAINTS)
        analyzers = {
            str(r["name"]): str(
                ((r.get("options") or {}).get("indexConfig") or {}).get("fulltext.analyzer", "")
            )
            for r in indexes
            if r.get("type") == "FULLTEXT"
        }
        names = frozenset(str(r["name"]) for r in [*indexes, *constraints])
        return ExistingSchema(names, analyzers)

    def _transact_raw(self, query: LiteralString, **params: Any) -> None:
        def run() -> None:
            with self._session() as session:
                session.execute_write(lambda tx: tx.run(query, params).consume())

        self._guard(run)

    # -- reads ---------------------------------------------------------------------------
    def _record(self, label: str, props: Mapping[str, Any]) -> NodeRecord:
        values = _complete(self.ontology, label, props)
        return NodeRecord(label, str(values[KEY]), values)

    def _label_of(self, labels: Sequence[str]) -> str:
        return label_of(self.ontology, labels)

    def _rel(
        self, rel_type: str, start: NodeRef, end: NodeRef, props: Mapping[str, Any]
    ) -> RelationRecord:
        return relation_record(self.ontology, rel_type, start, end, props)

    def _get_nodes(self, label: str, keys: Sequence[str]) -> dict[str, NodeRecord]:
        rows = self._read(q.fetch_nodes(label), keys=list(keys))
        records = [self._record(label, r["props"]) for r in rows]
        return {r.key: r for r in records}

    def _relations_of(self, ref: NodeRef) -> list[RelationRecord]:
        return relations_of(self._read, self.ontology, ref)

    def _neighborhood(
        self,
        ref: NodeRef,
        hops: int,
        limit: int,
        labels: tuple[str, ...] | None,
        relations: tuple[str, ...] | None,
        direction: Direction,
        extractor: ExtractorFilter | None,
    ) -> list[Neighbor]:
        match = None if extractor is None else "prefix" if extractor.every_version else "exact"
        query = q.neighborhood(ref.label, hops, relations, labels is not None, direction, match)
        params: dict[str, Any] = {"key": ref.key, "limit": limit}
        if labels is not None:
            params["labels"] = list(labels)
        if extractor is not None:
            params["extractor"] = extractor.text
        rows = self._read(query, **params)
        return [Neighbor(self._record(r["label"], r["props"]), int(r["d"])) for r in rows]

    def _paths(
        self, start: NodeRef, end: NodeRef, max_hops: int, relations: tuple[str, ...] | None
    ) -> list[GraphPath]:
        found: list[GraphPath] = []
        for length in range(1, max_hops + 1):
            query = q.paths(start.label, end.label, length, relations)
            for row in self._read(query, from_key=start.key, to_key=end.key):
                nodes = tuple(
                    self._record(self._label_of(n["labels"]), n["props"]) for n in row["nodes"]
                )
                rels = tuple(
                    self._rel(
                        r["type"],
                        NodeRef(self._label_of(r["start"]), r["start_key"]),
                        NodeRef(self._label_of(r["end"]), r["end_key"]),
                        r["props"],
                    )
                    for r in row["rels"]
                )
                found.append(GraphPath(nodes, rels))
        return found

    def _search(self, label: str, query: str, limit: int) -> list[tuple[NodeRecord, float]]:
        index = q.fulltext_index_name(label)
        rows = self._read(q.SEARCH, index=index, text=query, top=max(limit * 3, 10))
        return [(self._record(label, r["props"]), float(r["score"])) for r in rows]

    def _stats(self) -> GraphStats:
        nodes = {
            label: int(self._read(q.count_nodes(label))[0]["n"]) for label in self.ontology.labels
        }
        rels = {
            t: int(self._read(q.count_relations(t))[0]["n"]) for t in self.ontology.relation_types
        }
        version = self._read(q.READ_SCHEMA_VERSION)
        indexes = tuple(r["name"] for r in self._read(q.SHOW_FULLTEXT_INDEXES))
        return GraphStats(
            self.backend, int(version[0]["version"]) if version else 0, nodes, rels, indexes
        )

    def _extractor_counts(self) -> Iterable[tuple[str | None, int]]:
        for rel_type in self.ontology.relation_types:
            for row in self._read(q.count_relations_by_extractor(rel_type)):
                yield row["extractor"], int(row["n"])

    def _page(self, label: str, after: str | None, size: int) -> list[NodeRecord]:
        params: dict[str, Any] = {"size": size}
        if after is not None:
            params["after"] = after
        return [
            self._record(label, r["props"])
            for r in self._read(q.page(label, after is None), **params)
        ]

    def _relations_among(
        self, nodes: set[tuple[str, str]], relations: tuple[str, ...] | None
    ) -> Iterable[RelationRecord]:
        by_label: dict[str, list[str]] = defaultdict(list)
        for label, key in nodes:
            by_label[label].append(key)
        for rel in self.ontology.relations():
            if relations is not None and rel.type not in relations:
                continue
            for start, end in rel.endpoints:
                if start in by_label and end in by_label:
                    keys = by_label[start]
                    by_keys = len(keys) <= 10_000
                    query = q.relations_among(rel.type, start, end, by_keys)
                    for r in self._read(query, **({"keys": keys} if by_keys else {})):
                        yield self._rel(
                            rel.type, NodeRef(start, r["start"]), NodeRef(end, r["end"]), r["props"]
                        )
