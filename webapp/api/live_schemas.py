"""Request and response models of the live rooms' endpoints (see :mod:`webapp.api.rooms`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from webapp.api.schemas import Body, EvidenceOut, HitOut, NodeKey, Out, Query, UtcDatetime

RoomStateName = Literal["scheduled", "live", "ended"]
ItemList = Annotated[list[NodeKey], Field(max_length=500)]
ViewerToken = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class CreateRoomBody(Body):
    title: str = Field(min_length=1, max_length=200)
    items: ItemList = Field([], description="item keys of the KG, in the order presented")
    host: str | None = Field(
        None, max_length=80, description="the admin who hosts it; default: whoever asks"
    )


class RoomItemsBody(Body):
    items: ItemList


class GoLiveBody(Body):
    item: NodeKey | None = Field(None, description="the item to start with; default: the first")


class SwitchBody(Body):
    item: NodeKey


class PinBody(Body):
    group_id: int = Field(ge=1)
    text: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="the host's own answer; leave out to pin the answer the group got",
    )


class RoomsQuery(Query):
    state: RoomStateName | None = None
    limit: int = Field(50, ge=1, le=200)


class RoomItemOut(Out):
    key: str
    title: str
    price: float | None = None
    currency: str | None = None
    image_url: str | None = None


class PinOut(Out):
    group_id: int
    item_key: str
    question: str = Field(description="the first question of the group")
    text: str
    written: bool = Field(description="true: the host wrote it; false: the assistant's, pinned")
    evidence: list[EvidenceOut] = Field(default_factory=list)
    author: str


class RoomOut(Out):
    id: int
    title: str
    host: str
    state: RoomStateName
    current_item: str | None
    items: list[str]
    version: int = Field(description="goes up with every change viewers see")
    pin_version: int
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    ended_at: UtcDatetime | None


class RoomListOut(Out):
    rooms: list[RoomOut]


class GroupOut(Out):
    id: int
    item_key: str
    label: str = Field(description="the first question asked in the group")
    topic: str | None = Field(description="the item's fact the questions are about, if any")
    questions: int
    last_question: str
    answer: str | None
    abstained: bool
    answered_by: str
    evidence: list[EvidenceOut] = Field(default_factory=list)
    last_at: UtcDatetime
    pin: PinOut | None = None


class RoomConsoleOut(Out):
    room: RoomOut
    viewers: int = Field(description="viewers connected to the push servers now")
    questions: int
    questions_per_minute: int
    groups: list[GroupOut] = Field(description="question groups, most asked first")


class QuestionOut(Out):
    id: int
    viewer: str
    question: str
    item_key: str
    answer: str | None
    abstained: bool
    answered_by: str
    group_id: int | None
    created_at: UtcDatetime


class QuestionLogOut(Out):
    questions: list[QuestionOut]


class PublicRoomOut(Out):
    id: int
    title: str
    state: RoomStateName
    current_item: str | None
    items: list[RoomItemOut]
    version: int
    pins: list[PinOut] = Field(description="the host's answers about the item on stream")
    events_url: str = Field(description="server-sent events of this room (switches, pins)")


class AskRoomBody(Body):
    question: str = Field(min_length=1, max_length=500)
    viewer: ViewerToken | None = Field(
        None, description="the page's anonymous viewer token (rate limits count per viewer)"
    )
    item: NodeKey | None = Field(None, description="default: the item on stream")


class RoomAnswerOut(Out):
    question_id: int
    item_key: str
    question: str
    text: str
    abstained: bool
    confidence: float
    answered_by: Literal["assistant", "pinned"]
    group_id: int | None
    evidence: list[EvidenceOut] = Field(default_factory=list)


class RoomSearchQuery(Query):
    q: str = Field(min_length=1, max_length=300)
    scope: Literal["room", "shop"] = "room"
    limit: int = Field(10, ge=1, le=50)


class RoomSearchOut(Out):
    query: str
    scope: Literal["room", "shop"]
    hits: list[HitOut]
