"""Admin API: edit, merge and delete nodes (each written to the audit log and recorded as an
admin override that builds re-apply and the assistant applies at once), the overrides, the
audit log, and the degree distribution. Bearer token, or an admin session with a CSRF token."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from foundation.db import AuditEntry, OverrideKind, accounts, overrides
from foundation.db.overrides import Override
from foundation.errors import NotFoundError, SchemaError
from kg import NodeRef, NodeRow
from webapp.api import api_admin, registry
from webapp.api.convert import node_out
from webapp.api.schemas import (
    AuditOut,
    AuditPage,
    ChangeOut,
    DegreeBucket,
    DegreesOut,
    EditNodeBody,
    MergeBody,
    NodeRefQuery,
    OverrideOut,
    OverridePage,
    OverrideRemovedOut,
    OverridesQuery,
    PageQuery,
    WhoAmI,
)
from webapp.services import services


@registry.route(
    api_admin, "/whoami", "GET", summary="The admin this request is authenticated as",
    tag="admin", response=WhoAmI, admin=True,
)  # fmt: skip
def whoami(actor: str) -> WhoAmI:
    return WhoAmI(username=actor)


def _record(
    actor: str,
    action: str,
    ref: NodeRef,
    details: dict[str, Any],
    kind: OverrideKind,
    *,
    properties: dict[str, Any] | None = None,
    merged: NodeRef | None = None,
) -> int:
    """Audit a change the graph already holds and record it as an override (one
    transaction), then tell the live assistant; returns the audit entry's id. A merge's
    override targets the ``merged`` duplicate (``ref`` is the node kept)."""
    with services().database.session() as db:
        entry = accounts.record_audit(db, actor, action, ref.label, ref.key, details)
        db.flush()
        override = overrides.record_override(
            db,
            actor=actor,
            kind=kind,
            label=ref.label,
            key=merged.key if merged is not None else ref.key,
            properties=properties,
            merge_into=ref.key if merged is not None else None,
            audit_id=entry.id,
        )
        audit_id = entry.id
    services().override_recorded(override)
    return audit_id


@registry.route(
    api_admin, "/nodes", "PATCH", summary="Set properties of a node", tag="admin",
    response=ChangeOut, body=EditNodeBody, admin=True, errors=(404,),
)  # fmt: skip
def edit_node(actor: str, body: EditNodeBody) -> ChangeOut:
    store = services().store
    ref = NodeRef(body.label, body.key)
    before = store.get_node(ref)
    if before is None:
        raise NotFoundError(f"no node {ref} in the graph")
    node_type = store.ontology.node(body.label)
    fixed = {"key", *node_type.key_fields}
    if fixed & body.set.keys():
        raise SchemaError(
            f"{', '.join(sorted(fixed & body.set.keys()))} make the node's key and cannot be "
            "edited; merge the node into another one instead"
        )
    key_values = {name: before.properties[name] for name in node_type.key_fields}
    report = store.upsert(nodes=[NodeRow(body.label, {**key_values, **body.set})])
    after = store.get_node(ref)
    assert after is not None
    changed = {
        name: {"before": before.properties.get(name), "after": after.properties.get(name)}
        for name in body.set
    }
    details = {"changed": changed, "report": report.to_dict()}
    audit_id = _record(actor, "edit_node", ref, details, OverrideKind.EDIT, properties=body.set)
    return ChangeOut(
        action="edit_node", audit_id=audit_id, report=report.to_dict(), node=node_out(after)
    )


@registry.route(
    api_admin, "/nodes/merge", "POST", summary="Merge a duplicate node into another",
    tag="admin", response=ChangeOut, body=MergeBody, admin=True, errors=(404,),
)  # fmt: skip
def merge_nodes(actor: str, body: MergeBody) -> ChangeOut:
    store = services().store
    keep, duplicate = NodeRef(body.label, body.keep), NodeRef(body.label, body.duplicate)
    if keep == duplicate:
        raise SchemaError("a node cannot be merged into itself; pick two different nodes")
    report = store.merge_nodes(keep, duplicate).to_dict()
    audit_id = _record(
        actor,
        "merge_nodes",
        keep,
        {"report": report, "duplicate": duplicate.key},
        OverrideKind.MERGE,
        merged=duplicate,
    )
    kept = store.get_node(keep)
    return ChangeOut(
        action="merge_nodes",
        audit_id=audit_id,
        report=report,
        node=node_out(kept) if kept is not None else None,
    )


@registry.route(
    api_admin, "/nodes", "DELETE", summary="Delete a node and its relations", tag="admin",
    response=ChangeOut, query=NodeRefQuery, admin=True, errors=(404,),
)  # fmt: skip
def delete_node(actor: str, query: NodeRefQuery) -> ChangeOut:
    ref = NodeRef(query.label, query.key)
    report = services().store.delete_node(ref).to_dict()
    audit_id = _record(actor, "delete_node", ref, {"report": report}, OverrideKind.DELETE)
    return ChangeOut(action="delete_node", audit_id=audit_id, report=report)


def _override_out(override: Override) -> OverrideOut:
    return OverrideOut(
        id=override.id,
        kind=override.kind,
        label=override.label,
        key=override.key,
        properties=override.properties,
        merge_into=override.merge_into,
        actor=override.actor,
        at=override.at,
        audit_id=override.audit_id,
        removed_at=override.removed_at,
        removed_by=override.removed_by,
    )


@registry.route(
    api_admin, "/overrides", "GET", summary="Admin overrides in force, newest first",
    tag="admin", response=OverridePage, query=OverridesQuery, admin=True,
)  # fmt: skip
def list_overrides(actor: str, query: OverridesQuery) -> OverridePage:
    """The edits, merges and deletes builds re-apply (``removed=true``: those removed and
    waiting for the next build to undo them)."""
    with services().database.session() as db:
        found, total = overrides.list_overrides(
            db, offset=query.offset, limit=query.limit, removed=query.removed
        )
    end = query.offset + len(found)
    return OverridePage(
        overrides=[_override_out(o) for o in found],
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_offset=end if end < total else None,
    )


def _override_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFoundError(f"no admin override {raw!r}")
    return int(raw)


@registry.route(
    api_admin, "/overrides/<override_id>", "DELETE", summary="Remove an admin override",
    tag="admin", response=OverrideRemovedOut, admin=True, errors=(404,),
)  # fmt: skip
def remove_override(actor: str, override_id: str) -> OverrideRemovedOut:
    """Stops builds re-applying the override. It takes effect at the next build, which
    rewrites the records it touched from the catalog; until then the graph, the indexes and
    the running assistant keep what it did."""
    with services().database.session() as db:
        removed, audit_id = overrides.remove_override(db, _override_id(override_id), actor)
    return OverrideRemovedOut(
        override=_override_out(removed),
        audit_id=audit_id,
        note="removed; the next build undoes it",
    )


@registry.route(
    api_admin, "/audit", "GET", summary="The audit log, newest first", tag="admin",
    response=AuditPage, query=PageQuery, admin=True,
)  # fmt: skip
def audit(actor: str, query: PageQuery) -> AuditPage:
    with services().database.session() as db:
        total = int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        rows = db.scalars(
            select(AuditEntry)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        entries = [AuditOut.model_validate(row, from_attributes=True) for row in rows]
    end = query.offset + len(entries)
    return AuditPage(
        entries=entries,
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_offset=end if end < total else None,
    )


@registry.route(
    api_admin, "/stats/degrees", "GET", summary="Degree distribution of the graph",
    tag="admin", response=DegreesOut, admin=True,
)  # fmt: skip
def degrees(actor: str) -> DegreesOut:
    from kg.analytics import degree_distribution  # networkx, loaded when first asked

    found = degree_distribution(services().store)
    return DegreesOut(
        histogram=[DegreeBucket(degree=d, count=c) for d, c in found.histogram.items()],
        mean_by_label=found.mean_by_label,
        nodes_counted=found.nodes_counted,
        exact=found.exact,
    )
