"""Conversation: intents, per-session context and references across turns.

A session remembers the last query, the results shown and the item on display, so a shopper
can say "cheaper", "in red", "for kids" (refine), "show me the second one" (exhibit), ask
about the item on display, "compare 1 and 2", or "why this one?" (reasons from KG paths).
Sessions hold no secrets. Where they live is a small seam (:class:`Sessions`): in this
process's memory with a cap (:class:`MemorySessions`, the default), or in the metadata DB
(:class:`DatabaseSessions`, what the web app uses), so that with several server processes
any of them continues any conversation; either way one idle for :data:`IDLE_SECONDS` is over.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from assistant.api import AssistantAPI, Hit, SearchResult, Turn

if TYPE_CHECKING:
    from foundation.db import Database

MAX_SESSIONS = 10_000  # in one process's memory
IDLE_SECONDS = 3600
PURGE_EVERY_S = 300.0  # how often a process deletes the DB's idle sessions, at most
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "last": -1,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
}
_EXHIBIT = re.compile(
    r"\b(?:show|open|see|view|exhibit|look at|details? (?:of|for))\b.*?\b(?:the\s+)?"
    r"(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|\d+)\b"
)
_NUMBER_ONLY = re.compile(r"^\s*(?:#|no\.?|number)?\s*(\d+)\s*$")
# "what about the second one?", "the last one", "and the 3rd?"
_ORDINAL_ONE = re.compile(
    r"\b(?:the\s+)?(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)"
    r"(?:\s+(?:one|item|product))?\s*\??\s*$"
)
_DEICTIC = re.compile(r"\b(?:that|this|it)\s+one\b|^\s*(?:that|this) one\s*\??\s*$")
_FIRST_N = re.compile(r"\bcompare\b.*\b(?:the\s+)?(?:first|top)\s+(two|three|2|3)\b")
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|greetings)\b[\s!.,]*"
    r"(?:there)?[\s!.]*$"
)
_THANKS = re.compile(
    r"^\s*(?:thanks?|thank you|thx|cheers|bye|goodbye|see you)\b.*$|^\s*ok(?:ay)?,? bye\b"
    r"|^.*\b(?:thanks|thank you|bye|goodbye|see you)\b[\s!.]*$"  # "that one is fine, bye"
)
# what names a kind of product: a query naming one of these starts a new topic
TOPIC_LABELS = ("Category", "Concept")
_COMPARE = re.compile(r"\bcompare\b.*?(\d+|first|second|third).*?(\d+|first|second|third)")
_WHY = re.compile(r"^\s*why\b")
_REFINE = re.compile(
    r"^\s*(?:(?:something|anything|one|ones|show me)\s+)?(cheaper|less expensive|"
    r"(?:in|under|below|over|for|with|without|not|but|and)\b.*)$"
)
_QUESTION = re.compile(
    r"\?\s*$|^\s*(?:is|are|does|do|can|will|how|what|which|who|where|when|would|should)\b"
)


@dataclass
class Session:
    """What a conversation remembers between turns."""

    query: str = ""
    hits: list[Hit] = field(default_factory=list)
    current: str | None = None  # key of the item on display
    kinds: set[str] = field(default_factory=set)  # kinds of product the query names
    seen: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form; :meth:`from_json` reads it back."""
        return {
            "query": self.query,
            "hits": [asdict(hit) for hit in self.hits],
            "current": self.current,
            "kinds": sorted(self.kinds),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(
            query=str(data.get("query") or ""),
            hits=[Hit(**hit) for hit in data.get("hits") or ()],
            current=data.get("current"),
            kinds=set(data.get("kinds") or ()),
        )


class Sessions(Protocol):
    """Where conversations live between turns."""

    def load(self, session_id: str) -> Session:
        """The conversation's session; a new one when there is none or it was idle too long."""
        ...

    def save(self, session_id: str, session: Session) -> None:
        """Keep ``session`` (changed by a turn) for the conversation's next turn."""
        ...


class MemorySessions:
    """Sessions in this process's memory: at most :data:`MAX_SESSIONS`, the idle ones
    dropped. Another process does not see them."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, session_id: str) -> Session:
        with self._lock:
            now = time.monotonic()
            while self._sessions:
                oldest_id, oldest = next(iter(self._sessions.items()))
                if len(self._sessions) < MAX_SESSIONS and now - oldest.seen < IDLE_SECONDS:
                    break
                del self._sessions[oldest_id]
            session = self._sessions.pop(session_id, None) or Session()
            session.seen = now
            self._sessions[session_id] = session
            return session

    def save(self, session_id: str, session: Session) -> None:
        with self._lock:
            self._sessions[session_id] = session
            self._sessions.move_to_end(session_id)


class DatabaseSessions:
    """Sessions in the metadata DB (:mod:`foundation.db.dialogs`): every server process
    sharing the database continues every conversation. Each process deletes the idle ones
    now and then (every :data:`PURGE_EVERY_S` at most, with a save)."""

    def __init__(self, database: Database, idle_seconds: float = IDLE_SECONDS) -> None:
        self.database = database
        self.idle = timedelta(seconds=idle_seconds)
        self._purged_at = time.monotonic()

    def load(self, session_id: str) -> Session:
        from foundation.db import dialogs

        with self.database.session() as db:
            state = dialogs.load_dialog(db, session_id, self.idle)
        return Session.from_json(state) if state is not None else Session()

    def save(self, session_id: str, session: Session) -> None:
        from foundation.db import dialogs

        now = time.monotonic()
        purge = now - self._purged_at >= PURGE_EVERY_S
        with self.database.session() as db:
            dialogs.save_dialog(db, session_id, session.to_json())
            if purge:
                self._purged_at = now
                dialogs.purge_dialogs(db, self.idle)


class Dialog:
    def __init__(self, assistant: AssistantAPI, sessions: Sessions | None = None) -> None:
        self.assistant = assistant
        self.sessions: Sessions = sessions if sessions is not None else MemorySessions()

    def session(self, session_id: str) -> Session:
        """The conversation's session as its next turn finds it."""
        return self.sessions.load(session_id)

    def turn(self, session_id: str, text: str) -> Turn:
        """Answer one message of conversation ``session_id``, and remember what it changed."""
        session = self.sessions.load(session_id)
        turn = self._reply(session_id, session, text)
        self.sessions.save(session_id, session)
        return turn

    def _reply(self, session_id: str, session: Session, text: str) -> Turn:
        message = " ".join(text.strip().split())
        lowered = message.lower()
        if not message:
            return Turn(
                session_id,
                "help",
                "Tell me what you are looking for, e.g. “waterproof boots under $80”.",
            )
        if _GREETING.match(lowered):
            return Turn(
                session_id,
                "chat",
                "Hello! What are you looking for? You can say what it is for, a colour or a "
                "budget, e.g. “a rain jacket for hiking under $100”.",
            )
        if _THANKS.match(lowered):
            return Turn(session_id, "chat", "You're welcome. Happy shopping!")
        if (match := _FIRST_N.search(lowered)) and session.hits:
            count = {"two": 2, "three": 3}.get(match.group(1)) or int(match.group(1))
            return self._compare(session_id, session, *[str(i) for i in range(1, count + 1)])
        if (match := _COMPARE.search(lowered)) and session.hits:
            return self._compare(session_id, session, match.group(1), match.group(2))
        if _DEICTIC.search(lowered) and session.current and not _QUESTION.search(lowered):
            card = self.assistant.item(session.current)
            return Turn(session_id, "exhibit", "Here it is again.", card=card)
        position = _position(lowered)
        if position is not None and session.hits:
            return self._exhibit(session_id, session, position)
        if _WHY.match(lowered) and session.current:
            return self._why(session_id, session)
        if session.current and _QUESTION.search(lowered) and not lowered.startswith("which"):
            answer = self.assistant.ask(session.current, message)
            card = self.assistant.item(session.current)
            return Turn(session_id, "ask", answer.text, card=card, answer=answer)
        if session.query and (refinement := self._refinement(lowered, session)) is not None:
            return self._search(session_id, session, f"{session.query} {refinement}", "refine")
        return self._search(session_id, session, message, "search")

    def _refinement(self, text: str, session: Session) -> str | None:
        """What ``text`` adds to the session's search when it narrows it, else None (a new
        search). It narrows when it names no kind of product the session's query does not
        (a category or concept of the KG, and not also a value, a POI, a crowd …: "blue"
        may be a concept too; "for my mum who loves tea" is a new topic) and either states
        a constraint the KG reads ("waterproof ones", "organic", "w/o ankle support", "less
        than $20") or opens like one ("in …", "for …", "not …"). "cheaper" is priced from
        the list on show."""
        match = _REFINE.match(text)
        if match and match.group(1) in ("cheaper", "less expensive"):
            return _cheaper(session.hits)
        understood = self.assistant.search(text, limit=1).understanding
        kinds = _kinds(understood.entities)
        if kinds and not kinds & session.kinds:
            return None
        states = bool(understood.negations) or any(
            span.lower() not in kinds for span in understood.stated
        )
        if states:
            return text  # all of it: "anything but blue" needs its "anything"
        return match.group(1) if match else None

    def _search(self, session_id: str, session: Session, query: str, intent: str) -> Turn:
        result = self.assistant.search(query, limit=8)
        session.query, session.hits, session.current = query, result.hits, None
        session.kinds = _kinds(result.understanding.entities)
        if not result.hits:
            return Turn(session_id, intent, f"I found nothing for “{query}”.")
        return Turn(session_id, intent, _found(result), hits=result.hits)

    def _exhibit(self, session_id: str, session: Session, position: int) -> Turn:
        index = position - 1 if position > 0 else len(session.hits) + position
        if not 0 <= index < len(session.hits):
            return Turn(session_id, "exhibit", f"There is no item {position} in the list.")
        hit = session.hits[index]
        session.current = hit.key
        card = self.assistant.item(hit.key)
        return Turn(session_id, "exhibit", f"Here is {hit.title}.", card=card, reasons=hit.reasons)

    def _why(self, session_id: str, session: Session) -> Turn:
        hit = next((h for h in session.hits if h.key == session.current), None)
        reasons = hit.reasons if hit else []
        if not reasons:
            return Turn(
                session_id,
                "why",
                "It matched the words of your search.",
                reasons=["matched your words"],
            )
        return Turn(session_id, "why", "Because it " + "; ".join(reasons) + ".", reasons=reasons)

    def _compare(self, session_id: str, session: Session, *words: str) -> Turn:
        keys = []
        for word in words:
            position = ORDINALS.get(word) or int(word)
            if not 1 <= position <= len(session.hits):
                return Turn(session_id, "compare", f"There is no item {word} in the list.")
            keys.append(session.hits[position - 1].key)
        cards = [self.assistant.item(key) for key in keys]
        lines = []
        for card in cards:
            if card is None:
                continue
            price = f"{card.price:.2f} {card.currency}" if card.price is not None else "no price"
            values = ", ".join(f"{k}: {'/'.join(v)}" for k, v in list(card.attributes.items())[:4])
            lines.append(f"{card.title} — {price}; {values}")
        return Turn(session_id, "compare", "\n".join(lines), card=cards[0], compared=cards)


def _kinds(entities: list[dict[str, str]]) -> set[str]:
    """The spans that name only kinds of product (categories, concepts)."""
    labels: dict[str, set[str]] = {}
    for entity in entities:
        labels.setdefault(entity.get("span", entity["name"]).lower(), set()).add(entity["label"])
    return {span for span, found in labels.items() if found <= set(TOPIC_LABELS)}


def _position(text: str) -> int | None:
    if match := _EXHIBIT.search(text):
        word = match.group(1)
        return ORDINALS.get(word) or int(word)
    if match := _NUMBER_ONLY.match(text):
        return int(match.group(1))
    if match := _ORDINAL_ONE.search(text):
        return ORDINALS[match.group(1)]
    return None


def _cheaper(hits: list[Hit]) -> str:
    prices = sorted(h.price for h in hits if h.price is not None)
    if not prices:
        return ""
    return f"under {prices[len(prices) // 2]:.2f}"


def _found(result: SearchResult) -> str:
    """What a search found, as the page says it: how many items meet everything the query
    states (so a refinement never reads as more), or that none does and what the closest
    miss, or that nothing matches well."""
    query = result.query
    if result.weak:
        return f"Nothing in the shop matches “{query}” well; the nearest guesses:"
    if result.match == "relaxed" and result.relaxed:
        return f"No exact match for “{query}”; the closest (not {', not '.join(result.relaxed)}):"
    count = result.exact_total
    return f"{count} item{'' if count == 1 else 's'} for “{query}”."
