"""Admin overrides in a build: re-applied to the KG after extraction, respected by the indexes.

An admin's edit, merge or delete (``foundation.db.overrides``) is a decision about the catalog
that extraction knows nothing of: a record whose content changes is written to the KG again
as the catalog says. So every build, after the extract stage, applies the active overrides
once more (:class:`OverrideStage`; a no-op for those the graph already reflects), and the
index stages read the records through :meth:`BuildOverrides.indexed`: items deleted or merged away
left out, edited titles and prices in. An override whose target is gone (its record left
the catalog, the node it was merged into no longer exists) is reported in the stage's
summary, not applied.

Removing an override takes effect at the next build: before extraction, the records it
touched are marked as not yet written (:meth:`BuildOverrides.reopen_removed`), so the extract stage
rewrites them as the catalog says (every record when the target was a vocabulary node,
which many records share); the overrides stage then forgets the removed rows.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from catalog.schema import CatalogRecord
from foundation.db import Database, OverrideKind
from foundation.db import overrides as repository
from foundation.db.overrides import Override, OverrideSet
from jobs.runner import StageContext
from retrieval.overrides import edited_record

ORPHANS_SHOWN = 50


class BuildOverrides:
    """The overrides one build works with, read once (the text prefetch thread reads them
    too, and the overrides stage forgets the removed ones before the index stages run)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.undone: list[int] = []  # removed overrides whose records extraction rewrote
        self._lock = threading.Lock()
        self._read: tuple[list[Override], list[Override]] | None = None

    def _overrides(self) -> tuple[list[Override], list[Override]]:
        with self._lock:
            if self._read is None:
                with self.database.session() as session:
                    active = repository.active_overrides(session)
                    removed = repository.removed_overrides(session)
                self._read = (active, removed)
            return self._read

    @property
    def active(self) -> list[Override]:
        return self._overrides()[0]

    @property
    def removed(self) -> list[Override]:
        return self._overrides()[1]

    @property
    def folded(self) -> OverrideSet:
        return OverrideSet.of(self.active)

    def indexed(self, records: Iterable[CatalogRecord]) -> list[CatalogRecord]:
        """The records the indexes hold: without items deleted or merged away, and with
        their edits."""
        folded = self.folded
        hidden, edited = folded.hidden_items, folded.edited_items
        return [
            edited_record(r, edited[r.id]) if r.id in edited else r
            for r in records
            if r.id not in hidden
        ]

    def reencode(self) -> set[str]:
        """Items whose indexed text an override sets, or set until it was removed."""
        keys = set(self.folded.edited_items)
        for override in self.removed:
            if override.label == "Item":
                keys.add(override.key)
                if override.merge_into:
                    keys.add(override.merge_into)
        return keys

    def reopen_removed(self, cache: Any, job_id: int) -> None:
        """Mark the records that removed overrides touched as not yet written in the
        extraction cache (``PENDING``, as after a crash), so the extract stage rewrites
        them from the catalog."""
        from jobs.extract_cache import PENDING

        removed = self.removed
        if not removed:
            return
        written = cache.written()
        if any(o.label != "Item" for o in removed):
            keys = set(written)  # a vocabulary node: every record (and the catalog's facts)
        else:
            keys = {o.key for o in removed} | {o.merge_into for o in removed if o.merge_into}
        cache.mark_written({key: PENDING for key in keys if key in written}, job_id)
        self.undone = [o.id for o in removed]

    def forget_undone(self) -> int:
        with self.database.session() as session:
            return repository.forget_overrides(session, self.undone)


@dataclass
class OverrideReport:
    applied: Counter[str] = field(default_factory=Counter)
    already: int = 0  # the graph held them already
    orphaned: list[dict[str, Any]] = field(default_factory=list)

    def orphan(self, override: Override, reason: str) -> None:
        self.orphaned.append(
            {"id": override.id, "kind": override.kind, "label": override.label,
             "key": override.key, "reason": reason}
        )  # fmt: skip


def apply_to_graph(store: Any, active: list[Override], catalog_items: set[str]) -> OverrideReport:
    """Apply ``active`` (oldest first) to the graph; ``catalog_items``: the keys of the
    catalog's active records (an item override whose record left the catalog is orphaned)."""
    from kg import NodeRef, NodeRow

    report = OverrideReport()
    folded = OverrideSet.of(active)
    for override in sorted(active, key=lambda o: o.id):
        ref = NodeRef(override.label, override.key)
        if override.label == "Item" and override.key not in catalog_items:
            report.orphan(override, "the item is no longer in the catalog")
            continue
        node = store.get_node(ref)
        if override.kind == OverrideKind.DELETE:
            if node is None:
                report.already += 1
            else:
                store.delete_node(ref)
                report.applied[override.kind] += 1
        elif override.kind == OverrideKind.MERGE:
            keep = NodeRef(override.label, override.merge_into or "")
            if node is None:
                report.already += 1
            elif store.get_node(keep) is not None:
                store.merge_nodes(keep, ref)
                report.applied[override.kind] += 1
            elif (keep.label, keep.key) in folded.hidden:  # the node kept was deleted since
                store.delete_node(ref)
                report.applied[override.kind] += 1
            else:
                report.orphan(override, f"the node it was merged into, {keep}, is gone")
        elif (override.label, override.key) in folded.hidden:
            report.already += 1  # edited, then deleted or merged away: nothing to set
        elif node is None:
            report.orphan(override, "the node is not in the graph")
        elif all(node.properties.get(k) == v for k, v in override.properties.items()):
            report.already += 1
        else:
            node_type = store.ontology.node(override.label)
            key_values = {name: node.properties[name] for name in node_type.key_fields}
            store.upsert(nodes=[NodeRow(override.label, {**key_values, **override.properties})])
            report.applied[override.kind] += 1
    return report


class OverrideStage:
    """Re-applies the admin overrides after extraction and forgets the removed ones the
    extract stage undid."""

    name = "overrides"

    def __init__(self, build: Any) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        overrides = self.build.overrides
        active = overrides.active
        overrides.reencode()  # read before the removed rows are forgotten below
        context.progress.start(len(active))
        # the build's one store (BuildContext.open_graph): it stays open for the next stages
        report = apply_to_graph(self.build.store(), active, set(self.build.active_hashes()))
        context.progress.advance(len(active) - len(report.orphaned), failed=len(report.orphaned))
        return {
            "overrides": len(active),
            "applied": dict(report.applied),
            "already_applied": report.already,
            "orphaned": len(report.orphaned),
            "orphans": report.orphaned[:ORPHANS_SHOWN],
            "undone": overrides.forget_undone(),
        }
