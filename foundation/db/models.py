"""The metadata database: catalog source records, build jobs, quarantine, admins, tokens, audit,
admin overrides.

The graph itself lives in the graph store; this database keeps what the batch jobs and the web
app need to remember about it. The schema is owned by the Alembic migrations in
``migrations/``; a test fails when these models and the migrations drift apart.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class RecordStatus(enum.StrEnum):
    ACTIVE = "active"  # in the catalog and in the KG
    REMOVED = "removed"  # gone from the catalog; its facts were removed from the KG
    QUARANTINED = "quarantined"  # its latest version failed validation


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # killed or Ctrl-C; a rerun resumes it


class SourceRecord(Base):
    """One record of a catalog as last seen, with the hash that makes rebuilds incremental."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("catalog", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalog: Mapped[str] = mapped_column(String(200))
    record_key: Mapped[str] = mapped_column(String(400))
    raw: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.ACTIVE)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("build_jobs.id", ondelete="SET NULL")
    )


class BuildJob(Base):
    """A batch job (a KG build, a refresh, a training run) and how it went."""

    __tablename__ = "build_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)

    stages: Mapped[list[JobStage]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobStage.position"
    )

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return (as_utc(end) - as_utc(self.started_at)).total_seconds()


class JobStage(Base):
    """One stage of a job with its progress counters; a checkpoint for resuming."""

    __tablename__ = "job_stages"
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("build_jobs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    total: Mapped[int | None] = mapped_column(BigInteger)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)

    job: Mapped[BuildJob] = relationship(back_populates="stages")


class QuarantinedRecord(Base):
    """A record a job put aside, with the reason and where it came from."""

    __tablename__ = "quarantined_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("build_jobs.id", ondelete="CASCADE"), index=True
    )
    catalog: Mapped[str] = mapped_column(String(200))
    record_key: Mapped[str | None] = mapped_column(String(400))
    location: Mapped[str] = mapped_column(String(400))  # file:line, or a path for images
    stage: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)  # as read, possibly not valid JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminUser(Base):
    """Someone who may use the admin browser and the admin API."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    sessions: Mapped[list[AdminSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiToken(Base):
    """A bearer token for the admin API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[AdminUser] = relationship(back_populates="tokens")


class AdminSession(Base):
    """A logged-in browser session of an admin. The signed cookie carries a random id whose
    SHA-256 is kept here: deleting the row ends the session (logout ends one; a password
    change or disabling the user ends them all), whatever copies of the cookie exist."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[AdminUser] = relationship(back_populates="sessions")


class AuditEntry(Base):
    """One admin edit of the KG or of accounts: who, what, when, and the details."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target_kind: Mapped[str] = mapped_column(String(40))
    target_key: Mapped[str] = mapped_column(String(400))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OverrideKind(enum.StrEnum):
    EDIT = "edit"  # set properties of the node
    MERGE = "merge"  # fold the node into ``merge_into`` (same label)
    DELETE = "delete"  # the node and its relations go


class AdminOverride(Base):
    """An admin's decision about one KG node, which builds re-apply after extraction and the
    live assistant applies at once (see docs/design-notes.md, "Admin overrides"). Removing one
    sets ``removed_at``; the next build undoes it and then forgets the row."""

    __tablename__ = "admin_overrides"
    __table_args__ = (Index("ix_admin_overrides_target", "target_label", "target_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    target_label: Mapped[str] = mapped_column(String(40))
    target_key: Mapped[str] = mapped_column(String(400))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)  # edit: what was set
    merge_into: Mapped[str | None] = mapped_column(String(400))  # merge: the kept node's key
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime | None] = mapped_column(index=True)
    removed_by: Mapped[str | None] = mapped_column(String(80))


class RoomState(enum.StrEnum):
    SCHEDULED = "scheduled"  # being prepared: items can be set, viewers see the list
    LIVE = "live"  # on air: one item is on stream and viewers ask about it
    ENDED = "ended"  # over: readable, no more questions


class LiveRoom(Base):
    """A live-stream room: its host, its ordered items, the item on stream and its state.

    ``version`` goes up with every change viewers must see (a switch, a pin, the item list,
    the state); the push server polls it cheaply, so every server process sees the same room.
    ``pin_version`` goes up when the host's pinned answers change: remembered answers keyed
    by it are dropped then."""

    __tablename__ = "live_rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    host_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="RESTRICT"))
    state: Mapped[str] = mapped_column(String(16), default=RoomState.SCHEDULED, index=True)
    current_item: Mapped[str | None] = mapped_column(String(400))
    version: Mapped[int] = mapped_column(Integer, default=1)
    pin_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    host: Mapped[AdminUser] = relationship()
    items: Mapped[list[LiveRoomItem]] = relationship(
        back_populates="room",
        cascade="all, delete-orphan",
        order_by="LiveRoomItem.position",
        passive_deletes=True,
    )


class LiveRoomItem(Base):
    """One item of a room's list, at its place in the order the host presents them."""

    __tablename__ = "live_room_items"
    __table_args__ = (UniqueConstraint("room_id", "item_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    item_key: Mapped[str] = mapped_column(String(400))

    room: Mapped[LiveRoom] = relationship(back_populates="items")


class LiveQuestionGroup(Base):
    """Viewers' questions about one item of a room that mean the same thing ("is it
    waterproof", "does water get in"): the first question's text, what the group is about
    (the item's fact it matched, when one did), the mean MiniLM vector and how many asked."""

    __tablename__ = "live_question_groups"
    __table_args__ = (Index("ix_live_question_groups_room_item", "room_id", "item_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(400))
    label: Mapped[str] = mapped_column(String(500))
    topic: Mapped[str | None] = mapped_column(String(200))
    centroid: Mapped[list[float]] = mapped_column(JSON)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveQuestion(Base):
    """One viewer's question in a room, with the item on stream and the answer given."""

    __tablename__ = "live_questions"
    __table_args__ = (Index("ix_live_questions_room_created", "room_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"))
    viewer: Mapped[str] = mapped_column(String(64))  # the page's anonymous token
    question: Mapped[str] = mapped_column(Text)
    item_key: Mapped[str] = mapped_column(String(400))
    answer: Mapped[str | None] = mapped_column(Text)  # None: answering failed
    abstained: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_by: Mapped[str] = mapped_column(String(16))  # assistant, pinned, failed
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_question_groups.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LivePinnedAnswer(Base):
    """The host's answer for one group of questions about one item in a room (the
    assistant's answer pinned, or one the host wrote); viewers get it first."""

    __tablename__ = "live_pinned_answers"
    __table_args__ = (UniqueConstraint("room_id", "item_key", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(400))
    group_id: Mapped[int] = mapped_column(ForeignKey("live_question_groups.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    written: Mapped[bool] = mapped_column(Boolean, default=False)  # False: the assistant's
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveRoomViewers(Base):
    """How many viewers one push-server process holds open in a room, as of ``seen_at``
    (each process writes its own row; the host console adds up the fresh ones)."""

    __tablename__ = "live_room_viewers"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("live_rooms.id", ondelete="CASCADE"), primary_key=True
    )
    server: Mapped[str] = mapped_column(String(64), primary_key=True)
    viewers: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class DialogSession(Base):
    """A shopper's conversation with the assistant: what it searched, the results shown and
    the item on display (``state``, JSON), so whichever server process answers the next
    message continues it. Idle longer than the assistant allows, it is over (and deleted)."""

    __tablename__ = "dialog_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
