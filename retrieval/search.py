"""Hybrid search: keyword, dense text, graph constraints and boosts, fused and explained.

Channels, each scored on its own and normalized to [0, 1] over the candidates:
- ``bm25``: BM25 over item text;
- ``dense``: the query against the item-text vectors, with DictBERT-style knowledge from the KG
  entries it names: fused into the query vector by the trained injection module
  (:mod:`retrieval.injection`) when one is loaded, else appended to the query text by name
  (input augmentation); :attr:`SearchOutcome.knowledge` says which entries went in and how;
- ``graph``: items linked in the KG to the entries the query names (holding a matched value,
  in a matched category, by a matched brand, mentioning a matched concept, suiting a matched
  scene or crowd, or having a POI that solves a matched problem), with the path as a reason;
- ``image``: the query's text vector against the item-image index (each item's mean image
  vector), when the image encoder was aligned with the searcher's text encoder
  (:mod:`retrieval.visual`);
- ``prototype``: the query's text vector against the concepts' visual prototypes
  (FashionKLIP); the items that mention one of the closest concepts get its similarity,
  with "looks like a <concept>" as the reason. Same condition as ``image``.
The image channels read the bare query (without the constraint phrases), encoded once per
search and shared with the dense channel when that encodes the same text.
Price constraints and negations filter the fused list. Every hit carries each channel's
score and the KG reasons it was found for.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from encoders.base import TextEncoder
from foundation.text import SEARCH_TERMS, tokens
from retrieval.injection import EntryGlossary, KnowledgeInjector, distinct_entries
from retrieval.item_table import ItemTable, Rows
from retrieval.keyword import KeywordIndex
from retrieval.query import DictionaryEntry, EntityDictionary, ParsedQuery, parse_query
from retrieval.vector_index import VectorIndex
from retrieval.visual import ImageSpace

if TYPE_CHECKING:
    from kg import GraphStore

log = logging.getLogger(__name__)

Scores = npt.NDArray[np.float64]

CANDIDATES = 200
CHANNELS = ("bm25", "dense", "graph", "image", "prototype")
PROTOTYPE_CONCEPTS = 3  # the closest concepts whose items the prototype channel returns
# KG reads per entry/concept are remembered this long (admin edits show up after it) and for
# at most this many entries: queries keep naming the same colours, categories and brands
KG_CACHE_SECONDS = 60.0
KG_CACHE_ENTRIES = 4096
# how the dense channel uses the KG entries a query names
KNOWLEDGE_MODES = ("none", "augment", "fusion")

# the relation path from a matched entry's node to the items it implies, and how to say it
GRAPH_PATHS: dict[str, tuple[tuple[str, ...], str]] = {
    "Value": (("HAS_VALUE",), "has {attribute} {name}"),
    "Brand": (("HAS_BRAND",), "by {name}"),
    "Category": (("IN_CATEGORY", "IS_A"), "in {name}"),
    "Concept": (("MENTIONS", "IS_A"), "is a {name}"),
    "Scene": (("SUITS",), "suits {name}"),
    "Crowd": (("SUITS",), "for {name}"),
    "POI": (("HAS_POI",), "{name}"),
    "Problem": (("SOLVES", "HAS_POI"), "helps with {name}"),
}
# labels whose items lie two hops away (sub-categories, sub-concepts, POIs solving a problem)
TWO_HOPS = ("Problem", "Category", "Concept")
# the postings section of each concept's mentioning items (the prototype channel's one hop)
CONCEPT_MENTIONS = "Concept.MENTIONS"


@dataclass(frozen=True)
class FusionWeights:
    """How much each channel counts: bm25, dense and graph tuned by ``shopkg eval search
    --format epqa`` on the tuning half of the ePQA questions (a grid over 0..1 per channel);
    image and prototype, which ePQA has no images for, by ``--format grocery`` (see
    BENCHMARKS.md for the figures)."""

    bm25: float = 0.6
    dense: float = 0.8
    graph: float = 0.2
    image: float = 0.2
    prototype: float = 0.2


@dataclass
class Candidate:
    key: str
    channels: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0


@dataclass(frozen=True)
class KnowledgeUse:
    """One KG entry the dense channel read: its text and, for the fusion, its weight."""

    text: str
    weight: float  # attention x gate for the fusion; 1.0 for input augmentation


@dataclass
class SearchOutcome:
    parsed: ParsedQuery
    candidates: list[Candidate]  # best first, after constraints
    knowledge_mode: str = "none"  # how the dense channel used the matched entries
    knowledge: list[KnowledgeUse] = field(default_factory=list)
    total: int = 0  # candidates left after the constraints, however many were returned


class HybridSearcher:
    """Search over one built catalog. Parts that are missing simply contribute nothing."""

    def __init__(
        self,
        items: dict[str, dict[str, Any]],
        keyword: KeywordIndex | None,
        dense: VectorIndex | None = None,
        text_encoder: TextEncoder | None = None,
        store: GraphStore | None = None,
        dictionary: EntityDictionary | None = None,
        weights: FusionWeights | None = None,
        injector: KnowledgeInjector | None = None,
        glossary: EntryGlossary | None = None,
        images: ImageSpace | None = None,
        postings: dict[str, dict[str, list[str]]] | None = None,
    ) -> None:
        self.items = items
        self.table = ItemTable(items)  # rows, prices and words: fusion and constraints
        self._keyword_rows = (  # BM25 document -> item row (-1: not an item)
            np.array([self.table.rows.get(key, -1) for key in keyword.keys], dtype=np.int64)
            if keyword is not None
            else np.zeros(0, dtype=np.int64)
        )
        self.postings = postings  # the graph channel's item lists, when the build made them
        self.keyword = keyword
        self.dense = dense
        self.text_encoder = text_encoder
        self.store = store
        self.dictionary = dictionary or EntityDictionary()
        self.weights = weights or FusionWeights()
        self.glossary = glossary or EntryGlossary()
        self.injector: KnowledgeInjector | None = None
        self.knowledge_mode = "augment"
        if injector is not None:
            self.use_injector(injector)
        self._entry_vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._kg_reads: dict[tuple[str, str], tuple[float, Any]] = {}  # -> (read at, value)
        self.images: ImageSpace | None = None
        if images is not None:
            if images.aligned_with(text_encoder):
                self.images = images
            else:
                log.info("image and prototype channels are off: %s", images.why_not(text_encoder))

    @property
    def image_channels(self) -> tuple[str, ...]:
        """The image channels this searcher serves (none without an aligned image encoder)."""
        if self.images is None:
            return ()
        found = (
            ("image", self.images.item_image),
            ("prototype", self.images.concept_prototype),
        )
        return tuple(name for name, index in found if index is not None and len(index))

    def use_injector(self, injector: KnowledgeInjector | None) -> None:
        """Fuse entries with ``injector`` from now on (None: back to input augmentation)."""
        if injector is not None and self.text_encoder is not None:
            injector.check_encoder(self.text_encoder.encoder_id)
        self.injector = injector
        self.knowledge_mode = "fusion" if injector is not None else "augment"

    # -- admin overrides: what changed in the KG since the build (retrieval/overrides.py) --
    def hide_item(self, key: str) -> None:
        """Leave item ``key`` out of every channel and of :attr:`items` from now on."""
        self.table.hide(key)
        self.items.pop(key, None)

    def edit_item(self, key: str, changes: dict[str, Any]) -> None:
        """Item ``key``'s row with ``changes`` (title, price, …): hits show them, price
        constraints and negations read them. Its indexed text stays until the next build."""
        before = self.items.get(key)
        if before is None or not changes:
            return
        after = {**before, **changes}
        self.table.update(key, before, after)
        self.items[key] = after

    def relink(self, label: str, key: str, *, gone: bool) -> None:
        """KG node ``(label, key)`` changed after the build: the graph channel finds no items
        for it when ``gone``, else asks the store, which holds the change, instead of the
        build's postings."""
        sections = [label, CONCEPT_MENTIONS] if label == "Concept" else [label]
        if gone and self.postings is None:
            self.postings = {}
        for section in sections:
            found = self.postings.get(section) if self.postings is not None else None
            if gone:
                assert self.postings is not None
                self.postings.setdefault(section, {})[key] = []
            elif found is not None:
                found.pop(key, None)
        self._kg_reads.clear()

    def search(
        self, query: str, *, limit: int = 10, channels: Sequence[str] | None = None
    ) -> SearchOutcome:
        parsed = parse_query(query, self.dictionary)
        wanted = set(channels or CHANNELS)
        text = parsed.text or query
        knowledge: list[KnowledgeUse] = []
        visual = [c for c in self.image_channels if c in wanted]
        # text -> vector: each text once per search, and the texts known ahead in one call
        encoded = self._encode_ahead(parsed, "dense" in wanted, bool(visual))

        def encode(words: str) -> Any:
            if words not in encoded:
                encoded[words] = self._encode_one(words)
            return encoded[words]

        # channel -> (item rows, their scores: normalized to the channel's best, bar the
        # graph's); why each row was found is worked out for the returned rows only
        scored: dict[str, tuple[Rows, Scores]] = {}
        why: list[_Why] = []
        if "bm25" in wanted and self.keyword is not None:
            scored["bm25"] = self._bm25(text)
        if "dense" in wanted and self.dense is not None and self.text_encoder is not None:
            vector, knowledge = self._dense_query(parsed, encode)
            scored["dense"] = self._dense(vector)
        if "graph" in wanted and self.store is not None and parsed.entities:
            rows, scores, phrases = self._graph(parsed)
            scored["graph"] = rows, scores
            why.append(_Why(phrases))
        if visual and parsed.text.strip():
            vector = encode(parsed.text)
            if "image" in visual:
                scored["image"] = self._image(vector)
                rows = scored["image"][0]
                reason = f"looks like “{parsed.text}” in its photos"
                why.append(_Why([(frozenset(rows.tolist()), reason)]))
            if "prototype" in visual:
                rows, scores, concepts = self._prototype(vector)
                scored["prototype"] = rows, scores
                why.append(_Why(concepts, first_only=True))  # its closest concept
        return self._fused(parsed, scored, why, limit, knowledge)

    def _fused(
        self,
        parsed: ParsedQuery,
        scored: dict[str, tuple[Rows, Scores]],
        why: list[_Why],
        limit: int,
        knowledge: list[KnowledgeUse],
    ) -> SearchOutcome:
        """The channels' weighted sum, row by row (thousands of rows when a query names a
        common value), filtered by the constraints; Candidates for the returned rows only."""
        table = self.table
        weights = asdict(self.weights)
        fused = table.zeros()
        allowed = np.zeros(len(table), dtype=bool)
        columns: dict[str, Scores] = {}  # channel -> its score per row (NaN: not found)
        for channel, (rows, scores) in scored.items():
            if not len(rows):
                continue
            fused[rows] += weights[channel] * scores
            allowed[rows] = True
            columns[channel] = np.full(len(table), np.nan)
            columns[channel][rows] = scores
        allowed &= ~table.hidden
        if parsed.price_min is not None or parsed.price_max is not None:
            allowed = table.within(allowed, parsed.price_min, parsed.price_max)
        for phrase in parsed.negations:
            words = _negated_words(phrase)
            if words:  # a phrase of stop words only rules nothing out
                allowed &= ~table.holding(words)
        rows = np.flatnonzero(allowed)
        total = len(rows)
        if limit < 0:
            rows = rows[:0]
        elif 0 < limit < len(rows):  # the best ``limit`` and whatever ties with the last
            values = fused[rows]
            cut = len(values) - limit
            rows = rows[values >= np.partition(values, cut)[cut]]
        rows = rows[np.lexsort((table.key_rank[rows], -fused[rows]))]  # ties: by key
        if limit > 0:
            rows = rows[:limit]
        chosen = []
        for row in rows.tolist():
            found = {c: float(column[row]) for c, column in columns.items()}
            chosen.append(
                Candidate(
                    table.keys[row],
                    {c: score for c, score in found.items() if not math.isnan(score)},
                    [reason for group in why for reason in group.reasons(row)],
                    float(fused[row]),
                )
            )
        return SearchOutcome(parsed, chosen, self.knowledge_mode, knowledge, total)

    def _encode_ahead(self, parsed: ParsedQuery, dense: bool, visual: bool) -> dict[str, Any]:
        """The dense text (augmented, in augment mode) and the visual channels' text, encoded
        in one call when they differ: one forward pass of two rows costs less than two."""
        if self.text_encoder is None:
            return {}
        texts = []
        if dense and self.dense is not None and self.knowledge_mode == "augment":
            texts.append(self.augmented(parsed))
        if visual:
            texts.append(parsed.text)
        texts = list(dict.fromkeys(t for t in texts if t.strip()))
        if len(texts) < 2:
            return {}
        vectors = self.text_encoder.encode(texts).require_all()
        return {text: vectors[i : i + 1] for i, text in enumerate(texts)}

    def augmented(self, parsed: ParsedQuery) -> str:
        """The query with the names of the KG entries it matched (input augmentation)."""
        extra = [entry.name for _, entry in parsed.entities if entry.name not in parsed.text]
        return " ".join([parsed.text, *extra]).strip()

    def dense_query(self, parsed: ParsedQuery) -> tuple[Any, list[KnowledgeUse]]:
        """The dense channel's query vector (None for an empty query) and the knowledge in it.

        ``knowledge_mode`` picks the use of the matched entries: ``none`` (the bare query),
        ``augment`` (their names appended to the text) or ``fusion`` (the trained module).
        """
        return self._dense_query(parsed, self._encode_one)

    def _dense_query(self, parsed: ParsedQuery, encode: Any) -> tuple[Any, list[KnowledgeUse]]:
        mode = self.knowledge_mode
        if mode not in KNOWLEDGE_MODES:
            raise ValueError(f"knowledge_mode {mode!r}; use one of {KNOWLEDGE_MODES}")
        if mode == "augment":
            text = self.augmented(parsed)
            added = [e.name for _, e in parsed.entities if e.name not in parsed.text]
            used = [KnowledgeUse(name, 1.0) for name in dict.fromkeys(added)]
            return (encode(text), used) if text else (None, [])
        if not parsed.text.strip():
            return None, []
        query = encode(parsed.text)
        if mode == "none" or self.injector is None:
            return query, []
        texts = self.glossary.texts(
            distinct_entries(parsed.entities), self.injector.config.max_entries
        )
        if not texts:
            return query, []
        injected = self.injector.inject(query[0], self.entry_vectors(texts))
        used = [
            KnowledgeUse(t, round(a * injected.gate, 4))
            for t, a in zip(texts, injected.attention, strict=True)
        ]
        return injected.vector[None, :], used

    def entry_vectors(self, texts: Sequence[str]) -> Any:
        """Vectors of entry texts (remembered: the dictionary is finite)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._entry_vectors]
        if missing:
            assert self.text_encoder is not None
            vectors = self.text_encoder.encode(missing).full(len(missing))
            self._entry_vectors.update(zip(missing, vectors, strict=True))
        return np.stack([self._entry_vectors[t] for t in texts])

    def _encode_one(self, text: str) -> Any:
        assert self.text_encoder is not None
        return self.text_encoder.encode([text]).require_all()

    # -- channels: each gives item rows and their scores ---------------------------------
    def _bm25(self, text: str) -> tuple[Rows, Scores]:
        assert self.keyword is not None
        scores = self.keyword.scores(text)
        if not len(scores) or scores.max() <= 0:
            return _NOTHING
        top = np.arange(len(scores))
        if len(scores) > CANDIDATES:
            top = np.argpartition(-scores, CANDIDATES - 1)[:CANDIDATES]
        top = top[scores[top] > 0]
        rows = self._keyword_rows[top]
        known = rows >= 0
        return rows[known], scores[top][known] / scores.max()

    def _dense(self, vector: Any) -> tuple[Rows, Scores]:
        if vector is None:
            return _NOTHING
        assert self.dense is not None and self.text_encoder is not None
        hits = self.dense.search(vector, k=CANDIDATES, encoder_id=self.text_encoder.encoder_id)
        return self._hit_rows([(hit.key, max(hit.score, 0.0)) for hit in hits[0]])

    def _image(self, vector: Any) -> tuple[Rows, Scores]:
        assert self.images is not None and self.images.item_image is not None
        index = self.images.item_image
        hits = index.search(vector, k=CANDIDATES, encoder_id=self.images.encoder_id)[0]
        return self._hit_rows([(hit.key, hit.score) for hit in hits if hit.score > 0])

    def _hit_rows(self, hits: list[tuple[str, float]]) -> tuple[Rows, Scores]:
        """Vector hits as rows (hits that are not items left out), normalized to the best."""
        if not hits:
            return _NOTHING
        high = max(score for _, score in hits)
        known = [(self.table.rows[key], score) for key, score in hits if key in self.table.rows]
        rows = np.array([row for row, _ in known], dtype=np.int64)
        scores = np.array([score for _, score in known], dtype=np.float64)
        return rows, (scores / high if high > 0 else np.zeros(len(rows)))

    def _prototype(self, vector: Any) -> tuple[Rows, Scores, list[tuple[frozenset[int], str]]]:
        """Items mentioning the concepts whose prototypes are closest to the query."""
        assert self.images is not None and self.images.concept_prototype is not None
        index = self.images.concept_prototype
        hits = index.search(vector, k=PROTOTYPE_CONCEPTS, encoder_id=self.images.encoder_id)[0]
        best = self.table.zeros()
        found = np.zeros(len(self.table), dtype=bool)
        concepts = []
        for hit in hits:  # best first: an item keeps its closest concept's similarity
            if hit.score <= 0:
                continue
            name, linked = self._concept_rows(hit.key)
            new = linked.rows[~found[linked.rows]]
            best[new] = hit.score
            found[new] = True
            concepts.append((linked.members, f"looks like a {name}"))
        rows = np.flatnonzero(found)
        scores = best[rows]
        high = scores.max() if len(scores) else 0.0
        return rows, (scores / high if high > 0 else np.zeros(len(rows))), concepts

    def _remembered(self, kind: str, key: str, read: Any) -> Any:
        """``read()``, remembered for :data:`KG_CACHE_SECONDS` (the KG changes with builds
        and admin edits only); thread-safe enough: a race reads the KG twice."""
        now = time.monotonic()
        found = self._kg_reads.get((kind, key))
        if found is not None and now - found[0] < KG_CACHE_SECONDS:
            return found[1]
        value = read()
        if len(self._kg_reads) >= KG_CACHE_ENTRIES:
            self._kg_reads.clear()
        self._kg_reads[(kind, key)] = (now, value)
        return value

    def concept_items(self, concept: str) -> tuple[str, tuple[str, ...]]:
        """A concept's name and the items that mention it, by key."""
        name, linked = self._concept_rows(concept)
        return name, tuple(sorted(self.table.keys[row] for row in linked.rows.tolist()))

    def _concept_rows(self, concept: str) -> tuple[str, _Linked]:
        """A concept's name and the items that mention it."""
        found: tuple[str, _Linked] = self._remembered(
            "concept", concept, lambda: self._read_concept_rows(concept)
        )
        return found

    def _read_concept_rows(self, concept: str) -> tuple[str, _Linked]:
        from kg import NodeRef

        ref = NodeRef("Concept", concept)
        store = self.store
        node = store.get_node(ref) if store is not None else None
        if store is None or node is None:
            return concept, _Linked.of(_NOTHING[0])
        known = (self.postings or {}).get(CONCEPT_MENTIONS, {}).get(concept)
        if known is None:  # not computed by the build (retrieval/graph_postings.py)
            neighbors = store.neighborhood(
                ref,
                hops=1,
                limit=CANDIDATES * 10,
                labels=["Item"],
                relations=["MENTIONS"],
                direction="in",
            )
            known = [n.node.key for n in neighbors]
        return node.name or concept, _Linked.of(self.table.rows_of(sorted(known)))

    def _graph(self, parsed: ParsedQuery) -> tuple[Rows, Scores, list[tuple[frozenset[int], str]]]:
        """Items linked to the matched entries: 1/(entries matched) for each link, and the
        path of each as a reason."""
        matched = _dedupe(parsed.entities)
        scores = self.table.zeros()
        found = np.zeros(len(self.table), dtype=bool)
        phrases = []
        for entry in matched:
            linked = self._linked_rows(entry)
            scores[linked.rows] += 1.0 / len(matched)
            found[linked.rows] = True
            phrase = GRAPH_PATHS[entry.label][1].format(
                name=entry.name, attribute=entry.attribute or "value"
            )
            phrases.append((linked.members, phrase))
        rows = np.flatnonzero(found)
        return rows, scores[rows], phrases

    def _linked_rows(self, entry: DictionaryEntry) -> _Linked:
        linked: _Linked = self._remembered(
            entry.label, entry.key, lambda: _Linked.of(self.table.rows_of(self._linked(entry)))
        )
        return linked

    def linked_items(self, entry: DictionaryEntry) -> list[str]:
        """The items the graph channel links to ``entry``, nearest first."""
        return [self.table.keys[row] for row in self._linked_rows(entry).rows.tolist()]

    def _linked(self, entry: DictionaryEntry) -> list[str]:
        from kg import NodeRef

        known = (self.postings or {}).get(entry.label, {}).get(entry.key)
        if known is not None:  # computed by the build (retrieval/graph_postings.py)
            return known

        assert self.store is not None
        relations, _ = GRAPH_PATHS[entry.label]
        hops = 2 if entry.label in TWO_HOPS else 1
        neighbors = self.store.neighborhood(
            NodeRef(entry.label, entry.key),
            hops=hops,
            limit=2000,
            labels=["Item"],
            relations=relations,
            direction="in",  # items point at what they hold; follow those relations back
        )
        return [n.node.key for n in neighbors]


@dataclass(frozen=True)
class _Linked:
    """The item rows linked to one KG node, as an array (scores) and a set (reasons)."""

    rows: Rows
    members: frozenset[int]

    @classmethod
    def of(cls, rows: Rows) -> _Linked:
        return cls(rows, frozenset(rows.tolist()))


@dataclass(frozen=True)
class _Why:
    """One channel's reasons: (rows, phrase) pairs; a row gets the phrase of every pair that
    holds it, or with ``first_only`` of the first one."""

    phrases: list[tuple[frozenset[int], str]]
    first_only: bool = False

    def reasons(self, row: int) -> list[str]:
        found = [phrase for rows, phrase in self.phrases if row in rows]
        return found[:1] if self.first_only else found


_NOTHING: tuple[Rows, Scores] = (np.zeros(0, dtype=np.int64), np.zeros(0))


@lru_cache(maxsize=4096)
def _negated_words(phrase: str) -> frozenset[str]:
    return frozenset(tokens(phrase, SEARCH_TERMS))


def _dedupe(entities: list[tuple[str, DictionaryEntry]]) -> list[DictionaryEntry]:
    seen: dict[tuple[str, str], DictionaryEntry] = {}
    by_span: dict[str, list[DictionaryEntry]] = defaultdict(list)
    for span, entry in entities:
        if entry.label in GRAPH_PATHS:
            by_span[span].append(entry)
    for entries in by_span.values():
        for entry in entries:
            seen.setdefault((entry.label, entry.key), entry)
    return list(seen.values())
