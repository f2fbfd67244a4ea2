"""``shopkg check``: do the catalog, the KG and the indexes agree about which items exist?

Expected: the catalog's active records (metadata DB) less the items admin overrides deleted
or merged away. Each of these is compared with it, key by key:

- ``graph``: the KG's Item nodes;
- ``item_text``: the keys of the item-text vector index;
- ``item_table``: ``items.jsonl``, the rows search shows and filters on;
- ``bm25``: the keyword index's document keys;
- ``postings``, ``item_image``: hold only some items (those linked to a node, those with
  images), so only keys that should not be there count.

Edited items are checked too: the graph node and the item table row must show what the
admin set. Overrides whose item left the catalog are listed, not counted as disagreements.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from foundation.artifacts import ITEM_IMAGE, ITEM_TEXT, index_layout, last_build
from foundation.db import Database, RecordStatus, SourceRecord
from foundation.db import overrides as repository
from foundation.db.overrides import OverrideSet
from foundation.errors import ShopKGError
from foundation.settings import Settings

KEYS_SHOWN = 20
COMPLETE = ("graph", ITEM_TEXT, "item_table", "bm25")  # each must hold every expected item
PARTIAL = ("postings", ITEM_IMAGE)  # may hold fewer, never others


@dataclass(frozen=True)
class Disagreement:
    where: str  # graph, item_text, item_table, bm25, postings, item_image
    problem: str  # missing, unexpected, stale_edit, unreadable
    count: int
    keys: list[str]  # the first KEYS_SHOWN, sorted

    def line(self) -> str:
        more = f", … {self.count - len(self.keys)} more" if self.count > len(self.keys) else ""
        return f"{self.where}: {self.count} {self.problem}: {', '.join(self.keys)}{more}"


@dataclass
class CheckReport:
    catalog: str | None  # None: every catalog's records
    records: int  # active catalog records
    hidden: int  # of those, deleted or merged away by admin overrides
    expected: int
    counts: dict[str, int | None] = field(default_factory=dict)  # None: not built
    disagreements: list[Disagreement] = field(default_factory=list)
    orphaned_overrides: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def add(self, where: str, problem: str, keys: Iterable[str]) -> None:
        found = sorted(keys)
        if found:
            self.disagreements.append(Disagreement(where, problem, len(found), found[:KEYS_SHOWN]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "catalog": self.catalog,
            "records": self.records,
            "hidden_by_overrides": self.hidden,
            "expected": self.expected,
            "counts": self.counts,
            "disagreements": [asdict(d) for d in self.disagreements],
            "orphaned_overrides": self.orphaned_overrides,
        }

    def lines(self) -> list[str]:
        shown = ", ".join(
            f"{name} {'not built' if count is None else count}"
            for name, count in self.counts.items()
        )
        found = [
            f"catalog {self.catalog or '(all)'}: {self.records} active records, {self.hidden} "
            f"deleted or merged by admin overrides, {self.expected} items expected",
            f"found: {shown}",
            f"disagreements: {len(self.disagreements)}",
            *(f"  {d.line()}" for d in self.disagreements),
        ]
        found += [
            f"orphaned override {o['id']} ({o['kind']} {o['label']} {o['key']!r}): "
            "its item is no longer in the catalog"
            for o in self.orphaned_overrides
        ]
        return found


def check_build(settings: Settings, catalog: str | None = None) -> CheckReport:
    """Compare the catalog, the KG and the indexes of ``settings``' data dir. ``catalog``:
    the catalog's name (default: that of the last successful build; all when none)."""
    database = Database(settings.db).connect()
    try:
        database.check_current()
        last = last_build(settings)
        catalog = catalog or (last.name if last is not None else None)
        records = _active_keys(database, catalog)
        with database.session() as session:
            active = repository.active_overrides(session)
    finally:
        database.close()
    folded = OverrideSet.of(active)
    hidden = records & folded.hidden_items
    expected = records - hidden
    report = CheckReport(catalog, len(records), len(hidden), len(expected))
    report.orphaned_overrides = [
        {"id": o.id, "kind": o.kind, "label": o.label, "key": o.key}
        for o in active
        if o.label == "Item" and o.key not in records
    ]
    nodes = _graph_items(settings)
    layout = index_layout(settings)
    found: dict[str, set[str] | None] = {
        "graph": set(nodes),
        ITEM_TEXT: _vector_keys(layout.item_text),
        "item_table": _table_keys(layout.items),
        "bm25": _keyword_keys(layout.keyword_keys),
        "postings": _posting_keys(layout.root),
        ITEM_IMAGE: _vector_keys(layout.item_image),
    }
    for where, keys in found.items():
        report.counts[where] = None if keys is None else len(keys)
        if keys is None:
            if where in COMPLETE and expected:
                report.add(where, "missing", expected)
            continue
        if where in COMPLETE:
            report.add(where, "missing", expected - keys)
        report.add(where, "unexpected", keys - expected)
    _check_edits(report, folded, expected, nodes, layout.items)
    return report


def _check_edits(
    report: CheckReport,
    folded: OverrideSet,
    expected: set[str],
    nodes: dict[str, dict[str, Any]],
    table: Path,
) -> None:
    from retrieval.overrides import row_changes

    edited = {k: v for k, v in folded.edited_items.items() if k in expected}
    if not edited:
        return
    rows = _table_rows(table) or {}
    stale_nodes, stale_rows = [], []
    for key, properties in edited.items():
        node = nodes.get(key)
        if node is not None and any(node.get(k) != v for k, v in properties.items()):
            stale_nodes.append(key)
        row = rows.get(key)
        if row is not None and any(row.get(k) != v for k, v in row_changes(properties).items()):
            stale_rows.append(key)
    report.add("graph", "stale_edit", stale_nodes)
    report.add("item_table", "stale_edit", stale_rows)


def _active_keys(database: Database, catalog: str | None) -> set[str]:
    where = [SourceRecord.status == RecordStatus.ACTIVE]
    if catalog is not None:
        where.append(SourceRecord.catalog == catalog)
    with database.session() as session:
        return set(session.scalars(select(SourceRecord.record_key).where(*where)))


def _graph_items(settings: Settings) -> dict[str, dict[str, Any]]:
    """Item key → properties of every Item node."""
    from kg import open_store

    with open_store(settings) as store:
        return {
            node.key: dict(node.properties) for page in store.iter_nodes("Item") for node in page
        }


def _vector_keys(directory: Path) -> set[str] | None:
    from retrieval.index_files import MANIFEST, read_index_files

    if not (directory / MANIFEST).is_file():
        return None
    try:
        _, _, keys = read_index_files(directory)
    except ShopKGError as e:  # a tampered or half-written index: every key is in doubt
        raise ShopKGError(f"cannot read the index in {directory}: {e}") from e
    return {key for key in keys if key is not None}


def _table_rows(path: Path) -> dict[str, dict[str, Any]] | None:
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {row["key"]: row for row in rows}


def _table_keys(path: Path) -> set[str] | None:
    rows = _table_rows(path)
    return None if rows is None else set(rows)


def _keyword_keys(path: Path) -> set[str] | None:
    if not path.is_file():
        return None
    return set(json.loads(path.read_text(encoding="utf-8")))


def _posting_keys(index_dir: Path) -> set[str] | None:
    from retrieval.graph_postings import load_postings

    postings = load_postings(index_dir)
    if postings is None:
        return None
    return {key for section in postings.values() for items in section.values() for key in items}
