"""Admin API: edit, merge and delete nodes (each written to the audit log), the audit log,
and the degree distribution. Bearer token, or an admin session with a CSRF token."""

from __future__ import annotations

from sqlalchemy import func, select

from kg import NodeRef, NodeRow
from shopkg.db import AuditEntry, accounts
from shopkg.errors import NotFoundError, SchemaError
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
    PageQuery,
    WhoAmI,
)
from webapp.graphstats import degree_distribution
from webapp.services import services


@registry.route(
    api_admin, "/whoami", "GET", summary="The admin this request is authenticated as",
    tag="admin", response=WhoAmI, admin=True,
)  # fmt: skip
def whoami(actor: str) -> WhoAmI:
    return WhoAmI(username=actor)


def _audit(actor: str, action: str, ref: NodeRef, details: dict[str, object]) -> int:
    with services().database.session() as db:
        entry = accounts.record_audit(db, actor, action, ref.label, ref.key, details)
        db.flush()
        return entry.id


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
    audit_id = _audit(actor, "edit_node", ref, {"changed": changed, "report": report.to_dict()})
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
    audit_id = _audit(actor, "merge_nodes", keep, {"report": report})
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
    audit_id = _audit(actor, "delete_node", ref, {"report": report})
    return ChangeOut(action="delete_node", audit_id=audit_id, report=report)


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
    found = degree_distribution(services().store)
    return DegreesOut(
        histogram=[DegreeBucket(degree=d, count=c) for d, c in found.histogram.items()],
        mean_by_label=found.mean_by_label,
        nodes_counted=found.nodes_counted,
        exact=found.exact,
    )
