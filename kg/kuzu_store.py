"""``KuzuStore``: the embedded, on-disk default graph store (``kuzu:///path/to/dir``).

One ``kuzu.Database`` per store. Writes go through one connection under a lock, each batch in
an explicit transaction (Kùzu allows one writer at a time); readers get a connection per thread
and see the last committed state while a write runs. The schema (node and relation tables,
full-text indexes) is generated from the ontology and migrated additively on open.

Full text: Kùzu 0.11's FTS extension is built into the wheel and works offline (no INSTALL or
LOAD needed) and is kept up to date by CREATE, SET, DELETE and COPY, transactionally. It only
indexes STRING properties, so the store indexes a derived ``search_text`` (the word tokens of
name and aliases). Its stop-word list is MySQL's, which drops product words ("best", "four",
"new"); a custom list crashes Kùzu 0.11.3 on insert, so indexed words carry a prefix instead
(see ``kg.validation.TOKEN_PREFIX``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from foundation.errors import GraphBusyError, GraphStoreError, SchemaError, require
from kg import kuzu_queries as q
from kg.kuzu_conn import KuzuSession, ReadWriteGate
from kg.kuzu_write import KuzuWriteTx, fetch_by_keys, relations_of
from kg.node_cache import NodeCache
from kg.ontology import SHOPKG_ONTOLOGY
from kg.planning import WriteTx, node_record
from kg.records import (
    ExtractorFilter,
    GraphPath,
    GraphStats,
    Neighbor,
    NodeRecord,
    NodeRef,
    RelationRecord,
    SchemaReport,
    relation_record,
)
from kg.schema import Ontology
from kg.store import Direction, GraphStore, T, described_schema
from kg.validation import INDEX_TEXT_SCHEME

log = logging.getLogger(__name__)
DB_FILE = "shopkg.kuzu"
CHECKPOINT_WAL_BYTES = 256 << 20


class KuzuStore(GraphStore):
    """A graph store in a Kùzu database kept in the directory ``path``."""

    backend = "kuzu"

    def __init__(
        self,
        path: str | Path,
        ontology: Ontology = SHOPKG_ONTOLOGY,
        *,
        batch_size: int = 512,
        buffer_pool_bytes: int = 0,
        read_only: bool = False,
    ) -> None:
        super().__init__(ontology, batch_size=batch_size)
        self.path = Path(path)
        self.buffer_pool_bytes = buffer_pool_bytes
        self.read_only = read_only
        self._db: Any = None
        self._writer: Any = None
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._gate = ReadWriteGate()
        self._sessions: list[KuzuSession] = []
        self._sessions_lock = threading.Lock()
        self._cache = NodeCache()

    def __repr__(self) -> str:
        return f"KuzuStore({str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> None:
        kuzu: Any = require("kuzu")
        if self.path.exists() and not self.path.is_dir():
            raise GraphStoreError(f"kuzu graph path {self.path} exists and is not a directory")
        if self.read_only and not (self.path / DB_FILE).is_file():
            raise GraphStoreError(f"there is no Kùzu database in {self.path} to read")
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._db = kuzu.Database(
                str(self.path / DB_FILE),
                buffer_pool_size=self.buffer_pool_bytes,
                auto_checkpoint=False,
                read_only=self.read_only,
            )
            self._writer = KuzuSession(kuzu.Connection(self._db))
        except RuntimeError as e:
            holder = lock_holder(self.path / DB_FILE) if "lock" in str(e).lower() else None
            if holder is not None:
                raise GraphBusyError(
                    f"the Kùzu graph in {self.path} is locked by {holder}; Kùzu lets one "
                    "process write it at a time: wait for that process or stop it"
                ) from e
            first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise GraphStoreError(
                f"cannot open the Kùzu database in {self.path}: {first_line} "
                "(is another process using it?)"
            ) from e

    def _disconnect(self) -> None:
        if not self.read_only:
            with contextlib.suppress(GraphStoreError), self._gate.exclusive():
                self._writer.run(q.CHECKPOINT)
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._writer.close()
        self._db.close()
        self._db = self._writer = None
        self._local = threading.local()
        self._cache.invalidate()

    def _reader(self) -> KuzuSession:
        session: KuzuSession | None = getattr(self._local, "session", None)
        if session is None:
            import kuzu

            connection = kuzu.Connection(self._db)
            # Kùzu 0.11's parallel recursive joins (SHORTEST) sometimes drop a node at the
            # second hop (~5% of runs on a tiny graph); one thread per read is exact, and
            # concurrent requests still read in parallel, one connection per thread
            connection.set_max_threads_for_exec(1)
            session = KuzuSession(connection)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _read(
        self, query: str, params: Mapping[str, Any] | None = None, *, cached: bool = True
    ) -> list[list[Any]]:
        self._require_open()
        with self._gate.shared():
            return self._reader().run(query, params, cached=cached)

    def _transact(self, work: Callable[[WriteTx], T]) -> T:
        self._require_open()
        with self._write_lock:
            writer = self._writer
            writer.run("BEGIN TRANSACTION")
            tx = KuzuWriteTx(writer.run, self.ontology)
            try:
                result = work(tx)
            except BaseException:
                # Kùzu already dropped the transaction when one of its statements failed
                with contextlib.suppress(GraphStoreError):
                    writer.run("ROLLBACK")
                raise
            try:
                if tx.copied:  # this commit checkpoints: let running reads finish, hold new ones
                    with self._gate.exclusive():
                        writer.run("COMMIT")
                else:
                    writer.run("COMMIT")
            finally:
                self._cache.invalidate()
            self._maybe_checkpoint()
            return result

    def _maybe_checkpoint(self) -> None:
        wal = self.path / f"{DB_FILE}.wal"
        if wal.exists() and wal.stat().st_size > CHECKPOINT_WAL_BYTES:
            try:
                with self._gate.exclusive():
                    self._writer.run(q.CHECKPOINT)
            except GraphStoreError as e:
                log.warning("Kùzu checkpoint failed, retried after a later write: %s", e)

    def copy_to(self, directory: Path) -> Path:
        """Checkpoint and copy the database file into ``directory`` (a consistent copy that
        another process can open read-only while this one keeps writing here)."""
        self._require_open()
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / DB_FILE
        with self._write_lock, self._gate.exclusive():
            if not self.read_only:
                self._writer.run(q.CHECKPOINT)
            tmp = target.with_suffix(".partial")
            # copied by a child process: Kùzu's lock is a POSIX record lock, which this
            # process would drop on closing any descriptor of the file, its copy's included
            copy = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"
            done = subprocess.run(
                [sys.executable, "-c", copy, str(self.path / DB_FILE), str(tmp)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise GraphStoreError(f"copying {self.path} failed: {done.stderr.strip()[-300:]}")
            tmp.replace(target)
        return target

    # -- schema --------------------------------------------------------------------------
    def _ensure_schema(self) -> SchemaReport:
        if self.read_only:
            return self._check_schema()
        rederive: list[str] = []  # labels whose search text an older index scheme wrote
        with self._write_lock, self._gate.exclusive():
            try:
                report = self._migrate(rederive)
            finally:
                self._cache.invalidate()
        # after the gate opens again: re-deriving reads and writes through it (the new index
        # is already there and follows the updates); the schema is marked migrated after it
        for label in rederive:
            self._rederive_search_text(label)
        if rederive:
            described = json.dumps(described_schema(self.ontology), sort_keys=True)
            version = {"version": self.ontology.version, "ontology": described}
            with self._write_lock, self._gate.exclusive():
                self._writer_run(q.WRITE_SCHEMA_VERSION, version)
        if report.applied:
            with self._sessions_lock:
                for session in [self._writer, *self._sessions]:
                    session.forget_statements()
        return report

    def _check_schema(self) -> SchemaReport:
        """A read-only store cannot migrate: it only refuses a graph of another schema."""
        rows = self._writer_run(q.READ_SCHEMA_VERSION)
        version = int(rows[0][0]) if rows and rows[0][0] is not None else None
        if version != self.ontology.version:
            raise SchemaError(
                f"the graph in {self.path} has schema version {version}, not this ShopKG's "
                f"{self.ontology.version}; rebuild it with `shopkg build`"
            )
        return SchemaReport(self.backend, version, version, ())

    def _migrate(self, rederive: list[str]) -> SchemaReport:
        """Bring the tables and indexes to the ontology; the labels whose search text must
        be re-derived are added to ``rederive`` (the caller does it outside the gate)."""
        run = self._writer_run
        run(q.CREATE_META_TABLE)
        rows = run(q.READ_SCHEMA_VERSION)
        before = int(rows[0][0]) if rows and rows[0][0] is not None else None
        stored = rows[0][1] if rows else None
        if before is not None and before > self.ontology.version:
            raise SchemaError(
                f"the graph in {self.path} has schema version {before}, newer than this "
                f"ShopKG's ontology (version {self.ontology.version}); upgrade ShopKG"
            )
        described = json.dumps(described_schema(self.ontology), sort_keys=True)
        if before == self.ontology.version and stored == described:
            return SchemaReport(self.backend, before, before, ())  # migrated by this ontology
        tables = {str(row[0]): str(row[1]) for row in run(q.SHOW_TABLES)}
        applied: list[str] = []

        def apply(statement: str) -> None:
            run(statement)
            applied.append(statement)

        for node in self.ontology.node_types():
            if node.label not in tables:
                apply(q.create_node_table(node))
                continue
            if tables[node.label] != "NODE":
                raise SchemaError(f"table {node.label} in {self.path} is not a node table")
            self._add_missing_columns(node.label, node.all_properties, apply)
        for rel in self.ontology.relations():
            if rel.type not in tables:
                apply(q.create_rel_table(rel))
                continue
            pairs = {(row[0], row[1]) for row in run(q.show_connection(rel.type))}
            for start, end in rel.endpoints:
                if (start, end) not in pairs:
                    apply(q.add_rel_pair(rel.type, start, end))
            self._add_missing_columns(rel.type, rel.all_properties, apply)
        indexes = {str(row[1]): str(row[2]) for row in run(q.SHOW_INDEXES)}
        old_scheme = _stored_index_scheme(stored) != INDEX_TEXT_SCHEME and before is not None
        for node in self.ontology.node_types():
            if not node.search_fields:
                continue
            definition = indexes.get(q.fts_index_name(node.label))
            stale = definition is not None and q.FTS_OPTIONS not in definition
            if stale or (old_scheme and definition is None):
                # indexed by an older scheme (Kùzu's stemmer): re-derive, then re-index. Kùzu
                # 0.11 does not always list an existing index (an Item index built by an
                # older ShopKG was missing from show_indexes), so drop it whatever it says
                self._drop_fts_index(node.label, applied)
                rederive.append(node.label)
                definition = None
            if definition is None:
                apply(q.create_fts_index(node.label))
        # with search texts to re-derive, the caller marks the schema migrated after them (a
        # crash before that: the next open does it again)
        changed = applied or before != self.ontology.version or stored != described
        if changed and not rederive:
            run(q.WRITE_SCHEMA_VERSION, {"version": self.ontology.version, "ontology": described})
        return SchemaReport(self.backend, before, self.ontology.version, tuple(applied))

    def _drop_fts_index(self, label: str, applied: list[str]) -> None:
        """Drop ``label``'s full-text index; one that is not there is nothing to drop."""
        statement = q.drop_fts_index(label)
        try:
            self._writer_run(statement)
        except GraphStoreError as e:
            message = str(e).lower()
            if "exist" not in message and "doesn't have an index" not in message:
                raise
            return
        applied.append(statement)

    def _add_missing_columns(self, table: str, props: Mapping[str, Any], apply: Any) -> None:
        existing = {row[0]: row[1] for row in self._writer_run(q.table_info(table))}
        for name, prop in props.items():
            if name not in existing:
                apply(q.add_column(table, prop))
            elif existing[name] != prop.type.value:
                raise SchemaError(
                    f"{table}.{name} is {existing[name]} in {self.path} but the ontology says "
                    f"{prop.type.value}; a type change needs a data migration, not ALTER"
                )

    def _writer_run(self, query: str, params: Mapping[str, Any] | None = None) -> list[list[Any]]:
        rows: list[list[Any]] = self._writer.run(query, params)
        return rows

    # -- reads ---------------------------------------------------------------------------
    def _to_record(self, label: str, raw: Mapping[str, Any]) -> NodeRecord:
        return node_record(self.ontology, label, raw)

    def _get_nodes(self, label: str, keys: Sequence[str]) -> dict[str, NodeRecord]:
        self._require_open()
        generation = self._cache.generation  # before the read: see NodeCache.put
        found = self._cache.get(label, keys)
        missing = [key for key in keys if key not in found]
        if missing:
            columns = list(self.ontology.node(label).all_properties)
            rows = fetch_by_keys(self._read, label, columns, missing)  # through the gate
            fetched = {key: self._to_record(label, values) for key, values in rows.items()}
            self._cache.put(generation, fetched.values())
            found.update(fetched)
        return found

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
        # (label, key, distance) only: reading whole nodes in the query costs more than the
        # search itself, and the properties of the few nodes returned are mostly cached;
        # an extractor filter is planned per call (see KuzuSession.run)
        rows = self._read(query, params, cached=extractor is None)
        keys: dict[str, list[str]] = {}
        for label, key, _ in rows:
            keys.setdefault(label, []).append(key)
        records = {label: self._get_nodes(label, group) for label, group in keys.items()}
        return [
            Neighbor(records[label][key], int(d))
            for label, key, d in rows
            if key in records[label]  # a node deleted since the search began is left out
        ]

    def _paths(
        self, start: NodeRef, end: NodeRef, max_hops: int, relations: tuple[str, ...] | None
    ) -> list[GraphPath]:
        found: list[GraphPath] = []
        for length in range(1, max_hops + 1):
            query = q.paths(start.label, end.label, length, relations)
            for nodes, rels in self._read(query, {"from_key": start.key, "to_key": end.key}):
                found.append(self._path(nodes, rels))
        return found

    def _path(self, nodes: list[dict[str, Any]], rels: list[dict[str, Any]]) -> GraphPath:
        by_id = {_internal_id(n["_id"]): NodeRef(n["_label"], n["key"]) for n in nodes}
        records = tuple(self._to_record(n["_label"], n) for n in nodes)
        relations = tuple(
            relation_record(
                self.ontology,
                r["_label"],
                by_id[_internal_id(r["_src"])],
                by_id[_internal_id(r["_dst"])],
                r,
            )
            for r in rels
        )
        return GraphPath(records, relations)

    def _search(self, label: str, query: str, limit: int) -> list[tuple[NodeRecord, float]]:
        rows = self._read(q.search(label), {"query": query, "top": max(limit * 3, 10)})
        return [(self._to_record(label, node), float(score)) for node, score in rows]

    def _stats(self) -> GraphStats:
        nodes = {
            label: int(self._read(q.count_nodes(label))[0][0]) for label in self.ontology.labels
        }
        rels = {
            t: int(self._read(q.count_relations(t))[0][0]) for t in self.ontology.relation_types
        }
        version = self._read(q.READ_SCHEMA_VERSION)
        indexes = tuple(sorted(row[1] for row in self._read(q.SHOW_INDEXES)))
        return GraphStats(self.backend, int(version[0][0]) if version else 0, nodes, rels, indexes)

    def _extractor_counts(self) -> Iterable[tuple[str | None, int]]:
        for rel_type in self.ontology.relation_types:
            for extractor, count in self._read(q.count_relations_by_extractor(rel_type)):
                yield extractor, int(count)

    def _page(self, label: str, after: str | None, size: int) -> list[NodeRecord]:
        params: dict[str, Any] = {"size": size}
        if after is not None:
            params["after"] = after
        return [
            self._to_record(label, row[0])
            for row in self._read(q.page(label, after is None), params)
        ]

    def _relations_among(
        self, nodes: set[tuple[str, str]], relations: tuple[str, ...] | None
    ) -> Iterable[RelationRecord]:
        by_label: dict[str, list[str]] = {}
        for label, key in nodes:
            by_label.setdefault(label, []).append(key)
        for rel in self.ontology.relations():
            if relations is not None and rel.type not in relations:
                continue
            for start, end in rel.endpoints:
                if start not in by_label or end not in by_label:
                    continue
                keys = by_label[start]
                by_keys = len(keys) <= 10_000
                query = q.relations_among(rel.type, start, end, by_keys)
                for a, b, raw in self._read(query, {"keys": keys} if by_keys else None):
                    yield relation_record(
                        self.ontology, rel.type, NodeRef(start, a), NodeRef(end, b), raw
                    )


def _internal_id(value: Mapping[str, Any]) -> tuple[int, int]:
    return int(value["table"]), int(value["offset"])


def lock_holder(path: Path) -> str | None:
    """Who holds the write lock Kùzu takes on ``path`` (a POSIX record lock): the process
    id and its command line, or None when that cannot be told (not locked, not Linux)."""
    layout = "hhqqi"  # struct flock on Linux x86-64 / arm64: type, whence, start, len, pid
    try:
        with path.open("rb") as handle:
            probe = struct.pack(layout, fcntl.F_WRLCK, 0, 0, 0, 0)
            answer = fcntl.fcntl(handle.fileno(), fcntl.F_GETLK, probe)
        kind, _, _, _, pid = struct.unpack(layout, answer[: struct.calcsize(layout)])
    except (OSError, struct.error):
        return None
    if kind == fcntl.F_UNLCK or pid <= 0:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(
            Path(a).name if i == 0 else a
            for i, a in enumerate(
                part.decode("utf-8", "replace") for part in raw.split(b"\0") if part
            )
        )
    except OSError:
        command = ""
    return f"process {pid} ({command[:200]})" if command else f"process {pid}"


def _stored_index_scheme(stored: Any) -> int | None:
    """The index text scheme a stored schema description records (None: before schemes)."""
    if not isinstance(stored, str):
        return None
    try:
        described = json.loads(stored)
    except json.JSONDecodeError:
        return None
    scheme = described.get("index_text_scheme") if isinstance(described, dict) else None
    return int(scheme) if isinstance(scheme, int) else None
