"""What the assistant offers the web app (and any other front end): plain data, one Protocol.

The web app depends only on :class:`AssistantAPI` and these dataclasses, never on how search
or question answering work inside; everything here is JSON-serializable via ``to_dict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from foundation.db import Database
    from foundation.db.overrides import Override

PHOTO_EXTRACTORS = "shopkg.image_values@"
"""Every version of the extractor of attribute values read from product photos (the build's
image_values stage): its facts are shown as read from the photo, with their confidence."""


@dataclass(frozen=True)
class Hit:
    """One search result with the reasons it was found."""

    key: str
    title: str
    price: float | None
    currency: str | None
    image: str | None  # an image key for AssistantAPI.image_path, not a file path
    score: float
    channels: dict[str, float] = field(default_factory=dict)  # score of each retrieval channel
    reasons: list[str] = field(default_factory=list)  # matched values, KG paths, in words
    key_values: dict[str, str] = field(default_factory=dict)  # a few attributes to show


@dataclass(frozen=True)
class QueryUnderstanding:
    """What the assistant read from a query: KG entries, constraints, negations."""

    entities: list[dict[str, str]] = field(default_factory=list)  # {label, name, span}
    constraints: dict[str, Any] = field(default_factory=dict)  # price_max, colour, brand, …
    negations: list[str] = field(default_factory=list)
    stated: list[str] = field(default_factory=list)  # every constraint as the query put it


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    total: int
    understanding: QueryUnderstanding = field(default_factory=QueryUnderstanding)
    # "exact": the first hits satisfy every stated constraint; "relaxed": none does, and
    # ``relaxed`` names the constraints the closest hits miss; "none": nothing found
    match: str = "exact"
    relaxed: list[str] = field(default_factory=list)
    weak: bool = False  # nothing but the nearest vectors: no word or KG entry of the query
    exact_total: int = 0  # of ``total``, those meeting every stated constraint


@dataclass(frozen=True)
class EvidenceRef:
    """A piece of product information an answer rests on."""

    text: str
    source: str  # attribute, bullet, description, review, qa, kg
    ref: str
    score: float


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    confidence: float
    abstained: bool  # True: "the product information does not say"
    evidence: list[EvidenceRef] = field(default_factory=list)


@dataclass(frozen=True)
class CardValue:
    """An attribute value on a card and where it came from."""

    attribute: str
    value: str
    origin: str  # "text": the catalog record states it; "photo": read from the item's photo
    extractor: str  # name@version of what asserted it
    confidence: float


@dataclass(frozen=True)
class ItemCard:
    """The exhibition card of one item."""

    key: str
    title: str
    description: str
    price: float | None
    currency: str | None
    brand: str | None
    category: list[str]
    images: list[str]  # image keys
    attributes: dict[str, list[str]]
    pois: list[str]
    problems: list[str]  # problems it solves: its own text says so, or its concept through its POI
    scenes: list[str]
    crowds: list[str]
    qa: list[dict[str, str]]
    review_highlights: list[str]
    similar: list[Hit]
    neighborhood: list[dict[str, Any]]  # {label, key, name, relation, hops}
    # every attribute value with where it came from: the text's (those of ``attributes``),
    # then those read from the item's photos, which ``attributes`` leaves out
    values: list[CardValue] = field(default_factory=list)


@dataclass(frozen=True)
class Turn:
    """The assistant's reply to one message in a session."""

    session_id: str
    intent: str  # search, refine, exhibit, ask, compare, why, help, chat
    message: str
    hits: list[Hit] = field(default_factory=list)
    card: ItemCard | None = None
    answer: Answer | None = None
    reasons: list[str] = field(default_factory=list)
    compared: list[ItemCard | None] = field(default_factory=list)  # a comparison's items


def to_dict(value: Any) -> dict[str, Any]:
    """Any of the dataclasses above as plain JSON-ready data."""
    return asdict(value)


class AssistantAPI(Protocol):
    """The assistant as the web app sees it."""

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResult: ...

    def search_image(self, image: bytes, *, limit: int = 10) -> SearchResult: ...

    def item(self, key: str) -> ItemCard | None: ...

    def ask(self, key: str, question: str) -> Answer:
        """An answer with its evidence; raises NotFoundError for an item not in the catalog."""
        ...

    def turn(self, session_id: str, text: str) -> Turn: ...

    def image_path(self, image_key: str) -> Path | None: ...

    @property
    def photo_search(self) -> bool:
        """Whether :meth:`search_image` can answer (the build made an item-image index)."""
        ...


@runtime_checkable
class SharedDialogs(Protocol):
    """An assistant whose conversations can live in the metadata DB: the web app hands it
    its database, so whichever server process answers a message continues the conversation
    (:class:`assistant.service.Assistant` is one)."""

    def share_dialogs(self, database: Database) -> None: ...


@runtime_checkable
class OverrideSink(Protocol):
    """An assistant that applies admin overrides as they are made (the web app tells it
    after recording one; :class:`assistant.service.Assistant` is one)."""

    def apply_override(self, override: Override) -> None: ...
