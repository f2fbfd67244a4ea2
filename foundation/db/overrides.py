"""Admin overrides: an admin's edits, merges and deletes of KG nodes, kept in the metadata DB.

The graph alone forgets them (a rebuild rewrites what extraction finds), so each one is
recorded here with the audit entry that goes with it; builds re-apply the active ones after
extraction and the live assistant applies them at once (docs/design-notes.md, "Admin overrides").
:class:`Override` is a plain copy of a row, safe to hand to other threads and packages;
:class:`OverrideSet` folds a list of them into what readers need: the nodes that are gone and
the properties set on the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from foundation.db.accounts import record_audit
from foundation.db.models import AdminOverride, OverrideKind, as_utc, utcnow
from foundation.errors import NotFoundError


@dataclass(frozen=True)
class Override:
    """One admin override, detached from the database session."""

    id: int
    kind: str  # an OverrideKind
    label: str
    key: str
    properties: dict[str, Any] = field(default_factory=dict)
    merge_into: str | None = None
    actor: str = ""
    at: datetime | None = None
    audit_id: int | None = None
    removed_at: datetime | None = None
    removed_by: str | None = None

    @classmethod
    def of(cls, row: AdminOverride) -> Override:
        return cls(
            id=row.id,
            kind=row.kind,
            label=row.target_label,
            key=row.target_key,
            properties=dict(row.properties or {}),
            merge_into=row.merge_into,
            actor=row.actor,
            at=as_utc(row.at) if row.at is not None else None,
            audit_id=row.audit_id,
            removed_at=as_utc(row.removed_at) if row.removed_at is not None else None,
            removed_by=row.removed_by,
        )

    @property
    def hides_target(self) -> bool:
        """Whether the target node is gone from the KG while this override holds."""
        return self.kind in (OverrideKind.DELETE, OverrideKind.MERGE)


@dataclass
class OverrideSet:
    """Active overrides folded, in the order they were made: nodes deleted or merged away,
    and the properties set on nodes (a later edit of a property wins)."""

    hidden: dict[tuple[str, str], Override] = field(default_factory=dict)
    edits: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, overrides: Iterable[Override]) -> OverrideSet:
        folded = cls()
        for override in sorted(overrides, key=lambda o: o.id):
            folded.add(override)
        return folded

    def add(self, override: Override) -> None:
        target = (override.label, override.key)
        if override.hides_target:
            self.hidden[target] = override
            self.edits.pop(target, None)
        elif override.kind == OverrideKind.EDIT:
            self.edits.setdefault(target, {}).update(override.properties)

    @property
    def hidden_items(self) -> frozenset[str]:
        """Keys of the items deleted or merged into another item."""
        return frozenset(key for label, key in self.hidden if label == "Item")

    def item_edits(self, key: str) -> dict[str, Any]:
        """The properties admins set on item ``key`` (empty when none)."""
        return self.edits.get(("Item", key), {})

    @property
    def edited_items(self) -> dict[str, dict[str, Any]]:
        return {key: props for (label, key), props in self.edits.items() if label == "Item"}


def record_override(
    session: Session,
    *,
    actor: str,
    kind: OverrideKind,
    label: str,
    key: str,
    properties: dict[str, Any] | None = None,
    merge_into: str | None = None,
    audit_id: int | None = None,
) -> Override:
    """Record an override (in the caller's transaction)."""
    if kind == OverrideKind.MERGE and not merge_into:
        raise ValueError("a merge override needs the key of the node it was merged into")
    row = AdminOverride(
        actor=actor,
        kind=str(kind),
        target_label=label,
        target_key=key,
        properties=dict(properties or {}),
        merge_into=merge_into,
        audit_id=audit_id,
    )
    session.add(row)
    session.flush()
    return Override.of(row)


def active_overrides(session: Session) -> list[Override]:
    """The overrides in force, oldest first (the order they are applied in)."""
    rows = session.scalars(
        select(AdminOverride).where(AdminOverride.removed_at.is_(None)).order_by(AdminOverride.id)
    )
    return [Override.of(row) for row in rows]


def removed_overrides(session: Session) -> list[Override]:
    """Overrides an admin removed that no build has undone yet."""
    rows = session.scalars(
        select(AdminOverride)
        .where(AdminOverride.removed_at.is_not(None))
        .order_by(AdminOverride.id)
    )
    return [Override.of(row) for row in rows]


def list_overrides(
    session: Session, *, offset: int = 0, limit: int = 50, removed: bool = False
) -> tuple[list[Override], int]:
    """A page of the active overrides (or of the removed ones awaiting a build), newest
    first, and how many there are."""
    where = AdminOverride.removed_at.is_not(None) if removed else AdminOverride.removed_at.is_(None)
    total = int(session.scalar(select(func.count()).select_from(AdminOverride).where(where)) or 0)
    rows = session.scalars(
        select(AdminOverride)
        .where(where)
        .order_by(AdminOverride.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [Override.of(row) for row in rows], total


def remove_override(session: Session, override_id: int, actor: str) -> tuple[Override, int]:
    """Mark an override removed (the next build undoes it) and audit that; returns it and
    the audit entry's id."""
    row = session.get(AdminOverride, override_id)
    if row is None or row.removed_at is not None:
        raise NotFoundError(f"no active admin override {override_id}")
    row.removed_at = utcnow()
    row.removed_by = actor
    entry = record_audit(
        session,
        actor,
        "remove_override",
        row.target_label,
        row.target_key,
        {"override": row.id, "kind": row.kind},
    )
    session.flush()
    return Override.of(row), entry.id


def forget_overrides(session: Session, ids: Iterable[int]) -> int:
    """Delete removed overrides a build has undone (the audit log keeps their history)."""
    chosen = list(ids)
    if not chosen:
        return 0
    result = session.execute(
        delete(AdminOverride).where(
            AdminOverride.id.in_(chosen), AdminOverride.removed_at.is_not(None)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
