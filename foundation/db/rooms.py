"""Live rooms in the metadata DB: a host's room, its ordered items, the item on stream, the
viewers' questions (grouped by meaning) with the answers given, and the host's pinned answers.

Every change a viewer must see bumps the room's ``version`` (the push server polls it, so
all server processes see the same room); a change of the pinned answers also bumps
``pin_version``, which keys remembered answers. Changes made by admins are audit-logged in
the caller's transaction. Which items exist is the caller's business (the KG knows): these
functions take item keys already checked. :class:`Room` and the other dataclasses are
plain copies of rows, safe to hand to other threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from foundation.db.accounts import record_audit
from foundation.db.models import (
    AdminUser,
    LivePinnedAnswer,
    LiveQuestion,
    LiveQuestionGroup,
    LiveRoom,
    LiveRoomItem,
    LiveRoomViewers,
    RoomState,
    as_utc,
    utcnow,
)
from foundation.errors import AuthError, InputError, NotFoundError, RoomStateError

TARGET = "live_room"
MAX_ITEMS = 500
VIEWERS_FRESH_S = 15.0  # a push server's viewer count older than this is dropped


@dataclass(frozen=True)
class Room:
    """A room as its viewers and its host see it, detached from the session."""

    id: int
    title: str
    host: str
    state: str
    current_item: str | None
    items: tuple[str, ...]
    version: int
    pin_version: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, row: LiveRoom) -> Room:
        return cls(
            id=row.id,
            title=row.title,
            host=row.host.username,
            state=row.state,
            current_item=row.current_item,
            items=tuple(i.item_key for i in row.items),
            version=row.version,
            pin_version=row.pin_version,
            created_at=as_utc(row.created_at),
            started_at=as_utc(row.started_at) if row.started_at is not None else None,
            ended_at=as_utc(row.ended_at) if row.ended_at is not None else None,
        )


@dataclass(frozen=True)
class Pin:
    """The host's answer to one group of questions about one item."""

    id: int
    item_key: str
    group_id: int
    question: str  # the group's label: the first question asked
    text: str
    written: bool  # True: the host wrote it; False: the assistant's answer, pinned
    evidence: list[dict[str, Any]]
    author: str

    @classmethod
    def of(cls, row: LivePinnedAnswer, label: str) -> Pin:
        return cls(
            row.id, row.item_key, row.group_id, label, row.text, row.written,
            list(row.evidence or []), row.author,
        )  # fmt: skip


@dataclass(frozen=True)
class Group:
    """A group of questions about one item that mean the same thing."""

    id: int
    item_key: str
    label: str
    topic: str | None
    centroid: list[float]
    questions: int


@dataclass(frozen=True)
class GroupSummary:
    """A group as the host console shows it: how many asked, the last answer given."""

    id: int
    item_key: str
    label: str
    topic: str | None
    questions: int
    last_question: str
    answer: str | None
    abstained: bool
    answered_by: str
    evidence: list[dict[str, Any]]
    last_at: datetime
    pin: Pin | None = None


@dataclass(frozen=True)
class RoomStats:
    viewers: int
    questions: int
    questions_per_minute: int
    groups: list[GroupSummary] = field(default_factory=list)


def _room_row(session: Session, room_id: int, *, lock: bool = False) -> LiveRoom:
    query = select(LiveRoom).where(LiveRoom.id == room_id)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFoundError(f"no live room {room_id}; `shopkg room list` shows the rooms")
    return row


def _changed(row: LiveRoom, *, pins: bool = False) -> None:
    row.version += 1
    if pins:
        row.pin_version += 1
    row.updated_at = utcnow()


def _check_items(keys: Sequence[str]) -> list[str]:
    items = [k.strip() for k in keys]
    if any(not k for k in items):
        raise InputError("an item key is empty")
    duplicates = sorted({k for k in items if items.count(k) > 1})
    if duplicates:
        raise InputError(f"items appear twice in the list: {', '.join(duplicates)}")
    if len(items) > MAX_ITEMS:
        raise InputError(f"a room holds at most {MAX_ITEMS} items, not {len(items)}")
    return items


def _not_ended(row: LiveRoom, doing: str) -> None:
    if row.state == RoomState.ENDED:
        raise RoomStateError(f"live room {row.id} has ended; {doing} is not possible any more")


def create_room(
    session: Session, title: str, host: str, items: Sequence[str] = (), *, actor: str
) -> Room:
    """A scheduled room hosted by the admin ``host``, with its items in this order."""
    title = title.strip()
    if not title or len(title) > 200:
        raise InputError("a room needs a title of 1 to 200 characters")
    user = session.scalar(select(AdminUser).where(AdminUser.username == host))
    if user is None or not user.is_active:
        raise AuthError(f"no active admin user {host!r} to host the room")
    keys = _check_items(items)
    row = LiveRoom(title=title, host_id=user.id, state=RoomState.SCHEDULED)
    row.items = [LiveRoomItem(position=i, item_key=k) for i, k in enumerate(keys)]
    session.add(row)
    session.flush()
    record_audit(session, actor, "create_room", TARGET, str(row.id),
                 {"title": title, "host": host, "items": keys})  # fmt: skip
    return Room.of(row)


def get_room(session: Session, room_id: int) -> Room:
    return Room.of(_room_row(session, room_id))


def list_rooms(session: Session, *, state: str | None = None, limit: int = 100) -> list[Room]:
    """Rooms, newest first."""
    query = select(LiveRoom).order_by(LiveRoom.id.desc()).limit(limit)
    if state is not None:
        query = query.where(LiveRoom.state == state)
    return [Room.of(row) for row in session.scalars(query)]


def set_items(session: Session, room_id: int, items: Sequence[str], *, actor: str) -> Room:
    """Replace the room's item list. A live room keeps at least one item; when the item on
    stream leaves the list, the first item of the new one goes on stream."""
    row = _room_row(session, room_id, lock=True)
    _not_ended(row, "changing its items")
    keys = _check_items(items)
    if row.state == RoomState.LIVE and not keys:
        raise RoomStateError(f"live room {room_id} cannot be left without items; end it instead")
    session.execute(delete(LiveRoomItem).where(LiveRoomItem.room_id == row.id))
    session.flush()
    session.expire(row, ["items"])
    for position, key in enumerate(keys):
        session.add(LiveRoomItem(room_id=row.id, position=position, item_key=key))
    if row.state == RoomState.LIVE and row.current_item not in keys:
        row.current_item = keys[0]
    _changed(row)
    session.flush()
    session.refresh(row)
    record_audit(session, actor, "set_room_items", TARGET, str(row.id), {"items": keys})
    return Room.of(row)


def go_live(session: Session, room_id: int, *, actor: str, item: str | None = None) -> Room:
    """Put a scheduled room on air with ``item`` (default: its first item) on stream."""
    row = _room_row(session, room_id, lock=True)
    _not_ended(row, "going live")
    if row.state == RoomState.LIVE:
        raise RoomStateError(f"live room {room_id} is live already")
    keys = [i.item_key for i in row.items]
    if not keys:
        raise RoomStateError(f"live room {room_id} has no items; set its items before going live")
    if item is not None and item not in keys:
        raise InputError(f"item {item!r} is not in room {room_id}'s list")
    row.state = RoomState.LIVE
    row.current_item = item or keys[0]
    row.started_at = utcnow()
    _changed(row)
    record_audit(session, actor, "room_live", TARGET, str(row.id), {"item": row.current_item})
    session.flush()
    return Room.of(row)


def switch_item(session: Session, room_id: int, item: str, *, actor: str) -> Room:
    """Put ``item`` of the room's list on stream."""
    row = _room_row(session, room_id, lock=True)
    _not_ended(row, "switching items")
    if row.state != RoomState.LIVE:
        raise RoomStateError(f"live room {room_id} is not live yet; go live first")
    if item not in {i.item_key for i in row.items}:
        raise InputError(f"item {item!r} is not in room {room_id}'s list; add it first")
    previous, row.current_item = row.current_item, item
    _changed(row)
    record_audit(session, actor, "room_switch", TARGET, str(row.id),
                 {"item": item, "previous": previous})  # fmt: skip
    session.flush()
    return Room.of(row)


def end_room(session: Session, room_id: int, *, actor: str) -> Room:
    row = _room_row(session, room_id, lock=True)
    _not_ended(row, "ending it again")
    row.state = RoomState.ENDED
    row.ended_at = utcnow()
    _changed(row)
    record_audit(session, actor, "room_end", TARGET, str(row.id))
    session.flush()
    return Room.of(row)


def versions(session: Session, room_ids: Iterable[int]) -> dict[int, int]:
    """The version of each room that exists (one small query, whatever the count)."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = session.execute(select(LiveRoom.id, LiveRoom.version).where(LiveRoom.id.in_(ids)))
    return {int(room_id): int(version) for room_id, version in rows}


# -- questions and their groups ----------------------------------------------------------
def groups_of(session: Session, room_id: int, item_key: str) -> list[Group]:
    rows = session.scalars(
        select(LiveQuestionGroup)
        .where(LiveQuestionGroup.room_id == room_id, LiveQuestionGroup.item_key == item_key)
        .order_by(LiveQuestionGroup.id)
    )
    return [Group(r.id, r.item_key, r.label, r.topic, list(r.centroid), r.questions) for r in rows]


def create_group(
    session: Session,
    room_id: int,
    item_key: str,
    label: str,
    centroid: Sequence[float],
    topic: str | None = None,
) -> int:
    row = LiveQuestionGroup(
        room_id=room_id,
        item_key=item_key,
        label=label[:500],
        topic=topic,
        centroid=[round(float(x), 6) for x in centroid],
        questions=0,
    )
    session.add(row)
    session.flush()
    return row.id


def move_centroid(session: Session, group_id: int, centroid: Sequence[float]) -> None:
    """Set the group's mean vector (it took in a new question)."""
    session.execute(
        update(LiveQuestionGroup)
        .where(LiveQuestionGroup.id == group_id)
        .values(centroid=[round(float(x), 6) for x in centroid])
    )


def record_question(
    session: Session,
    *,
    room_id: int,
    viewer: str,
    question: str,
    item_key: str,
    answer: str | None,
    abstained: bool,
    answered_by: str,
    evidence: Sequence[dict[str, Any]] = (),
    group_id: int | None = None,
) -> int:
    """Log one question with its answer and count it in its group; returns its id."""
    row = LiveQuestion(
        room_id=room_id,
        viewer=viewer,
        question=question,
        item_key=item_key,
        answer=answer,
        abstained=abstained,
        answered_by=answered_by,
        evidence=list(evidence),
        group_id=group_id,
    )
    session.add(row)
    if group_id is not None:
        session.execute(
            update(LiveQuestionGroup)
            .where(LiveQuestionGroup.id == group_id)
            .values(questions=LiveQuestionGroup.questions + 1, last_at=utcnow())
        )
    session.flush()
    return row.id


def questions_of(session: Session, room_id: int, *, limit: int = 200) -> list[LiveQuestion]:
    """The newest questions of the room (rows; read them inside the session)."""
    return list(
        session.scalars(
            select(LiveQuestion)
            .where(LiveQuestion.room_id == room_id)
            .order_by(LiveQuestion.id.desc())
            .limit(limit)
        )
    )


# -- pinned answers ----------------------------------------------------------------------
def pin_answer(
    session: Session, room_id: int, group_id: int, *, actor: str, text: str | None = None
) -> Pin:
    """Pin the last answer the group got, or ``text`` the host wrote, as the group's answer
    for its item in this room (replacing an earlier pin)."""
    row = _room_row(session, room_id, lock=True)
    _not_ended(row, "pinning answers")
    group = session.get(LiveQuestionGroup, group_id)
    if group is None or group.room_id != room_id:
        raise NotFoundError(f"no question group {group_id} in live room {room_id}")
    evidence: list[dict[str, Any]] = []
    if text is None:
        last = session.scalar(
            select(LiveQuestion)
            .where(LiveQuestion.group_id == group_id, LiveQuestion.answer.is_not(None))
            .order_by(LiveQuestion.id.desc())
            .limit(1)
        )
        if last is None or last.answer is None:
            raise InputError(f"question group {group_id} has no answer to pin yet; write one")
        text, evidence = last.answer, list(last.evidence or [])
    text = text.strip()
    if not text:
        raise InputError("the pinned answer is empty")
    pin = session.scalar(
        select(LivePinnedAnswer).where(
            LivePinnedAnswer.room_id == room_id, LivePinnedAnswer.group_id == group_id
        )
    )
    if pin is None:
        pin = LivePinnedAnswer(room_id=room_id, item_key=group.item_key, group_id=group_id)
        session.add(pin)
    pin.text = text
    pin.written = not evidence
    pin.evidence = evidence
    pin.author = actor
    pin.created_at = utcnow()
    _changed(row, pins=True)
    session.flush()
    record_audit(session, actor, "pin_answer", TARGET, str(room_id),
                 {"group": group_id, "item": group.item_key, "text": text,
                  "written": pin.written})  # fmt: skip
    return Pin.of(pin, group.label)


def unpin_answer(session: Session, room_id: int, group_id: int, *, actor: str) -> None:
    row = _room_row(session, room_id, lock=True)
    found = session.execute(
        delete(LivePinnedAnswer).where(
            LivePinnedAnswer.room_id == room_id, LivePinnedAnswer.group_id == group_id
        )
    )
    if not getattr(found, "rowcount", 0):
        raise NotFoundError(f"no pinned answer for question group {group_id} in room {room_id}")
    _changed(row, pins=True)
    record_audit(session, actor, "unpin_answer", TARGET, str(room_id), {"group": group_id})


def pins_of(session: Session, room_id: int, item_key: str | None = None) -> list[Pin]:
    """The room's pinned answers (for one item when given), newest first."""
    query = (
        select(LivePinnedAnswer, LiveQuestionGroup.label)
        .join(LiveQuestionGroup, LiveQuestionGroup.id == LivePinnedAnswer.group_id)
        .where(LivePinnedAnswer.room_id == room_id)
        .order_by(LivePinnedAnswer.created_at.desc(), LivePinnedAnswer.id.desc())
    )
    if item_key is not None:
        query = query.where(LivePinnedAnswer.item_key == item_key)
    return [Pin.of(row, label) for row, label in session.execute(query)]


# -- what the host sees --------------------------------------------------------------------
def record_viewers(session: Session, server: str, counts: dict[int, int]) -> None:
    """Write how many viewers the push server ``server`` holds per room (its rooms only)."""
    now = utcnow()
    session.execute(delete(LiveRoomViewers).where(LiveRoomViewers.server == server))
    if counts:
        existing = set(versions(session, counts))
        for room_id, viewers in counts.items():
            if room_id in existing:
                session.add(
                    LiveRoomViewers(room_id=room_id, server=server, viewers=viewers, seen_at=now)
                )
    session.flush()


def room_stats(session: Session, room_id: int, *, item_key: str | None = None) -> RoomStats:
    """Viewers now, questions asked, questions in the last minute, and the question groups
    (of one item when given) with their counts, last answer and pin, most asked first."""
    _room_row(session, room_id)
    now = utcnow()
    fresh = now - timedelta(seconds=VIEWERS_FRESH_S)
    viewers = session.scalar(
        select(func.coalesce(func.sum(LiveRoomViewers.viewers), 0)).where(
            LiveRoomViewers.room_id == room_id, LiveRoomViewers.seen_at >= fresh
        )
    )
    total = session.scalar(
        select(func.count()).select_from(LiveQuestion).where(LiveQuestion.room_id == room_id)
    )
    last_minute = session.scalar(
        select(func.count())
        .select_from(LiveQuestion)
        .where(
            LiveQuestion.room_id == room_id,
            LiveQuestion.created_at >= now - timedelta(minutes=1),
        )
    )
    query = select(LiveQuestionGroup).where(LiveQuestionGroup.room_id == room_id)
    if item_key is not None:
        query = query.where(LiveQuestionGroup.item_key == item_key)
    query = query.order_by(LiveQuestionGroup.questions.desc(), LiveQuestionGroup.id).limit(200)
    groups = list(session.scalars(query))
    pins = {p.group_id: p for p in pins_of(session, room_id, item_key)}
    newest = (
        select(func.max(LiveQuestion.id))
        .where(LiveQuestion.group_id.in_([g.id for g in groups]))
        .group_by(LiveQuestion.group_id)
    )
    last = {
        q.group_id: q
        for q in session.scalars(select(LiveQuestion).where(LiveQuestion.id.in_(newest)))
    }  # the newest question of each group, in one query
    summaries = []
    for group in groups:
        asked = last.get(group.id)
        summaries.append(
            GroupSummary(
                id=group.id,
                item_key=group.item_key,
                label=group.label,
                topic=group.topic,
                questions=group.questions,
                last_question=asked.question if asked is not None else group.label,
                answer=asked.answer if asked is not None else None,
                abstained=asked.abstained if asked is not None else False,
                answered_by=asked.answered_by if asked is not None else "",
                evidence=list(asked.evidence or []) if asked is not None else [],
                last_at=as_utc(group.last_at),
                pin=pins.get(group.id),
            )
        )
    return RoomStats(int(viewers or 0), int(total or 0), int(last_minute or 0), summaries)
