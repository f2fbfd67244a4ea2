"""Live rooms over the API: the host's operations under ``/api/v1/admin/rooms`` (bearer token
or session with CSRF; each change audit-logged) and the viewers' under ``/api/v1/rooms``
(the room, questions about the item on stream, search in the room or the shop)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import request

from assistant.api import to_dict
from foundation.db import rooms
from foundation.errors import NotFoundError, ShopKGError
from kg import NodeRef
from webapp.api import api, api_admin, registry
from webapp.api.convert import hit_out, image_url
from webapp.api.live_schemas import (
    AskRoomBody,
    CreateRoomBody,
    GoLiveBody,
    GroupOut,
    PinBody,
    PinOut,
    PublicRoomOut,
    QuestionLogOut,
    QuestionOut,
    RoomAnswerOut,
    RoomConsoleOut,
    RoomItemOut,
    RoomItemsBody,
    RoomListOut,
    RoomOut,
    RoomSearchOut,
    RoomSearchQuery,
    RoomsQuery,
    SwitchBody,
)
from webapp.api.schemas import EvidenceOut, PageQuery
from webapp.errors import ValidationFailed
from webapp.security import push_base
from webapp.services import services

ROOM_SEARCH_DEPTH = 100  # hits of the shop searched for those in the room


def room_id_of(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFoundError(f"no live room {raw!r}")
    return int(raw)


def room_out(room: rooms.Room) -> RoomOut:
    return RoomOut.model_validate({**room.__dict__, "items": list(room.items)})


def pin_out(pin: rooms.Pin) -> PinOut:
    return PinOut(
        group_id=pin.group_id,
        item_key=pin.item_key,
        question=pin.question,
        text=pin.text,
        written=pin.written,
        evidence=[EvidenceOut.model_validate(e) for e in pin.evidence],
        author=pin.author,
    )


def _checked_items(keys: list[str]) -> list[str]:
    """The keys, when every one names an item of the KG; else a 422 naming those that do not."""
    store = services().store
    unknown = [
        (i, key) for i, key in enumerate(keys) if store.get_node(NodeRef("Item", key)) is None
    ]
    if unknown:
        names = ", ".join(repr(k) for _, k in unknown[:10])
        raise ValidationFailed(
            f"no such item in the catalog: {names}",
            details=[
                {"loc": ["body", "items", str(i)], "msg": f"no item {k!r}", "type": "unknown_item"}
                for i, k in unknown
            ],
        )
    return keys


def _prepare(item: str | None) -> None:
    """Start encoding the evidence of the item just put on stream, so that the audience's
    first questions about it cost what later ones do (the assistant does it in the
    background; an assistant that cannot is left alone)."""
    if item is None:
        return
    try:
        prepare = getattr(services().assistant, "prepare_answers", None)
    except ShopKGError:  # the assistant is not up: questions will wait for it anyway
        return
    if prepare is not None:
        prepare(item)


# -- the host ---------------------------------------------------------------------------
@registry.route(
    api_admin, "/rooms", "POST", summary="Create a live room", tag="live rooms",
    response=RoomOut, body=CreateRoomBody, admin=True, status=201,
)  # fmt: skip
def create_room(actor: str, body: CreateRoomBody) -> RoomOut:
    items = _checked_items(list(body.items))
    with services().database.session() as db:
        room = rooms.create_room(db, body.title, body.host or actor, items, actor=actor)
    return room_out(room)


@registry.route(
    api_admin, "/rooms", "GET", summary="Live rooms, newest first", tag="live rooms",
    response=RoomListOut, query=RoomsQuery, admin=True,
)  # fmt: skip
def list_rooms(actor: str, query: RoomsQuery) -> RoomListOut:
    with services().database.session() as db:
        found = rooms.list_rooms(db, state=query.state, limit=query.limit)
    return RoomListOut(rooms=[room_out(r) for r in found])


@registry.route(
    api_admin, "/rooms/<room_id>", "GET", summary="A room as its host console shows it",
    tag="live rooms", response=RoomConsoleOut, admin=True, errors=(404,),
)  # fmt: skip
def room_console(actor: str, room_id: str) -> RoomConsoleOut:
    """The room, live counts and the question groups about the item on stream."""
    with services().database.session() as db:
        room = rooms.get_room(db, room_id_of(room_id))
        stats = rooms.room_stats(db, room.id, item_key=room.current_item)
    groups = [
        GroupOut.model_validate(
            {**g.__dict__, "pin": pin_out(g.pin) if g.pin is not None else None}
        )
        for g in stats.groups
    ]
    return RoomConsoleOut(
        room=room_out(room),
        viewers=stats.viewers,
        questions=stats.questions,
        questions_per_minute=stats.questions_per_minute,
        groups=groups,
    )


@registry.route(
    api_admin, "/rooms/<room_id>/items", "PUT", summary="Set a room's items, in order",
    tag="live rooms", response=RoomOut, body=RoomItemsBody, admin=True, errors=(404, 409),
)  # fmt: skip
def set_room_items(actor: str, room_id: str, body: RoomItemsBody) -> RoomOut:
    number = room_id_of(room_id)
    items = _checked_items(list(body.items))
    with services().database.session() as db:
        return room_out(rooms.set_items(db, number, items, actor=actor))


@registry.route(
    api_admin, "/rooms/<room_id>/live", "POST", summary="Go live", tag="live rooms",
    response=RoomOut, body=GoLiveBody, admin=True, errors=(404, 409),
)  # fmt: skip
def go_live(actor: str, room_id: str, body: GoLiveBody) -> RoomOut:
    with services().database.session() as db:
        room = rooms.go_live(db, room_id_of(room_id), actor=actor, item=body.item)
    _prepare(room.current_item)
    return room_out(room)


@registry.route(
    api_admin, "/rooms/<room_id>/switch", "POST", summary="Put another item on stream",
    tag="live rooms", response=RoomOut, body=SwitchBody, admin=True, errors=(404, 409),
)  # fmt: skip
def switch_item(actor: str, room_id: str, body: SwitchBody) -> RoomOut:
    with services().database.session() as db:
        room = rooms.switch_item(db, room_id_of(room_id), body.item, actor=actor)
    _prepare(room.current_item)
    return room_out(room)


@registry.route(
    api_admin, "/rooms/<room_id>/end", "POST", summary="End a room", tag="live rooms",
    response=RoomOut, admin=True, errors=(404, 409),
)  # fmt: skip
def end_room(actor: str, room_id: str) -> RoomOut:
    with services().database.session() as db:
        return room_out(rooms.end_room(db, room_id_of(room_id), actor=actor))


@registry.route(
    api_admin, "/rooms/<room_id>/pins", "POST",
    summary="Pin a question group's answer, or write a better one", tag="live rooms",
    response=PinOut, body=PinBody, admin=True, errors=(404, 409),
)  # fmt: skip
def pin_answer(actor: str, room_id: str, body: PinBody) -> PinOut:
    """Viewers asking that group's question about that item get this answer from now on."""
    with services().database.session() as db:
        pin = rooms.pin_answer(db, room_id_of(room_id), body.group_id, actor=actor, text=body.text)
    return pin_out(pin)


@registry.route(
    api_admin, "/rooms/<room_id>/pins/<group_id>", "DELETE", summary="Unpin a group's answer",
    tag="live rooms", response=RoomOut, admin=True, errors=(404,),
)  # fmt: skip
def unpin_answer(actor: str, room_id: str, group_id: str) -> RoomOut:
    number = room_id_of(room_id)
    if not (group_id.isascii() and group_id.isdigit()) or len(group_id) > 12:
        raise NotFoundError(f"no question group {group_id!r}")
    with services().database.session() as db:
        rooms.unpin_answer(db, number, int(group_id), actor=actor)
        return room_out(rooms.get_room(db, number))


@registry.route(
    api_admin, "/rooms/<room_id>/questions", "GET", summary="A room's question log, newest first",
    tag="live rooms", response=QuestionLogOut, query=PageQuery, admin=True, errors=(404,),
)  # fmt: skip
def question_log(actor: str, room_id: str, query: PageQuery) -> QuestionLogOut:
    with services().database.session() as db:
        number = rooms.get_room(db, room_id_of(room_id)).id
        found = [
            QuestionOut.model_validate(row, from_attributes=True)
            for row in rooms.questions_of(db, number, limit=query.limit)
        ]
    return QuestionLogOut(questions=found)


# -- the viewers ------------------------------------------------------------------------
def _item_out(key: str) -> RoomItemOut:
    card = services().assistant.item(key)
    if card is None:  # deleted from the catalog since it was put in the room
        return RoomItemOut(key=key, title=key)
    first = card.images[0] if card.images else None
    return RoomItemOut(
        key=key, title=card.title, price=card.price, currency=card.currency,
        image_url=image_url(first),
    )  # fmt: skip


@registry.route(
    api, "/rooms/<room_id>", "GET", summary="A live room: its items, the item on stream, pins",
    tag="live rooms", response=PublicRoomOut, errors=(404, 503),
)  # fmt: skip
def live_room(room_id: str) -> PublicRoomOut:
    with services().database.session() as db:
        found = rooms.get_room(db, room_id_of(room_id))
        pins = rooms.pins_of(db, found.id, found.current_item) if found.current_item else []
    return PublicRoomOut(
        id=found.id,
        title=found.title,
        state=found.state,
        current_item=found.current_item,
        items=[_item_out(k) for k in found.items],
        version=found.version,
        pins=[pin_out(p) for p in pins],
        events_url=f"{push_base()}/rooms/{found.id}/events",
    )


def viewer_of(body: dict[str, Any] | None) -> str:
    """Who asks: the page's viewer token, else a digest of the client address."""
    token = (body or {}).get("viewer")
    if (
        isinstance(token, str)
        and 8 <= len(token) <= 64
        and token.replace("-", "").replace("_", "").isalnum()
    ):
        return token
    address = request.remote_addr or "unknown"
    return "addr-" + hashlib.sha256(address.encode()).hexdigest()[:16]


def viewer_limit_key() -> str:
    """The rate-limit bucket of a question: one per room and viewer."""
    body = request.get_json(silent=True) if request.is_json else None
    room_part = (request.view_args or {}).get("room_id", "")
    return f"live-question:{room_part}:{viewer_of(body if isinstance(body, dict) else None)}"


@registry.route(
    api, "/rooms/<room_id>/ask", "POST", summary="Ask about the item on stream",
    tag="live rooms", response=RoomAnswerOut, body=AskRoomBody, errors=(404, 409, 503),
)  # fmt: skip
def room_ask(room_id: str, body: AskRoomBody) -> RoomAnswerOut:
    """Answered by the host's pinned answer for the question's group when there is one, else
    by the assistant with its evidence (or abstaining); logged either way."""
    found = services().live.ask(
        services().assistant,
        room_id_of(room_id),
        viewer_of(body.model_dump()),
        body.question,
        facts_version=services().facts_version(),
        item=body.item,
    )
    return RoomAnswerOut(
        question_id=found.question_id,
        item_key=found.item_key,
        question=found.question,
        text=found.text,
        abstained=found.abstained,
        confidence=found.confidence,
        answered_by=found.answered_by,
        group_id=found.group_id,
        evidence=[EvidenceOut.model_validate(to_dict(e)) for e in found.evidence],
    )


@registry.route(
    api, "/rooms/<room_id>/search", "GET", summary="Search the room's items or the whole shop",
    tag="live rooms", response=RoomSearchOut, query=RoomSearchQuery, errors=(404, 503),
)  # fmt: skip
def room_search(room_id: str, query: RoomSearchQuery) -> RoomSearchOut:
    with services().database.session() as db:
        found = rooms.get_room(db, room_id_of(room_id))
    assistant = services().assistant
    if query.scope == "shop":
        hits = assistant.search(query.q, limit=query.limit).hits
    else:
        in_room = set(found.items)
        hits = [
            h for h in assistant.search(query.q, limit=ROOM_SEARCH_DEPTH).hits if h.key in in_room
        ][: query.limit]
    return RoomSearchOut(query=query.q, scope=query.scope, hits=[hit_out(h) for h in hits])
