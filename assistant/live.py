"""Live rooms on the assistant's side: viewers' questions about the item on stream, grouped by
meaning, answered once per burst, the host's pinned answers first.

Grouping (AliMe's "what the audience asks"): a question's MiniLM vector is compared with the
item's own facts on its card (its points of interest, attribute names and the problems they
solve, each problem standing for the point of interest nearest to it). A question close to
one of them is *about* that fact, whatever its words: "is it waterproof" and "does water get
in" (which matches the problem "getting wet", solved by "waterproof") land in one group.
Questions about no fact join the group whose mean vector is nearest, when near enough, or
start their own. Groups and their mean vectors live in the metadata DB, so every server
process groups alike.

Answers under a burst: the same folded question about the same item in the same room is
answered once (concurrent askers wait for the first) and then served from memory, keyed by
the room's pin version and the facts version the caller gives (the build being served and
the admin edits applied), so a new pin or new facts are never hidden by a remembered answer.
Every question is logged, whether answered from memory, from a pin or by the assistant, and a
question whose answering failed is logged before the error goes on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assistant.api import Answer, AssistantAPI, EvidenceRef, ItemCard
from assistant.cache import LRU
from foundation.db import Database, RoomState, rooms
from foundation.errors import InputError, RoomStateError

if TYPE_CHECKING:
    from encoders.base import TextEncoder

Vector = npt.NDArray[np.float32]
ANCHOR_MIN = 0.5  # a question this close to one of the item's facts is about that fact
PROBLEM_TO_POI_MIN = 0.3  # a problem stands for its nearest point of interest from here
GROUP_MIN = 0.72  # a question about no fact joins the nearest group from here
ANSWERS_KEPT = 4_096
ANCHORS_KEPT = 512
MAX_QUESTION = 500
_PUNCTUATION = re.compile(r"[^\w\s]+")


def normalize_question(text: str) -> str:
    """The form two askings of one question share: case, spacing and punctuation folded."""
    return " ".join(_PUNCTUATION.sub(" ", text).split()).casefold()


@dataclass(frozen=True)
class LiveAnswer:
    """What a viewer gets back, and what the question log recorded."""

    question_id: int
    room_id: int
    item_key: str
    question: str
    text: str
    abstained: bool
    confidence: float
    answered_by: str  # "assistant" or "pinned"
    group_id: int | None
    evidence: list[EvidenceRef] = field(default_factory=list)
    cached: bool = False


@dataclass(frozen=True)
class _Resolved:
    group_id: int
    answer: Answer
    answered_by: str


@dataclass(frozen=True)
class Anchor:
    text: str
    topic: str


def card_anchors(card: ItemCard | None) -> list[Anchor]:
    """The facts of an item a question can be about: its points of interest, the problems
    they solve and its attribute names."""
    if card is None:
        return []
    anchors = [Anchor(poi, f"poi:{poi}") for poi in card.pois]
    anchors += [Anchor(p, f"problem:{p}") for p in card.problems]
    anchors += [Anchor(name, f"attribute:{name}") for name in card.attributes]
    return anchors


class QuestionGrouper:
    """Puts questions about an item into groups by meaning with a sentence encoder."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self._anchors: LRU[tuple[str, str], tuple[list[str], Vector]] = LRU(ANCHORS_KEPT)

    def vectors(self, texts: list[str]) -> Vector:
        found: Vector = np.asarray(self.encoder.encode(texts).require_all(), dtype=np.float32)
        norms = np.linalg.norm(found, axis=1, keepdims=True)
        unit: Vector = found / np.maximum(norms, 1e-12)
        return unit

    def topics(self, card: ItemCard | None, facts_version: str) -> tuple[list[str], Vector]:
        """The item's anchor topics and their vectors (remembered per item and facts)."""
        key = (facts_version, card.key if card is not None else "")
        found = self._anchors.get(key)
        if found is not None:
            return found
        anchors = card_anchors(card)
        if not anchors:
            empty: tuple[list[str], Vector] = ([], np.zeros((0, 1), dtype=np.float32))
            self._anchors.put(key, empty)
            return empty
        vectors = self.vectors([a.text for a in anchors])
        topics = [a.topic for a in anchors]
        pois = [i for i, t in enumerate(topics) if t.startswith("poi:")]
        for i, topic in enumerate(topics):
            if topic.startswith("problem:") and pois:
                near = vectors[pois] @ vectors[i]
                if float(near.max()) >= PROBLEM_TO_POI_MIN:
                    topics[i] = topics[pois[int(near.argmax())]]
        self._anchors.put(key, (topics, vectors))
        return topics, vectors

    def topic_of(self, vector: Vector, topics: list[str], anchors: Vector) -> str | None:
        if not topics:
            return None
        scores = anchors @ vector
        best = int(scores.argmax())
        return topics[best] if float(scores[best]) >= ANCHOR_MIN else None

    @staticmethod
    def nearest(vector: Vector, groups: list[rooms.Group]) -> tuple[rooms.Group | None, float]:
        best, score = None, -1.0
        for group in groups:
            centroid = np.asarray(group.centroid, dtype=np.float32)
            if centroid.shape != vector.shape:
                continue
            similarity = float(centroid @ vector / max(float(np.linalg.norm(centroid)), 1e-12))
            if similarity > score:
                best, score = group, similarity
        return best, score


def _mean(centroid: list[float], count: int, vector: Vector) -> list[float]:
    merged = (np.asarray(centroid, dtype=np.float32) * count + vector) / (count + 1)
    return [float(x) for x in merged / max(float(np.linalg.norm(merged)), 1e-12)]


class LiveRooms:
    """Answers viewers' questions in live rooms over one metadata DB and one assistant."""

    def __init__(self, database: Database, grouper: QuestionGrouper) -> None:
        self.database = database
        self.grouper = grouper
        self.answers: LRU[tuple[Any, ...], _Resolved] = LRU(ANSWERS_KEPT)
        self._pending: dict[tuple[Any, ...], Future[_Resolved]] = {}
        self._pending_lock = threading.Lock()
        self._group_locks: dict[tuple[int, str], threading.Lock] = {}
        self.answered = 0  # answers computed (not remembered): what the cache saves

    def ask(
        self,
        assistant: AssistantAPI,
        room_id: int,
        viewer: str,
        question: str,
        *,
        facts_version: str,
        item: str | None = None,
    ) -> LiveAnswer:
        """Answer ``question`` about the item on stream (or ``item`` of the room's list) and
        log it. Raises RoomStateError when the room is not live, InputError on bad input."""
        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        if len(question) > MAX_QUESTION:
            raise InputError(f"a question has at most {MAX_QUESTION} characters")
        with self.database.session() as db:
            room = rooms.get_room(db, room_id)
        if room.state != RoomState.LIVE:
            doing = "has ended" if room.state == RoomState.ENDED else "is not live yet"
            raise RoomStateError(f"live room {room_id} {doing}; questions are not taken")
        item_key = item or room.current_item
        if item_key is None or item_key not in room.items:
            raise InputError(f"item {item_key!r} is not in room {room_id}'s list")
        key = (room_id, item_key, normalize_question(question), room.pin_version, facts_version)
        try:
            resolved, cached = self._resolve(key, assistant, room_id, item_key, question)
        except Exception:
            self._log_failed(room_id, viewer, question, item_key)
            raise
        with self.database.session() as db:
            question_id = rooms.record_question(
                db,
                room_id=room_id,
                viewer=viewer,
                question=question,
                item_key=item_key,
                answer=resolved.answer.text,
                abstained=resolved.answer.abstained,
                answered_by=resolved.answered_by,
                evidence=[asdict(e) for e in resolved.answer.evidence],
                group_id=resolved.group_id,
            )
        return LiveAnswer(
            question_id=question_id,
            room_id=room_id,
            item_key=item_key,
            question=question,
            text=resolved.answer.text,
            abstained=resolved.answer.abstained,
            confidence=resolved.answer.confidence,
            answered_by=resolved.answered_by,
            group_id=resolved.group_id,
            evidence=list(resolved.answer.evidence),
            cached=cached,
        )

    def _resolve(
        self, key: tuple[Any, ...], assistant: AssistantAPI, room_id: int, item: str, text: str
    ) -> tuple[_Resolved, bool]:
        """The remembered answer, or the one being computed for the same key, or a new one."""
        found = self.answers.get(key)
        if found is not None:
            return found, True
        with self._pending_lock:
            waiting = self._pending.get(key)
            if waiting is None:
                mine: Future[_Resolved] = Future()
                self._pending[key] = mine
        if waiting is not None:
            return waiting.result(), True
        try:
            resolved = self._answer(assistant, room_id, item, text, str(key[-1]))
        except BaseException as e:
            mine.set_exception(e)
            raise
        finally:
            with self._pending_lock:
                self._pending.pop(key, None)
        self.answers.put(key, resolved)
        mine.set_result(resolved)
        return resolved, False

    def _answer(
        self, assistant: AssistantAPI, room_id: int, item: str, text: str, facts_version: str
    ) -> _Resolved:
        group_id = self.group(assistant, room_id, item, text, facts_version)
        with self.database.session() as db:
            pin = next(
                (p for p in rooms.pins_of(db, room_id, item) if p.group_id == group_id), None
            )
        if pin is not None:
            evidence = [EvidenceRef(**e) for e in pin.evidence]
            return _Resolved(group_id, Answer(text, pin.text, 1.0, False, evidence), "pinned")
        self.answered += 1
        return _Resolved(group_id, assistant.ask(item, text), "assistant")

    def group(
        self, assistant: AssistantAPI, room_id: int, item: str, text: str, facts_version: str
    ) -> int:
        """The id of the group ``text`` belongs to among the room's questions about ``item``
        (made when none fits); its mean vector takes the question in."""
        vector = self.grouper.vectors([text])[0]
        topics, anchors = self.grouper.topics(assistant.item(item), facts_version)
        topic = self.grouper.topic_of(vector, topics, anchors)
        with self._group_lock(room_id, item), self.database.session() as db:
            groups = rooms.groups_of(db, room_id, item)
            chosen = next((g for g in groups if topic is not None and g.topic == topic), None)
            if chosen is None and topic is None:
                nearest, score = self.grouper.nearest(vector, groups)
                chosen = nearest if score >= GROUP_MIN else None
            if chosen is None:
                return rooms.create_group(db, room_id, item, text, vector.tolist(), topic)
            rooms.move_centroid(db, chosen.id, _mean(chosen.centroid, chosen.questions, vector))
            return chosen.id

    @contextmanager
    def _group_lock(self, room_id: int, item: str) -> Iterator[None]:
        with self._pending_lock:
            lock = self._group_locks.setdefault((room_id, item), threading.Lock())
        with lock:
            yield

    def _log_failed(self, room_id: int, viewer: str, question: str, item: str) -> None:
        with self.database.session() as db:
            rooms.record_question(
                db, room_id=room_id, viewer=viewer, question=question, item_key=item,
                answer=None, abstained=True, answered_by="failed",
            )  # fmt: skip


def question_grouper(settings: Any, assistant: AssistantAPI | None = None) -> QuestionGrouper:
    """A grouper over the assistant's own text encoder when it has one (no second copy of
    MiniLM in memory), else over the configured one, loaded from disk (never downloaded)."""
    searcher = getattr(assistant, "searcher", None)
    encoder = getattr(searcher, "text_encoder", None)
    if encoder is None:
        from encoders.factory import text_encoder

        encoder = text_encoder(settings)
    return QuestionGrouper(encoder)


__all__ = [
    "LiveAnswer",
    "LiveRooms",
    "QuestionGrouper",
    "normalize_question",
    "question_grouper",
]
