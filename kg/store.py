"""``GraphStore``: the one seam between ShopKG and a graph database (Kùzu or Neo4j).

The public methods validate their input against the ontology, then call a small set of
backend primitives. Write semantics (MERGE on natural keys, provenance, atomic batches, merge
and delete reports) are shared in :mod:`kg.planning`, so every backend behaves the same and
passes one conformance suite (``tests/kg``). Constructors do no I/O: call :meth:`open` or use
the store as a context manager.
"""

from __future__ import annotations

import contextlib
import gc
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from foundation.errors import GraphStoreError, NotFoundError, SchemaError
from foundation.text import NAME_WORDS, tokens
from kg.ontology import SHOPKG_ONTOLOGY
from kg.planning import (
    ChangeSet,
    WriteTx,
    apply_changes,
    delete_facts,
    delete_node,
    merge_nodes,
)
from kg.records import (
    DeleteReport,
    ExtractorFilter,
    GraphPath,
    GraphStats,
    LookupHit,
    MergeReport,
    Neighbor,
    NodeRecord,
    NodeRef,
    NodeRow,
    RelationRecord,
    RelationRow,
    SchemaReport,
    WriteReport,
)
from kg.schema import KEY, SEARCH_TEXT, Ontology
from kg.validation import (
    EXTRACTOR,
    INDEX_TEXT_SCHEME,
    extractor_filter,
    index_text,
    search_text,
    validate_nodes,
    validate_relations,
)

if TYPE_CHECKING:
    import networkx as nx

Direction = Literal["out", "in", "both"]
T = TypeVar("T")
MAX_HOPS = 3


class GraphStore(ABC):
    """A knowledge graph store. Open it, then upsert, query, merge, delete and export."""

    backend: str = "abstract"

    def __init__(self, ontology: Ontology = SHOPKG_ONTOLOGY, *, batch_size: int = 512) -> None:
        if batch_size < 1:
            raise GraphStoreError(f"batch_size must be >= 1, got {batch_size}")
        self.ontology = ontology
        self.batch_size = batch_size
        self.schema_report: SchemaReport | None = None
        """What the last :meth:`ensure_schema` (run by :meth:`open`) did."""
        self._open = False

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> Self:
        """Connect and bring the schema up to date (idempotent). Returns the store."""
        if not self._open:
            self._connect()
            self._open = True
            try:
                self.ensure_schema()
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        if self._open:
            self._open = False
            self._disconnect()

    @property
    def is_open(self) -> bool:
        return self._open

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require_open(self) -> None:
        if not self._open:
            raise GraphStoreError(
                f"the {self.backend} graph store is not open; "
                "call .open() or use it in a with block"
            )

    # -- schema --------------------------------------------------------------------------
    def ensure_schema(self) -> SchemaReport:
        """Create or migrate tables, constraints and indexes to the ontology (additive only)."""
        self._require_open()
        self.schema_report = self._ensure_schema()
        return self.schema_report

    def _rederive_search_text(self, label: str) -> int:
        """Write ``label``'s ``search_text`` again as :func:`~kg.validation.search_text`
        derives it now (a schema migration: the index text scheme changed), one page per
        transaction so memory stays bounded. Returns how many nodes changed."""
        fields = self.ontology.node(label).search_fields
        changed = 0
        for page in self.iter_nodes(label, batch_size=max(self.batch_size, 5000)):
            rows = [
                {KEY: record.key, SEARCH_TEXT: text}
                for record in page
                if (text := search_text(record.properties, fields))
                != record.properties.get(SEARCH_TEXT)
            ]
            if rows:
                self._transact(lambda tx, rows=rows: tx.update_nodes(label, rows))  # type: ignore[misc]
                changed += len(rows)
        return changed

    def ref(self, label: str, **fields: str) -> NodeRef:
        """The reference of a node by its key fields, e.g. ``ref("Value", attribute=…, …)``."""
        return NodeRef(label, self.ontology.key_for(label, fields))

    # -- writes --------------------------------------------------------------------------
    def upsert(
        self,
        nodes: Iterable[NodeRow] = (),
        relations: Iterable[RelationRow] = (),
        *,
        new_sources: Iterable[str] = (),
    ) -> WriteReport:
        """MERGE a batch of nodes and relations in one transaction: all of it or none of it.

        Every row is validated before anything is written; a bad row raises a SchemaError
        naming it, a relation to a missing node a NotFoundError. Re-running a batch is a no-op.

        ``new_sources``: provenance sources the caller knows have no relation stored (records
        written for the first time, with a write-ahead mark that says otherwise after a crash).
        Their relations are created without reading back what their start nodes hold: a hub
        (a POI that SOLVES a problem for 10k records) would return every other record's copy.
        A wrong hint makes duplicates, so give it only when sure.
        """
        self._require_open()
        with gc_paused():
            node_rows, node_dups = validate_nodes(self.ontology, nodes)
            rel_rows, rel_dups = validate_relations(self.ontology, relations)
            dups = node_dups + rel_dups
            changes = ChangeSet(
                nodes=node_rows,
                relations=rel_rows,
                duplicates=dups,
                new_sources=frozenset(new_sources),
            )
            return self._transact(lambda tx: apply_changes(tx, self.ontology, changes))

    def upsert_nodes(self, rows: Iterable[NodeRow]) -> WriteReport:
        return self.upsert(nodes=rows)

    def upsert_relations(self, rows: Iterable[RelationRow]) -> WriteReport:
        return self.upsert(relations=rows)

    def merge_nodes(self, keep: NodeRef, duplicate: NodeRef) -> MergeReport:
        """Fold ``duplicate`` into ``keep``: its relations move over (provenance kept), gaps in
        ``keep``'s properties are filled, its name becomes an alias, then it is deleted."""
        self._require_open()
        self.ontology.node(keep.label)
        if keep.label != duplicate.label:
            raise SchemaError(f"cannot merge a {duplicate.label} into a {keep.label}")
        if keep == duplicate:
            raise GraphStoreError(f"cannot merge {keep} into itself")
        return self._transact(lambda tx: merge_nodes(tx, self.ontology, keep, duplicate))

    def delete_node(self, ref: NodeRef) -> DeleteReport:
        """Delete a node and its relations; the report keeps its last properties."""
        self._require_open()
        self.ontology.node(ref.label)
        return self._transact(lambda tx: delete_node(tx, self.ontology, ref))

    def delete_facts(
        self,
        *,
        extractor: str | None = None,
        source: str | None = None,
        sources: Iterable[str] | None = None,
    ) -> DeleteReport:
        """Delete what ``extractor`` (``name@version``) and/or ``source`` (or any of
        ``sources``: one pass for many records) asserted, so a re-run replaces its own facts
        and nothing else. Nodes go only when they are left unconnected."""
        self._require_open()
        chosen: list[str] | None = None
        if source is not None or sources is not None:
            chosen = ([source] if source is not None else []) + list(sources or ())
            if not chosen:
                return DeleteReport(nodes_deleted=(), relations_deleted={})
        if extractor is None and chosen is None:
            raise GraphStoreError("delete_facts needs an extractor, a source or both")
        if extractor is not None and not EXTRACTOR.match(extractor):
            raise GraphStoreError(f"extractor {extractor!r} must look like name@version")
        return self._delete_facts(extractor, chosen)

    def _delete_facts(self, extractor: str | None, sources: list[str] | None) -> DeleteReport:
        """:meth:`delete_facts` over checked arguments: one transaction, unless a backend
        bounds its memory by committing in batches (Neo4j does)."""
        return self._transact(lambda tx: delete_facts(tx, self.ontology, extractor, sources))

    # -- reads ---------------------------------------------------------------------------
    def get_node(self, ref: NodeRef) -> NodeRecord | None:
        self._require_open()
        self.ontology.node(ref.label)
        return self._get_nodes(ref.label, [ref.key]).get(ref.key)

    def _must_get(self, ref: NodeRef) -> NodeRecord:
        record = self.get_node(ref)
        if record is None:
            raise NotFoundError(f"node {ref} does not exist in the {self.backend} graph store")
        return record

    def relations_of(
        self, ref: NodeRef, *, extractor: str | ExtractorFilter | None = None
    ) -> list[RelationRecord]:
        """All relations touching a node, sorted by (type, start, end, extractor, source);
        with ``extractor`` (``name@version``, or ``name@`` for every version) only those it
        asserted. The filter is applied to the node's relations as read, which are all of
        them either way."""
        self._require_open()
        self.ontology.node(ref.label)
        chosen = extractor_filter(extractor)
        found = self._relations_of(ref)
        if chosen is not None:
            found = [r for r in found if chosen.matches(r.provenance.extractor)]
        return sorted(found, key=lambda r: r.identity)

    def neighborhood(
        self,
        ref: NodeRef,
        *,
        hops: int = 1,
        limit: int = 50,
        labels: Iterable[str] | None = None,
        relations: Iterable[str] | None = None,
        direction: Direction = "both",
        extractor: str | ExtractorFilter | None = None,
    ) -> list[Neighbor]:
        """Nodes within ``hops`` (1..3) of ``ref``, nearest first, then by (label, key).

        ``relations`` limits which relation types are followed, ``labels`` which nodes are
        returned (paths may pass through others), ``direction`` follows relations out of,
        into, or both ways from each node, ``extractor`` (``name@version``, or ``name@`` for
        every version) follows only the relations it asserted. The order is exact, so the
        cost grows with every node within reach: going "both" ways through a hub (a value 30k
        items share) is slow; "out" from an item (its facts and theirs) is the cheap, common
        case.
        """
        self._require_open()
        self._check_hops(hops)
        if limit < 1:
            raise GraphStoreError(f"limit must be >= 1, got {limit}")
        if direction not in ("out", "in", "both"):
            raise GraphStoreError(f"direction must be 'out', 'in' or 'both', not {direction!r}")
        chosen = extractor_filter(extractor)
        self._must_get(ref)
        return self._neighborhood(
            ref,
            hops,
            limit,
            self.ontology.check_labels(labels),
            self.ontology.check_relations(relations),
            direction,
            chosen,
        )

    def paths(
        self,
        start: NodeRef,
        end: NodeRef,
        *,
        max_hops: int = 3,
        relations: Iterable[str] | None = None,
        limit: int = 10,
    ) -> list[GraphPath]:
        """Simple paths (no repeated node) between two nodes, shortest first, relations
        followed either way; e.g. the reasons an item suits a problem."""
        self._require_open()
        self._check_hops(max_hops)
        self._must_get(start)
        self._must_get(end)
        found = self._paths(start, end, max_hops, self.ontology.check_relations(relations))
        found.sort(key=lambda p: (len(p), [(n.label, n.key) for n in p.nodes], _rel_sig(p)))
        return found[:limit]

    def lookup(
        self, text: str, *, labels: Iterable[str] | None = None, limit: int = 10
    ) -> list[LookupHit]:
        """Nodes whose name or an alias matches ``text`` through the full-text index; exact
        matches (the same words as the name or an alias) first, then by score, label and key.

        There is one index per label; their BM25 scores are merged as they are, so across
        labels they order only roughly. Pass ``labels`` for the usual entity-linking case.
        """
        self._require_open()
        if not isinstance(text, str):
            raise GraphStoreError("lookup text must be a string")
        checked = self.ontology.check_labels(labels)
        searchable = [n for n in self.ontology.node_types() if n.search_fields]
        if checked is not None:
            searchable = [n for n in searchable if n.label in checked]
        words = tokens(text, NAME_WORDS)
        if not words or limit < 1:
            return []
        wanted = words  # "water-resistant" matches the alias "Water resistant" exactly
        hits: list[LookupHit] = []
        for node_type in searchable:
            for record, score in self._search(node_type.label, index_text(words), limit):
                names = [record.properties.get(f) for f in ("name", "value")]
                names += list(record.properties.get("aliases") or [])
                exact = any(isinstance(n, str) and tokens(n, NAME_WORDS) == wanted for n in names)
                hits.append(LookupHit(record, score, exact))
        hits.sort(key=lambda h: (not h.exact, -h.score, h.node.label, h.node.key))
        return hits[:limit]

    def stats(self) -> GraphStats:
        self._require_open()
        return self._stats()

    def extractors(self) -> dict[str, int]:
        """How many relations each extractor (``name@version``) asserted, by extractor: what
        a filter of facts by extractor can offer. It reads every relation's provenance, so
        it costs about a scan of the relations (as :meth:`stats` does)."""
        self._require_open()
        counts: dict[str, int] = {}
        for extractor, count in self._extractor_counts():
            name = extractor or ""
            counts[name] = counts.get(name, 0) + int(count)
        return dict(sorted(counts.items()))

    def iter_nodes(
        self, label: str, *, batch_size: int | None = None
    ) -> Iterator[list[NodeRecord]]:
        """All nodes of a label in key order, ``batch_size`` at a time (keyset pagination, so
        writes between batches neither repeat nor skip untouched nodes)."""
        self._require_open()
        self.ontology.node(label)
        size = batch_size or self.batch_size
        after: str | None = None
        while True:
            page = self._page(label, after, size)
            if not page:
                return
            yield page
            if len(page) < size:
                return
            after = page[-1].key

    def export_networkx(
        self,
        *,
        nodes: Iterable[NodeRef] | None = None,
        labels: Iterable[str] | None = None,
        relations: Iterable[str] | None = None,
        extractor: str | ExtractorFilter | None = None,
    ) -> nx.MultiDiGraph[tuple[str, str]]:
        """A networkx MultiDiGraph of a subgraph: the given ``nodes`` (or all nodes of
        ``labels``, or everything) and the relations among them (only those ``extractor``
        asserted, when given). Node ids are ``(label, key)`` tuples with ``label`` and the
        properties as attributes. One edge per fact, keyed by the relation type: when several
        extractors or sources asserted it, the edge carries the most confident one's
        properties and all of them in ``provenance``."""
        import networkx as nx

        self._require_open()
        label_filter = self.ontology.check_labels(labels)
        rel_filter = self.ontology.check_relations(relations)
        chosen = extractor_filter(extractor)
        graph: nx.MultiDiGraph[tuple[str, str]] = nx.MultiDiGraph()
        records: list[NodeRecord] = []
        if nodes is not None:
            refs = list(nodes)
            for label in sorted({r.label for r in refs}):
                self.ontology.node(label)
                found = self._get_nodes(label, [r.key for r in refs if r.label == label])
                records.extend(found.values())
        else:
            for label in label_filter or self.ontology.labels:
                for page in self.iter_nodes(label, batch_size=max(self.batch_size, 5000)):
                    records.extend(page)
        for record in sorted(records, key=lambda r: (r.label, r.key)):
            graph.add_node((record.label, record.key), label=record.label, **record.properties)
        present = {(r.label, r.key) for r in records}
        for rel in sorted(self._relations_among(present, rel_filter), key=lambda r: r.identity):
            u, v = (rel.start.label, rel.start.key), (rel.end.label, rel.end.key)
            if u not in present or v not in present:
                continue
            prov = rel.provenance
            if chosen is not None and not chosen.matches(prov.extractor):
                continue
            asserted: dict[str, Any] = {"extractor": prov.extractor, "source": prov.source}
            asserted["confidence"] = prov.confidence
            if graph.has_edge(u, v, key=rel.type):
                edge = graph.edges[u, v, rel.type]
                edge["provenance"].append(asserted)
                if prov.confidence > (edge.get("confidence") or 0.0):
                    edge.update(rel.properties)
            else:
                attrs = dict(rel.properties)
                graph.add_edge(u, v, key=rel.type, type=rel.type, provenance=[asserted], **attrs)
        return graph

    @staticmethod
    def _check_hops(hops: int) -> None:
        if not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
            raise GraphStoreError(f"hops must be an integer from 1 to {MAX_HOPS}, got {hops!r}")

    # -- backend primitives --------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> None: ...

    @abstractmethod
    def _disconnect(self) -> None: ...

    @abstractmethod
    def _ensure_schema(self) -> SchemaReport: ...

    @abstractmethod
    def _transact(self, work: Callable[[WriteTx], T]) -> T:
        """Run ``work`` in one write transaction: commit when it returns, roll back when it
        raises. ``work`` may be retried on transient errors, so it must only touch ``tx``."""

    @abstractmethod
    def _get_nodes(self, label: str, keys: Sequence[str]) -> dict[str, NodeRecord]: ...

    @abstractmethod
    def _relations_of(self, ref: NodeRef) -> list[RelationRecord]: ...

    @abstractmethod
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
        """As :meth:`neighborhood`, over checked arguments; ``extractor``: follow only the
        relations it matches."""

    @abstractmethod
    def _paths(
        self, start: NodeRef, end: NodeRef, max_hops: int, relations: tuple[str, ...] | None
    ) -> list[GraphPath]: ...

    @abstractmethod
    def _search(self, label: str, query: str, limit: int) -> list[tuple[NodeRecord, float]]:
        """Full-text matches of already-tokenized ``query`` among ``label`` nodes."""

    @abstractmethod
    def _stats(self) -> GraphStats: ...

    @abstractmethod
    def _extractor_counts(self) -> Iterable[tuple[str | None, int]]:
        """(extractor, number of relations) pairs covering every relation; an extractor may
        come more than once (once per relation type, say)."""

    @abstractmethod
    def _page(self, label: str, after: str | None, size: int) -> list[NodeRecord]: ...

    @abstractmethod
    def _relations_among(
        self, nodes: set[tuple[str, str]], relations: tuple[str, ...] | None
    ) -> Iterable[RelationRecord]:
        """Relations whose two ends are both in ``nodes`` (a superset is fine)."""


def described_schema(ontology: Ontology) -> dict[str, object]:
    """What a store records of its schema: the ontology and how its index text is derived."""
    return {**ontology.describe(), "index_text_scheme": INDEX_TEXT_SCHEME}


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the duration (and back on after, if it was on).

    A batch of a million rows makes millions of small tuples and dicts that all live until
    the batch is written; every full collection would walk all of them again, which cost a
    third of the Python time of a large upsert. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rel_sig(path: GraphPath) -> list[tuple[str, str, str]]:
    return [(r.type, r.provenance.extractor, r.provenance.source) for r in path.relations]
