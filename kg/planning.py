"""Write algorithms shared by every backend, over a small per-backend transaction protocol.

Like Alembic's ``DefaultImpl``: what an upsert, a merge or a fact deletion *means* is written
once here; a backend only supplies :class:`WriteTx`, the primitive reads and writes inside one
transaction. That keeps Kùzu and Neo4j behaving the same (same reports, same errors) and keeps
their query modules to plain statements.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from foundation.errors import NotFoundError
from kg.records import (
    DeleteReport,
    MergeReport,
    NodeRecord,
    NodeRef,
    RelationKey,
    RelationRecord,
    WriteReport,
)
from kg.schema import KEY, PROVENANCE_FIELDS, SEARCH_TEXT, Ontology, fold
from kg.validation import ValidNode, ValidRelation, search_text, valid_relation

RelationGroup = tuple[str, str, str]
"""(relation type, start label, end label): the unit backends read and write relations in."""


class WriteTx(Protocol):
    """The primitives a backend runs inside one write transaction."""

    def fetch_nodes(self, label: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def existing_keys(self, label: str, keys: Sequence[str]) -> set[str]: ...

    def create_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def update_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def delete_nodes(self, label: str, keys: Sequence[str]) -> None: ...

    def fetch_relations(
        self, group: RelationGroup, start_keys: Sequence[str]
    ) -> dict[RelationKey, dict[str, Any]]:
        """The stored relations of ``group`` out of these nodes (keys may repeat)."""
        ...

    def create_relations(self, group: RelationGroup, rows: Sequence[ValidRelation]) -> None: ...

    def update_relations(self, group: RelationGroup, rows: Sequence[ValidRelation]) -> None: ...

    def delete_relations(self, group: RelationGroup, keys: Sequence[RelationKey]) -> None: ...

    def delete_relations_where(
        self, rel_type: str, extractor: str | None, sources: Sequence[str] | None
    ) -> int: ...

    def node_keys_where(
        self, label: str, extractor: str | None, sources: Sequence[str] | None
    ) -> list[str]: ...

    def orphan_keys(self, label: str, keys: Sequence[str]) -> list[str]: ...

    def relations_of(self, ref: NodeRef) -> list[RelationRecord]: ...


@dataclass
class ChangeSet:
    """Everything one transaction does, applied in this order."""

    nodes: list[ValidNode] = field(default_factory=list)
    relations: list[ValidRelation] = field(default_factory=list)
    delete_relations: list[RelationKey] = field(default_factory=list)
    delete_nodes: list[NodeRef] = field(default_factory=list)
    duplicates: int = 0
    # sources the caller knows asserted nothing stored yet: their relations are created
    # without reading back the stored relations of their start nodes (see GraphStore.upsert)
    new_sources: frozenset[str] = frozenset()


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list | tuple) or isinstance(new, list | tuple):
        return list(old or []) == list(new or [])
    return bool(old == new)


def apply_changes(tx: WriteTx, ontology: Ontology, changes: ChangeSet) -> WriteReport:
    """Upsert nodes, then relations, then delete; returns what changed. Raises before commit."""
    created = updated = unchanged = 0
    by_label: dict[str, list[ValidNode]] = defaultdict(list)
    for node in changes.nodes:
        by_label[node.label].append(node)
    for label, group in by_label.items():
        fields = ontology.node(label).search_fields
        existing = tx.fetch_nodes(label, [n.key for n in group])
        creates: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for node in group:
            old = existing.get(node.key)
            merged = {**(old or {}), **node.values}
            if fields:
                merged[SEARCH_TEXT] = search_text(merged, fields)
            if old is None:
                creates.append(merged)
                continue
            changed = {k: v for k, v in merged.items() if not _same(old.get(k), v)}
            if changed:
                updates.append({KEY: node.key, **changed})
            else:
                unchanged += 1
        tx.create_nodes(label, creates)
        tx.update_nodes(label, updates)
        created += len(creates)
        updated += len(updates)

    groups = _group_relations(changes.relations)
    starts = {group: list(map(_KEY, map(_START, rels))) for group, rels in groups.items()}
    _check_endpoints(tx, groups, starts)
    rel_created = rel_updated = rel_unchanged = 0
    for group_key, rels in groups.items():
        lookup = starts[group_key]
        if changes.new_sources:
            lookup = [r.start.key for r in rels if r.identity.source not in changes.new_sources]
        stored = tx.fetch_relations(group_key, lookup) if lookup else {}
        fresh: list[ValidRelation] = rels if not stored else []
        changed_rels: list[ValidRelation] = []
        for rel in rels if stored else ():
            old = stored.get(rel.identity)
            if old is None:
                fresh.append(rel)
            elif any(not _same(old.get(k), v) for k, v in rel.values.items()):
                changed_rels.append(rel)
            else:
                rel_unchanged += 1
        tx.create_relations(group_key, fresh)
        tx.update_relations(group_key, changed_rels)
        rel_created += len(fresh)
        rel_updated += len(changed_rels)

    doomed: dict[RelationGroup, list[RelationKey]] = defaultdict(list)
    for key in changes.delete_relations:
        doomed[(key.type, key.start.label, key.end.label)].append(key)
    for group_key, rel_keys in doomed.items():
        tx.delete_relations(group_key, rel_keys)
    dead: dict[str, list[str]] = defaultdict(list)
    for ref in changes.delete_nodes:
        dead[ref.label].append(ref.key)
    for label, node_keys in dead.items():
        tx.delete_nodes(label, node_keys)
    return WriteReport(
        nodes_created=created,
        nodes_updated=updated,
        nodes_unchanged=unchanged,
        relations_created=rel_created,
        relations_updated=rel_updated,
        relations_unchanged=rel_unchanged,
        duplicates_in_batch=changes.duplicates,
    )


_START, _END, _KEY = attrgetter("start"), attrgetter("end"), itemgetter(1)


def _group_relations(rels: Iterable[ValidRelation]) -> dict[RelationGroup, list[ValidRelation]]:
    groups: dict[RelationGroup, list[ValidRelation]] = {}
    for rel in rels:
        group = groups.get(rel.group)
        if group is None:
            groups[rel.group] = [rel]
        else:
            group.append(rel)
    return groups


def _check_endpoints(
    tx: WriteTx,
    groups: Mapping[RelationGroup, list[ValidRelation]],
    starts: Mapping[RelationGroup, list[str]],
) -> None:
    """A NotFoundError naming the first row whose start or end node does not exist."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for group, rels in groups.items():
        wanted[group[1]].update(starts[group])
        wanted[group[2]].update(map(_KEY, map(_END, rels)))
    missing: set[NodeRef] = set()
    for label, keys in wanted.items():
        found = tx.existing_keys(label, list(keys))
        missing.update(NodeRef(label, k) for k in keys - found)
    if not missing:
        return
    rels = sorted((r for group in groups.values() for r in group), key=lambda r: r.row)
    for rel in rels:
        for end_name, ref in (("start", rel.start), ("end", rel.end)):
            if ref in missing:
                raise NotFoundError(
                    f"relation batch row {rel.row} ({rel.type}): {end_name} node {ref} does "
                    f"not exist ({len(missing)} missing in this batch); upsert the nodes "
                    "first or in the same upsert() call. Nothing of this batch was written."
                )


def node_record(ontology: Ontology, label: str, values: Mapping[str, Any]) -> NodeRecord:
    """A record with every ontology property of ``label`` (lists never null)."""
    props = ontology.node(label).all_properties
    complete = {
        name: (values.get(name) or []) if prop.type.is_list else values.get(name)
        for name, prop in props.items()
    }
    return NodeRecord(label, str(complete[KEY]), complete)


def read_node(tx: WriteTx, ontology: Ontology, ref: NodeRef) -> NodeRecord:
    """``ref``'s record as the transaction sees it, or a NotFoundError."""
    found = tx.fetch_nodes(ref.label, [ref.key]).get(ref.key)
    if found is None:
        raise NotFoundError(f"node {ref} does not exist in the graph store")
    return node_record(ontology, ref.label, found)


def merge_nodes(tx: WriteTx, ontology: Ontology, keep: NodeRef, duplicate: NodeRef) -> MergeReport:
    """Read both nodes and their relations, then merge, all in the caller's transaction."""
    kept, merged = read_node(tx, ontology, keep), read_node(tx, ontology, duplicate)
    relations = sorted(tx.relations_of(duplicate), key=lambda r: r.identity)
    changes, report = plan_merge(kept, merged, relations, tx.relations_of(keep))
    apply_changes(tx, ontology, changes)
    return report


def delete_node(tx: WriteTx, ontology: Ontology, ref: NodeRef) -> DeleteReport:
    """Delete a node with its relations; the report keeps its last properties."""
    record = read_node(tx, ontology, ref)
    counts: Counter[str] = Counter(r.type for r in tx.relations_of(ref))
    apply_changes(tx, ontology, ChangeSet(delete_nodes=[ref]))
    return DeleteReport(
        nodes_deleted=(ref,),
        relations_deleted=dict(sorted(counts.items())),
        deleted_nodes=(dict(record.properties),),
    )


def plan_merge(
    kept: NodeRecord,
    merged: NodeRecord,
    merged_relations: Sequence[RelationRecord],
    kept_relations: Sequence[RelationRecord],
) -> tuple[ChangeSet, MergeReport]:
    """Re-point ``merged``'s relations to ``kept``, fill ``kept``'s gaps, then drop ``merged``."""
    kept_ids = {r.identity: r for r in kept_relations}
    moved: Counter[str] = Counter()
    dropped: list[str] = []
    changes = ChangeSet(delete_nodes=[merged.ref])
    for rel in merged_relations:
        start = kept.ref if rel.start == merged.ref else rel.start
        end = kept.ref if rel.end == merged.ref else rel.end
        where = f"{rel.type} {rel.start} -> {rel.end} [{rel.provenance.extractor}]"
        if start == end:
            dropped.append(f"{where}: would loop on {kept.ref}")
            continue
        values = dict(rel.properties)
        moved_rel = valid_relation(rel.type, start, end, values, len(changes.relations))
        twin = kept_ids.get(moved_rel.identity)
        if twin is not None:
            dropped.append(f"{where}: {kept.ref} already has it")
            best = max(rel.provenance.confidence, twin.provenance.confidence)
            if best != twin.provenance.confidence:
                raised = valid_relation(
                    rel.type, start, end, {**twin.properties, "confidence": best}, 0
                )
                changes.relations.append(raised)
            continue
        changes.relations.append(moved_rel)
        moved[rel.type] += 1

    skip = {KEY, SEARCH_TEXT, "aliases", *PROVENANCE_FIELDS}
    filled = {
        name: value
        for name, value in merged.properties.items()
        if name not in skip
        and value not in (None, [], "")
        and kept.properties.get(name) in (None, [], "")
    }
    aliases: list[str] = []
    if "aliases" in kept.properties:
        known = {fold(kept.name), *(fold(a) for a in kept.properties.get("aliases") or [])}
        for alias in [merged.name, *(merged.properties.get("aliases") or [])]:
            if fold(alias) not in known:
                known.add(fold(alias))
                aliases.append(alias)
    update: dict[str, Any] = dict(filled)
    if aliases:
        update["aliases"] = [*(kept.properties.get("aliases") or []), *aliases]
    if update:
        update[KEY] = kept.key
        changes.nodes.append(ValidNode(kept.label, kept.key, update, 0))
    report = MergeReport(
        kept=kept.ref,
        merged=merged.ref,
        merged_node=dict(merged.properties),
        relations_moved=dict(sorted(moved.items())),
        relations_dropped=tuple(dropped),
        properties_filled=tuple(sorted(filled)),
        aliases_added=tuple(aliases),
    )
    return changes, report


def delete_facts(
    tx: WriteTx, ontology: Ontology, extractor: str | None, sources: Sequence[str] | None
) -> DeleteReport:
    """Delete the relations asserted by ``extractor`` and/or from any of ``sources``, then the
    nodes last written by them that have no relations left. Everything else stays."""
    counts: dict[str, int] = {}
    for rel in ontology.relations():
        n = tx.delete_relations_where(rel.type, extractor, sources)
        if n:
            counts[rel.type] = n
    deleted: list[NodeRef] = []
    for label in ontology.labels:
        candidates = tx.node_keys_where(label, extractor, sources)
        orphans = tx.orphan_keys(label, candidates) if candidates else []
        if orphans:
            tx.delete_nodes(label, orphans)
            deleted.extend(NodeRef(label, k) for k in sorted(orphans))
    return DeleteReport(nodes_deleted=tuple(deleted), relations_deleted=counts)
