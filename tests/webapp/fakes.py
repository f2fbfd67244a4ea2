"""A small AssistantAPI double over a handful of items, for the web app's tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.api import (
    Answer,
    CardValue,
    EvidenceRef,
    Hit,
    ItemCard,
    QueryUnderstanding,
    SearchResult,
    Turn,
)
from extraction.record_facts import CATALOG
from foundation.errors import NotFoundError, UnavailableError
from jobs.image_values import EXTRACTOR as PHOTO_EXTRACTOR

HOSTILE_TITLE = '<script>alert("pwned")</script> Rain boot'
PHOTO_CONFIDENCE = 0.93


@dataclass(frozen=True)
class FakeItem:
    key: str
    title: str
    price: float
    brand: str
    attributes: dict[str, list[str]]
    pois: list[str]
    description: str
    image: str | None = None
    from_photo: dict[str, str] = field(default_factory=dict)  # attribute → value read


ITEMS = (
    FakeItem(
        "sku-1",
        "Trail runner waterproof jacket",
        79.0,
        "Northpeak",
        {"color": ["navy blue"], "material": ["nylon"]},
        ["waterproof", "breathable"],
        "A light jacket for rainy runs. The seams are taped so it keeps rain out.",
        "img-1",
    ),
    FakeItem(
        "sku-2",
        "City commuter umbrella",
        19.5,
        "Drywalk",
        {"color": ["black"], "diameter": ["100 cm"]},
        ["windproof"],
        "A compact umbrella that opens with one hand.",
        "img-2",
    ),
    FakeItem(
        "sku-3",
        HOSTILE_TITLE,
        45.0,
        "<b>Evil</b> brand",
        {"color": ['<img src=x onerror="alert(1)">']},
        ["waterproof"],
        "Description with <em>markup</em> that must stay text.",
        None,
    ),
    FakeItem(
        "sku-4",
        "Wool hiking socks",
        12.0,
        "Northpeak",
        {"material": ["merino wool"]},
        ["warm"],
        "Merino socks that keep feet warm and dry.",
        "img-1",
        {"color": "navy"},
    ),
)


@dataclass
class FakeAssistant:
    """Keyword search over :data:`ITEMS`; answers from attributes with evidence."""

    image_dir: Path
    is_demo: bool = True
    photo_search: bool = True
    sessions: dict[str, list[str]] = field(default_factory=dict)
    image_searches: int = 0

    def _hit(self, item: FakeItem, score: float) -> Hit:
        return Hit(
            key=item.key,
            title=item.title,
            price=item.price,
            currency="USD",
            image=item.image,
            score=score,
            channels={"text": score},
            reasons=[f"matches {', '.join(item.pois)}"],
            key_values={k: ", ".join(v) for k, v in item.attributes.items()},
        )

    def _matches(self, query: str) -> list[FakeItem]:
        words = [w for w in query.lower().split() if w]
        return [
            item
            for item in ITEMS
            if any(
                w in f"{item.title} {item.description} {' '.join(item.pois)}".lower() for w in words
            )
        ]

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResult:
        # the query's words that are some item's POI are its constraints: the items having
        # them all come first, and are the exact ones
        known = {poi for item in ITEMS for poi in item.pois}
        stated = [w for w in query.lower().split() if w in known]
        found = sorted(self._matches(query), key=lambda i: not set(stated) <= set(i.pois))
        exact = sum(1 for item in found if set(stated) <= set(item.pois))
        hits = [self._hit(item, 1.0 / (i + 1)) for i, item in enumerate(found)]
        return SearchResult(
            query=query,
            hits=hits[offset : offset + limit],
            total=len(hits),
            understanding=QueryUnderstanding(entities=[{"label": "POI", "name": query}]),
            exact_total=exact,
        )

    def search_image(self, image: bytes, *, limit: int = 10) -> SearchResult:
        if not self.photo_search:
            raise UnavailableError("photo search is not available")
        self.image_searches += 1
        hits = [self._hit(item, 0.5) for item in ITEMS if item.image][:limit]
        return SearchResult(query="", hits=hits, total=len(hits), exact_total=len(hits))

    def item(self, key: str) -> ItemCard | None:
        item = next((i for i in ITEMS if i.key == key), None)
        if item is None:
            return None
        similar = [self._hit(other, 0.4) for other in ITEMS if other.key != key][:2]
        return ItemCard(
            key=item.key,
            title=item.title,
            description=item.description,
            price=item.price,
            currency="USD",
            brand=item.brand,
            category=["Outdoor", "Rainwear"],
            images=[item.image] if item.image else [],
            attributes=item.attributes,
            pois=item.pois,
            problems=["getting wet"] if "waterproof" in item.pois else [],
            scenes=["rainy commute"],
            crowds=["runners"],
            qa=[{"question": "Is it machine washable?", "answer": "Yes, at 30 degrees."}],
            review_highlights=["Kept me dry in a storm."],
            similar=similar,
            neighborhood=[{"label": "Brand", "key": item.brand, "name": item.brand, "hops": 1}],
            values=[
                CardValue(name, value, "text", CATALOG, 1.0)
                for name, values in item.attributes.items()
                for value in values
            ]
            + [
                CardValue(name, value, "photo", PHOTO_EXTRACTOR, PHOTO_CONFIDENCE)
                for name, value in item.from_photo.items()
            ],
        )

    def ask(self, key: str, question: str) -> Answer:
        item = next((i for i in ITEMS if i.key == key), None)
        if item is None:
            raise NotFoundError(f"no item {key!r} in the catalog")
        if "waterproof" in question.lower() or "rain" in question.lower():
            yes = "waterproof" in item.pois
            return Answer(
                question=question,
                text="Yes, it is waterproof." if yes else "The product information does not say.",
                confidence=0.9 if yes else 0.2,
                abstained=not yes,
                evidence=[
                    EvidenceRef("waterproof", "kg", "POI:waterproof", 0.9),
                    EvidenceRef("keeps rain out", "description", "description", 0.8),
                ]
                if yes
                else [],
            )
        colours = item.attributes.get("color", [])
        return Answer(
            question=question,
            text=f"The colour is {', '.join(colours)}." if colours else "I don't know.",
            confidence=0.7,
            abstained=not colours,
            evidence=[EvidenceRef(f"color {c}", "attribute", "color", 0.7) for c in colours],
        )

    def turn(self, session_id: str, text: str) -> Turn:
        history = self.sessions.setdefault(session_id, [])
        history.append(text)
        result = self.search(text, limit=5)
        return Turn(
            session_id=session_id,
            intent="search",
            message=f"I found {result.total} items for you (message {len(history)}).",
            hits=result.hits,
        )

    def image_path(self, image_key: str) -> Path | None:
        path = self.image_dir / f"{image_key}.png"
        return path if image_key.startswith("img-") and path.is_file() else None
