"""The write primitives of the Kùzu store, run inside one open transaction (see ``WriteTx``).

Reads use lists of strings as parameters (cheap in Kùzu); writes of fresh rows go through
``COPY`` (:mod:`kg.kuzu_bulk`) when there are enough of them, other writes through ``UNWIND``
of parameter rows grouped by the set of properties they change.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any

from kg import kuzu_queries as q
from kg.kuzu_bulk import BULK_MIN_ROWS, prepare, relation_lines, write_csv, write_lines
from kg.planning import RelationGroup
from kg.records import NodeRef, RelationKey, RelationRecord, relation_record
from kg.schema import KEY, Ontology, Property
from kg.validation import ValidRelation

Run = Callable[[str, Mapping[str, Any] | None], list[list[Any]]]
IDENTITY = ("extractor", "source")
CHUNK = 20_000
COUNT_CHUNK = 500_000
LOOKUP_MAX_KEYS = 16
COPY_MIN_FRACTION = 1
_VALUES = attrgetter("values")


class KuzuWriteTx:
    """Primitive reads and writes on the store's write connection, inside its transaction."""

    def __init__(self, run: Run, ontology: Ontology, temp_dir: Path | None = None) -> None:
        self._run = run
        self._ontology = ontology
        self._temp_dir = temp_dir
        self.copied = False
        """True once a COPY ran: Kùzu then checkpoints when the transaction commits."""

    # -- nodes -------------------------------------------------------------------------
    def _node_columns(self, label: str) -> list[str]:
        return list(self._ontology.node(label).all_properties)

    def fetch_nodes(self, label: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        if len(keys) > LOOKUP_MAX_KEYS and self._empty(q.count_nodes(label)):
            return {}  # a bulk load into an empty table: skip the join
        return fetch_by_keys(self._run, label, self._node_columns(label), keys)

    def _empty(self, count_query: str) -> bool:
        return int(self._run(count_query, None)[0][0]) == 0

    def existing_keys(self, label: str, keys: Sequence[str]) -> set[str]:
        unique = list(dict.fromkeys(keys))
        if len(unique) > LOOKUP_MAX_KEYS:
            # the usual case is that all exist: count them in Kùzu instead of shipping every
            # key back; keys are unique and so are stored keys, so equal counts mean all found
            # (each statement scans the table once, so chunks are large)
            query = q.count_existing(label)
            found = sum(
                int(self._run(query, {"keys": chunk})[0][0])
                for chunk in _chunks(unique, COUNT_CHUNK)
            )
            if found == len(unique):
                return set(unique)
        return set(fetch_by_keys(self._run, label, [KEY], unique))

    def create_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        props = self._ontology.node(label).all_properties
        present = {c for row in rows for c in row}
        columns = [c for c in props if c in present]
        scalars = [c for c in columns if not props[c].type.is_list]
        lists = [c for c in columns if props[c].type.is_list]
        bulk = self._worth_copying(len(rows), q.count_nodes(label))
        ready = prepare([[row.get(c) for c in scalars] for row in rows]) if bulk else None
        if ready is not None:
            self._copy(partial(q.copy_nodes, label, scalars), partial(write_csv, rows=ready))
            with_lists = [row for row in rows if any(row.get(c) for c in lists)]
            self.update_nodes(
                label, [{KEY: r[KEY], **{c: r.get(c) or [] for c in lists}} for r in with_lists]
            )
            return
        typed = [props[c] for c in columns]
        positional = _positional(typed)
        params = [_row([], [row.get(c) for c in columns], typed, positional) for row in rows]
        query = q.create_nodes(label, typed, positional)
        for chunk in _chunks(params):
            self._run(query, {"rows": chunk})

    def update_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        props = self._ontology.node(label).all_properties
        by_columns: dict[tuple[str, ...], list[Mapping[str, Any]]] = defaultdict(list)
        for row in rows:
            by_columns[tuple(c for c in props if c in row and c != KEY)].append(row)
        for columns, group in by_columns.items():
            if not columns:
                continue
            typed = [props[c] for c in columns]
            positional = _positional(typed)
            params = [_row([r[KEY]], [r[c] for c in columns], typed, positional) for r in group]
            query = q.update_nodes(label, typed, positional)
            for chunk in _chunks(params):
                self._run(query, {"rows": chunk})

    def delete_nodes(self, label: str, keys: Sequence[str]) -> None:
        for chunk in _chunks(keys):
            self._run(q.delete_nodes(label), {"keys": chunk})

    def node_keys_where(
        self, label: str, extractor: str | None, sources: Sequence[str] | None
    ) -> list[str]:
        query = q.node_keys_where(label, extractor is not None, sources is not None)
        return [r[0] for r in self._run(query, _provenance_params(extractor, sources))]

    def orphan_keys(self, label: str, keys: Sequence[str]) -> list[str]:
        found: list[str] = []
        for chunk in _chunks(keys):
            found.extend(r[0] for r in self._run(q.orphan_keys(label), {"keys": chunk}))
        return found

    # -- relations ---------------------------------------------------------------------
    def relations_of(self, ref: NodeRef) -> list[RelationRecord]:
        return relations_of(self._run, self._ontology, ref)

    def _rel_columns(self, rel_type: str) -> list[str]:
        return list(self._ontology.relation(rel_type).all_properties)

    def fetch_relations(
        self, group: RelationGroup, start_keys: Sequence[str]
    ) -> dict[RelationKey, dict[str, Any]]:
        rel_type, start, end = group
        columns = self._rel_columns(rel_type)
        result: dict[RelationKey, dict[str, Any]] = {}
        if len(start_keys) > LOOKUP_MAX_KEYS and self._empty(q.count_relations(rel_type)):
            return result
        start_keys = list(dict.fromkeys(start_keys))
        if len(start_keys) <= LOOKUP_MAX_KEYS:
            one = q.fetch_relations(rel_type, start, end, columns, by_key=True)
            rows = [row for key in start_keys for row in self._run(one, {"key": key})]
        else:
            query = q.fetch_relations(rel_type, start, end, columns)
            rows = [
                row for chunk in _chunks(start_keys) for row in self._run(query, {"keys": chunk})
            ]
        for row in rows:
            values = dict(zip(columns, row[2:], strict=True))
            key = RelationKey(
                rel_type,
                NodeRef(start, row[0]),
                NodeRef(end, row[1]),
                values.get("extractor") or "",
                values.get("source") or "",
            )
            result[key] = values
        return result

    def create_relations(self, group: RelationGroup, rows: Sequence[ValidRelation]) -> None:
        if not rows:
            return
        rel_type, start, end = group
        props = self._ontology.relation(rel_type).all_properties
        values = list(map(_VALUES, rows))
        distinct = dict(zip(map(id, values), values, strict=True))  # rows share values
        present = set().union(*distinct.values())
        columns = [c for c in props if c in present]
        bulk = not any(props[c].type.is_list for c in columns) and self._worth_copying(
            len(rows), q.count_relations(rel_type)
        )
        lines = relation_lines(rows, values, distinct, columns) if bulk else None
        if lines is not None:
            statement = partial(q.copy_relations, rel_type, start, end, columns)
            self._copy(statement, partial(write_lines, lines=lines))
            return
        typed = [props[c] for c in columns]
        positional = _positional(typed)
        params = [
            _row([r.start.key, r.end.key], [r.values.get(c) for c in columns], typed, positional)
            for r in rows
        ]
        query = q.create_relations(rel_type, start, end, typed, positional)
        for chunk in _chunks(params):
            self._run(query, {"rows": chunk})

    def update_relations(self, group: RelationGroup, rows: Sequence[ValidRelation]) -> None:
        rel_type, start, end = group
        props = self._ontology.relation(rel_type).all_properties
        by_columns: dict[tuple[str, ...], list[ValidRelation]] = defaultdict(list)
        for rel in rows:
            by_columns[tuple(c for c in rel.values if c not in IDENTITY)].append(rel)
        for columns, members in by_columns.items():
            typed = [props[c] for c in columns]
            positional = _positional(typed)
            params = [
                _row(
                    [r.start.key, r.end.key, r.values["extractor"], r.values["source"]],
                    [r.values[c] for c in columns],
                    typed,
                    positional,
                )
                for r in members
            ]
            query = q.update_relations(rel_type, start, end, typed, positional)
            for chunk in _chunks(params):
                self._run(query, {"rows": chunk})

    def delete_relations(self, group: RelationGroup, keys: Sequence[RelationKey]) -> None:
        rel_type, start, end = group
        params = [[k.start.key, k.end.key, k.extractor, k.source] for k in keys]
        for chunk in _chunks(params):
            self._run(q.delete_relations(rel_type, start, end), {"rows": chunk})

    def delete_relations_where(
        self, rel_type: str, extractor: str | None, sources: Sequence[str] | None
    ) -> int:
        has_x, has_s = extractor is not None, sources is not None
        params = _provenance_params(extractor, sources)
        count = int(self._run(q.count_relations_where(rel_type, has_x, has_s), params)[0][0])
        if count:
            self._run(q.delete_relations_where(rel_type, has_x, has_s), params)
        return count

    # -- bulk ------------------------------------------------------------------------
    def _worth_copying(self, fresh: int, count_query: str) -> bool:
        """COPY when there are enough fresh rows, and not far fewer than the table holds.

        Committing a transaction that ran COPY makes Kùzu 0.11 checkpoint, which costs time in
        proportion to the table (a few µs a stored row), while ``UNWIND ... CREATE`` costs
        more per new row (tens of µs) but commits cheaply. Measured on a 2-core machine, COPY
        wins once the batch is more than about 1/8 of the table: loads, not small increments.
        """
        if fresh < BULK_MIN_ROWS:
            return False
        return fresh * COPY_MIN_FRACTION >= int(self._run(count_query, None)[0][0])

    def _copy(self, statement: Callable[[str], str], write: Callable[[Path], None]) -> None:
        """Write the rows with ``write`` into a temporary CSV file and run the COPY of it."""
        with tempfile.TemporaryDirectory(prefix="shopkg-copy-", dir=self._temp_dir) as tmp:
            path = Path(tmp) / "rows.csv"
            write(path)
            self._run(statement(str(path)), None)
        self.copied = True


def relations_of(run: Run, ontology: Ontology, ref: NodeRef) -> list[RelationRecord]:
    """Every relation touching ``ref``, in its stored direction."""
    found: list[RelationRecord] = []
    for outgoing in (True, False):
        for label, key, raw in run(q.relations_of(ref.label, outgoing), {"key": ref.key}):
            other = NodeRef(label, key)
            start, end = (ref, other) if outgoing else (other, ref)
            found.append(relation_record(ontology, raw["_label"], start, end, raw))
    return found


def fetch_by_keys(
    run: Run, label: str, columns: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``columns`` (``key`` first) of the ``label`` nodes with these keys, by key.

    Few keys: one primary-key lookup each. Many: one ``UNWIND`` join, which Kùzu executes as
    a scan of the table, cheaper than thousands of lookups.
    """
    result: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(keys))
    if len(unique) <= LOOKUP_MAX_KEYS:
        query = q.fetch_node(label, columns)
        rows = [row for key in unique for row in run(query, {"key": key})]
    else:
        query = q.fetch_nodes(label, columns)
        rows = [row for chunk in _chunks(unique) for row in run(query, {"keys": chunk})]
    for row in rows:
        result[row[0]] = dict(zip(columns, row, strict=True))
    return result


LEAD_NAMES = ("s", "e", "x", "src")


def _positional(columns: Sequence[Property]) -> bool:
    """Rows go as lists of strings unless a column holds a list (see ``kuzu_queries._get``)."""
    return not any(c.type.is_list for c in columns)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)  # int or float: repr round-trips exactly through CAST


def _row(
    lead: Sequence[str], values: Sequence[Any], columns: Sequence[Property], positional: bool
) -> Any:
    """One UNWIND row: the ``lead`` keys (key, or start/end/extractor/source), then values."""
    if positional:
        return [*lead, *(_text(v) for v in values)]
    names = (KEY,) if len(lead) == 1 else LEAD_NAMES
    row: dict[str, Any] = dict(zip(names, lead, strict=False))
    for column, value in zip(columns, values, strict=True):
        row[column.name] = (value or []) if column.type.is_list else value
    return row


def _provenance_params(extractor: str | None, sources: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if extractor is not None:
        params["extractor"] = extractor
    if sources is not None:
        params["sources"] = list(sources)
    return params


def _chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)] if items else []
