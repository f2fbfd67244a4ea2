"""The assistant over one built catalog: search, exhibition cards and question answering.

Everything is read from what ``shopkg build`` wrote: the item table and keyword index, the
item-text vector index, the KG (facts, paths for reasons) and the metadata DB (each item's
catalog record for its reviews and Q&A). Answers rest on evidence ranked by
:class:`~retrieval.evidence.EvidenceRanker` over the item's KG facts and its own text, and
abstain when nothing supports an answer.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.api import (
    PHOTO_EXTRACTORS,
    Answer,
    CardValue,
    EvidenceRef,
    Hit,
    ItemCard,
    QueryUnderstanding,
    SearchResult,
)
from assistant.cache import LRU
from assistant.dialog import DatabaseSessions, Dialog
from catalog.schema import CatalogRecord
from extraction.record_facts import CATALOG
from extraction.values import canonical_attribute
from foundation.db.overrides import Override, OverrideSet
from foundation.errors import InputError, NotFoundError, RetrievalError, UnavailableError
from kg.schema import fold
from retrieval.evidence import Evidence, EvidenceRanker, ScoredEvidence
from retrieval.overrides import apply_override, edited_record
from retrieval.search import Candidate, HybridSearcher, SearchOutcome

if TYPE_CHECKING:
    from foundation.db import Database
    from kg import GraphStore

ABSTAIN = "The product information does not say."
MIN_CONFIDENCE_FUSED = 0.5
MIN_CONFIDENCE_DENSE = 0.45
# the fusion learned from sets where most questions have an answer among their candidates;
# evidence that barely resembles the question is no answer, however the source scores
MIN_DENSE_SUPPORT = 0.35
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# evidence vectors kept for questions (~60 texts per item, 1.5 kB each): ~1,600 items
EVIDENCE_VECTORS = 100_000
# searches, cards and answers remembered (each a few kB): the audience of a live stream asks
# about the same items at the same moment
# (bounded small: a live room's working set is its item list and what is searched now, and
# each kept card or search holds texts; bench/web_load.py reports the memory they take)
SEARCHES_KEPT = 1_024
CARDS_KEPT = 256
ANSWERS_KEPT = 2_048
NEIGHBORS = 60  # the KG nodes an item card reads around its item
CARD_LABELS = ("POI", "Problem", "Scene", "Crowd")  # what a card lists of those by name
log = logging.getLogger(__name__)


class Assistant:
    """Implements :class:`assistant.api.AssistantAPI` (turns come from :mod:`assistant.dialog`)."""

    def __init__(
        self,
        searcher: HybridSearcher,
        records: Any,  # callable key -> CatalogRecord | None
        ranker: EvidenceRanker | None,
        image_root: Path | None = None,
        generated_catalog: bool = False,
        image_search: tuple[Any, Any] | None = None,  # (image encoder, item_image index)
    ) -> None:
        self.searcher = searcher
        self.records = records
        self.ranker = ranker
        self.image_root = image_root
        self.generated_catalog = generated_catalog
        self.image_search = image_search
        self._images: frozenset[str] | None = None
        # what a live audience asks again and again, answered once (see assistant.cache)
        self.searches: LRU[tuple[str, int, int], SearchResult] = LRU(SEARCHES_KEPT)
        self.cards: LRU[str, ItemCard] = LRU(CARDS_KEPT)
        self.answers: LRU[tuple[str, str], Answer] = LRU(ANSWERS_KEPT)
        self.overrides = OverrideSet()  # admin overrides applied since the build was loaded
        self.applied_overrides: set[int] = set()
        self._warmer: ThreadPoolExecutor | None = None
        self._warming: dict[str, Future[None]] = {}
        self._warming_lock = threading.Lock()
        self.dialog = Dialog(self)

    def share_dialogs(self, database: Database) -> None:
        """Keep conversations in ``database`` from now on (see :class:`SharedDialogs`)."""
        self.dialog.sessions = DatabaseSessions(database)

    @property
    def is_demo(self) -> bool:
        """True over the generated demo catalog: the web app then says its data is generated."""
        return self.generated_catalog

    @property
    def photo_search(self) -> bool:
        return self.image_search is not None

    # -- admin overrides ------------------------------------------------------------------
    def apply_override(self, override: Override) -> None:
        """Serve what the KG holds after an admin's edit, merge or delete, at once: a deleted
        or merged item leaves every search channel and its card and questions answer "no
        such item"; an edited item's title, description and price show on its card and hits,
        and price constraints read the new price (see docs/design-notes.md, "Admin overrides")."""
        if override.id in self.applied_overrides:
            return  # told twice: by the admin request and by the database (another worker)
        self.applied_overrides.add(override.id)
        self.overrides.add(override)
        apply_override(self.searcher, override)
        self.forget()  # remembered searches, cards and answers may show what it changed
        self._images = None  # a deleted item's images are no longer served

    def record(self, key: str) -> CatalogRecord | None:
        """Item ``key``'s catalog record with the admins' edits; None when there is no such
        item or an admin deleted or merged it."""
        if key in self.overrides.hidden_items:
            return None
        record: CatalogRecord | None = self.records(key)
        edits = self.overrides.item_edits(key)
        return edited_record(record, edits) if record is not None and edits else record

    # -- search ---------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Answer one search, one card and one question, so that the first shopper does not
        pay for what runs once (kernels, KG pages, lazily built tables)."""
        prepare = getattr(self.searcher.text_encoder, "prepare_batch_shapes", None)
        if prepare is not None:
            prepare()
        key = next(iter(self.searcher.items), None)
        if key is None:
            return
        title = str(self.searcher.items[key].get("title") or key)
        self.searcher.search(title, limit=10)
        if self._card(key) is not None and self.ranker is not None:
            self._answer(key, "what is it made of?")

    def forget(self) -> None:
        """Drop the remembered searches, cards and answers (what they came from changed)."""
        for cache in (self.searches, self.cards, self.answers):
            cache.clear()

    def cache_stats(self) -> dict[str, dict[str, int]]:
        return {
            "searches": self.searches.stats(),
            "cards": self.cards.stats(),
            "answers": self.answers.stats(),
        }

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResult:
        if limit < 1 or offset < 0:
            raise InputError(f"limit must be >= 1 and offset >= 0, not {limit} and {offset}")
        remembered = (fold(query), limit, offset)
        found = self.searches.get(remembered)
        if found is not None:
            return replace(found, query=query)
        outcome = self.searcher.search(query, limit=offset + limit)
        page = outcome.candidates[offset : offset + limit]
        result = SearchResult(
            query,
            [self.hit(c) for c in page],
            outcome.total,
            understanding(outcome),
            outcome.match,
            list(outcome.relaxed),
            outcome.weak,
            outcome.exact_total,
        )
        self.searches.put(remembered, result)
        return result

    def search_image(self, image: bytes, *, limit: int = 10) -> SearchResult:
        """Items whose images look most like the photo (the item-image index)."""
        if self.image_search is None:
            raise UnavailableError(
                "photo search is not available: this build has no image index "
                "(it needs an image encoder: run `shopkg train image-encoder` and rebuild)"
            )
        encoder, index = self.image_search
        encoded = encoder.encode([image])
        if not encoded.count:
            raise InputError(f"the photo cannot be read: {encoded.skipped[0].reason}")
        hits = index.search(encoded.vectors, k=limit, encoder_id=encoder.encoder_id)[0]
        found = [
            self.hit(Candidate(h.key, {"image": h.score}, ["looks like your photo"], h.score))
            for h in hits
            if h.key in self.searcher.items
        ]
        return SearchResult("(photo)", found, len(found), exact_total=len(found))

    def hit(self, candidate: Candidate) -> Hit:
        item = self.searcher.items[candidate.key]
        images = item.get("images") or []
        return Hit(
            key=candidate.key,
            title=item["title"],
            price=item.get("price"),
            currency=item.get("currency"),
            image=images[0] if images else None,
            score=round(candidate.score, 4),
            channels={k: round(v, 4) for k, v in candidate.channels.items()},
            reasons=list(dict.fromkeys(candidate.reasons)),
            key_values=_key_values(item.get("values") or {}),
        )

    # -- exhibition -----------------------------------------------------------------------
    def item(self, key: str) -> ItemCard | None:
        card = self.cards.get(key)
        if card is None:
            card = self._card(key)
            if card is not None:
                self.cards.put(key, card)
        return card

    def _card(self, key: str) -> ItemCard | None:
        row = self.searcher.items.get(key)
        record = self.record(key)
        if row is None or record is None:
            return None
        facts = self._facts(key)
        card = ItemCard(
            key=key,
            title=record.title,
            description=record.description,
            price=row.get("price"),
            currency=row.get("currency"),
            brand=record.brand,
            category=list(record.category),
            images=list(record.images),
            attributes=_attributes(record),
            pois=facts["POI"],
            problems=facts["Problem"],
            scenes=facts["Scene"],
            crowds=facts["Crowd"],
            qa=[{"question": p.question, "answer": p.answer} for p in record.qa[:10]],
            review_highlights=_highlights(record),
            similar=self.similar(key),
            neighborhood=facts["neighborhood"],
            values=_text_values(record) + self._photo_values(key),
        )
        self.prepare_answers(key)
        return card

    def _photo_values(self, key: str) -> list[CardValue]:
        """The attribute values the build read from the item's photos, with the extractor
        and confidence of each (the KG's ``HAS_VALUE`` facts of :data:`PHOTO_EXTRACTORS`)."""
        store = self.searcher.store
        if store is None:
            return []
        from kg import NodeRef

        ref = NodeRef("Item", key)
        if store.get_node(ref) is None:
            return []
        found = []
        for relation in store.relations_of(ref, extractor=PHOTO_EXTRACTORS):
            if relation.type != "HAS_VALUE" or relation.start != ref:
                continue
            node = store.get_node(relation.end)
            if node is None:
                continue
            shown = node.properties.get("name") or node.properties.get("value")
            prov = relation.provenance
            found.append(
                CardValue(
                    attribute=str(node.properties.get("attribute") or ""),
                    value=str(shown or ""),
                    origin="photo",
                    extractor=prov.extractor,
                    confidence=round(prov.confidence, 4),
                )
            )
        return sorted(found, key=lambda v: (v.attribute, -v.confidence, v.value))

    def similar(self, key: str, limit: int = 5) -> list[Hit]:
        dense = self.searcher.dense
        vector = dense.vector(key) if dense is not None else None
        if dense is None or vector is None:  # (not all of the index: 150 ms at 100k items)
            return []
        hits = dense.search(vector[None, :], k=limit + 1)[0]
        return [
            self.hit(Candidate(h.key, {"dense": h.score}, [], h.score))
            for h in hits
            if h.key != key and h.key in self.searcher.items
        ][:limit]

    def _facts(self, key: str) -> dict[str, Any]:
        return item_facts(self.searcher.store, key)

    # -- questions ------------------------------------------------------------------------
    def prepare_answers(self, key: str) -> Future[None] | None:
        """Encode ``key``'s evidence in the background while the shopper looks at its card,
        so the first question about it costs what later ones do (not ~5x more). Returns the
        work's future (the running one if there is one; None without a ranker, or while
        shoppers wait for the encoder). Its errors are logged, not raised: the question,
        when it comes, meets them again."""
        if self.ranker is None:
            return None
        if getattr(self.searcher.text_encoder, "busy", False):
            return None  # shoppers are waiting for the encoder: their requests come first
        with self._warming_lock:
            running = self._warming.get(key)
            if running is not None:
                return running
            if self._warmer is None:
                self._warmer = ThreadPoolExecutor(1, thread_name_prefix="shopkg-evidence")
            future = self._warmer.submit(self._warm, key)
            self._warming[key] = future
            return future

    def stop_warming(self) -> None:
        """Let the evidence being prepared finish and prepare no more: before the graph
        store closes, so no background task reads a closed store."""
        with self._warming_lock:
            warmer, self._warmer = self._warmer, None
        if warmer is not None:
            warmer.shutdown(wait=True, cancel_futures=True)

    def _warm(self, key: str) -> None:
        try:
            if self.ranker is not None:
                self.ranker.warm(self.evidence(key))
        except Exception:  # a background task: ask() meets and reports the real error
            log.warning("could not prepare the evidence of item %r", key, exc_info=True)
        finally:
            with self._warming_lock:
                self._warming.pop(key, None)

    def evidence(self, key: str) -> list[Evidence]:
        """Everything known about an item that a question could be answered from."""
        record = self.record(key) if key in self.searcher.items else None
        if record is None:
            raise NotFoundError(f"no item {key!r} in the catalog")
        evidence = [
            Evidence(
                f"{name}: {', '.join(map(str, v)) if isinstance(v, list) else v}",
                "kg",
                f"attribute:{name}",
            )
            for name, v in record.attributes.items()
        ]
        facts = self._facts(key)
        for poi in facts["POI"]:
            evidence.append(Evidence(f"it is {poi}", "kg", f"POI:{poi}"))
        for problem in facts["Problem"]:
            evidence.append(Evidence(f"it helps with {problem}", "kg", f"Problem:{problem}"))
        for scene in facts["Scene"] + facts["Crowd"]:
            evidence.append(Evidence(f"it suits {scene}", "kg", f"SUITS:{scene}"))
        evidence += [Evidence(b, "bullet", f"bullet:{i}") for i, b in enumerate(record.bullets)]
        for i, sentence in enumerate(_SENTENCE.split(record.description)):
            if sentence.strip():
                evidence.append(Evidence(sentence.strip(), "description", f"description:{i}"))
        evidence += [
            Evidence(r.text, "review", f"review:{i}") for i, r in enumerate(record.reviews[:50])
        ]
        evidence += [
            Evidence(f"{p.answer} Question: {p.question}", "qa", f"qa:{i}")
            for i, p in enumerate(record.qa[:50])
        ]
        return evidence

    def ask(self, key: str, question: str) -> Answer:
        if not question.strip():
            raise InputError("the question is empty")
        remembered = (key, fold(question))
        found = self.answers.get(remembered)
        if found is not None:
            return replace(found, question=question)
        answer = self._answer(key, question)
        self.answers.put(remembered, answer)
        return answer

    def _answer(self, key: str, question: str) -> Answer:
        if self.ranker is None:
            raise RetrievalError("question answering needs the text encoder; it is not loaded")
        ranked = self.ranker.rank(question, self.evidence(key))
        threshold = MIN_CONFIDENCE_FUSED if self.ranker.fusion else MIN_CONFIDENCE_DENSE
        refs = [_ref(s) for s in ranked[:3]]
        supported = bool(ranked) and ranked[0].channels.get("dense", 0.0) >= MIN_DENSE_SUPPORT
        if not ranked or ranked[0].score < threshold or not supported:
            confidence = 1.0 - (ranked[0].score if ranked else 0.0)
            # no evidence with an abstention: what was read did not answer the question,
            # and showing it as "Based on:" would say it did
            return Answer(question, ABSTAIN, round(confidence, 3), True, [])
        return Answer(question, _answer_text(ranked[0]), round(ranked[0].score, 3), False, refs)

    def turn(self, session_id: str, text: str) -> Any:
        return self.dialog.turn(session_id, text)

    def image_path(self, image_key: str) -> Path | None:
        """The file of an item image: only a path an active item lists (what the build
        registered), under the catalog's image root, never anything else there."""
        if self.image_root is None or not image_key or "\x00" in image_key:
            return None
        if image_key not in self._listed_images():
            return None
        root = self.image_root.resolve()
        try:
            path = (root / image_key).resolve()
        except (OSError, ValueError):
            return None
        if root not in path.parents or not path.is_file():
            return None
        return path

    def _listed_images(self) -> frozenset[str]:
        """The image paths the active items list, worked out once."""
        if self._images is None:
            self._images = frozenset(
                path for row in self.searcher.items.values() for path in row.get("images") or ()
            )
        return self._images


def understanding(outcome: SearchOutcome) -> QueryUnderstanding:
    parsed = outcome.parsed
    return QueryUnderstanding(
        entities=[
            {"label": entry.label, "name": entry.name, "span": span}
            for span, entry in parsed.entities
        ],
        constraints=parsed.constraints(),
        negations=list(parsed.negations),
        stated=list(outcome.constraints),
    )


def _attributes(record: CatalogRecord) -> dict[str, list[str]]:
    """The record's attribute values by canonical name (as the KG names them): a catalog that
    spells one attribute "colour" here and "color" there shows one row, in cards and in
    comparisons alike; a value said under both names is shown once."""
    merged: dict[str, list[str]] = {}
    for name, value in record.attributes.items():
        shown = merged.setdefault(canonical_attribute(name), [])
        for item_value in value if isinstance(value, list) else [value]:
            if str(item_value) not in shown:
                shown.append(str(item_value))
    return merged


def _key_values(values: dict[str, str]) -> dict[str, str]:
    """A hit's few attribute values (the item table's, named as the record does) by
    canonical name, like its card's."""
    merged: dict[str, str] = {}
    for name, value in values.items():
        merged.setdefault(canonical_attribute(name), value)
    return merged


def _text_values(record: CatalogRecord) -> list[CardValue]:
    """The record's attribute values as the card shows them, asserted by the catalog."""
    return [
        CardValue(name, value, "text", CATALOG, 1.0)
        for name, values in _attributes(record).items()
        for value in values
    ]


def _highlights(record: CatalogRecord, limit: int = 3) -> list[str]:
    rated = sorted(record.reviews, key=lambda r: (-(r.rating or 0), len(r.text)))
    return [review.text for review in rated[:limit]]


def _ref(scored: ScoredEvidence) -> EvidenceRef:
    item = scored.evidence
    return EvidenceRef(item.text, item.source, item.ref, round(scored.score, 3))


def _answer_text(best: ScoredEvidence) -> str:
    item = best.evidence
    if item.source == "qa":
        return item.text.split(" Question: ")[0]
    if item.source == "review":
        return f"A reviewer says: “{item.text}”"
    if item.source == "kg" and item.ref.startswith("attribute:"):
        return item.text[0].upper() + item.text[1:] + "."
    return item.text


def item_facts(store: GraphStore | None, key: str) -> dict[str, Any]:
    """What the KG holds of item ``key`` for its card and its answers: its POIs, the problems
    it solves, the scenes and crowds it suits (names, sorted), and its one-hop neighborhood.

    One hop out: what the item holds. Its problems are its own ``SOLVES``, never its POIs'
    (a POI such as "waterproof" is shared with other kinds of item, and so are the problems
    records say it solves: :mod:`extraction.item_problems`)."""
    found: dict[str, Any] = {label: [] for label in CARD_LABELS}
    found["neighborhood"] = []
    if store is None:
        return found
    from kg import NodeRef

    ref = NodeRef("Item", key)
    if store.get_node(ref) is None:
        return found
    for neighbor in store.neighborhood(ref, hops=1, limit=NEIGHBORS, direction="out"):
        node = neighbor.node
        if node.label in CARD_LABELS:
            found[node.label].append(node.name)
        found["neighborhood"].append(
            {"label": node.label, "key": node.key, "name": node.name, "hops": 1}
        )
    for label in CARD_LABELS:
        found[label] = sorted(set(found[label]))
    return found
