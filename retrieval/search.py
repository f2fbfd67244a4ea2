"""Hybrid search: keyword, dense text, graph constraints and boosts, fused and explained.

Channels, each scored on its own and normalized to [0, 1] over the candidates:
- ``bm25``: BM25 over item text;
- ``dense``: the query against the item-text vectors, with DictBERT-style knowledge from the KG
  entries it names: fused into the query vector by the trained injection module
  (:mod:`retrieval.injection`) when one is loaded, else appended to the query text by name
  (input augmentation); :attr:`SearchOutcome.knowledge` says which entries went in and how;
- ``graph``: items linked in the KG to the entries the query names (holding a matched value,
  in a matched category, by a matched brand, mentioning a matched concept, suiting a matched
  scene or crowd, or solving a matched problem), with the path as a reason;
- ``image``: the query's text vector against the item-image index (each item's mean image
  vector), when the image encoder was aligned with the searcher's text encoder
  (:mod:`retrieval.visual`);
- ``prototype``: the query's text vector against the concepts' visual prototypes
  (FashionKLIP); the items that mention one of the closest concepts get its similarity,
  with "looks like a <concept>" as the reason. Same condition as ``image``.
The image channels read the bare query (without the constraint phrases), encoded once per
search and shared with the dense channel when that encodes the same text.
Price constraints and negations filter the fused list. Every hit carries each channel's
score and the KG reasons it was found for. Each channel is a small class of
:mod:`retrieval.channels` behind the one-method :class:`~retrieval.channels.SearchChannel`
protocol; the searcher holds them and fuses.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from encoders.base import TextEncoder, Vectors
from foundation.text import SEARCH_TERMS, tokens
from retrieval.channels import (
    PROTOTYPE_CONCEPTS,
    ChannelQuery,
    ChannelScores,
    DenseChannel,
    GraphChannel,
    ImageChannel,
    KeywordChannel,
    PrototypeChannel,
    Scores,
    SearchChannel,
)
from retrieval.dense_query import KNOWLEDGE_MODES, DenseQuery, KnowledgeUse
from retrieval.graph_links import (
    CANDIDATES,
    CONCEPT_MENTIONS,
    GRAPH_PATHS,
    HOPS,
    KG_CACHE_ENTRIES,
    KG_CACHE_SECONDS,
    GraphLinks,
    link_reason,
)
from retrieval.injection import EntryGlossary, KnowledgeInjector
from retrieval.item_table import ItemTable
from retrieval.keyword import KeywordIndex
from retrieval.query import (
    DictionaryEntry,
    EntityDictionary,
    ParsedQuery,
    is_value_of,
    parse_query,
)
from retrieval.vector_index import VectorIndex
from retrieval.visual import ImageSpace

if TYPE_CHECKING:
    from kg import GraphStore

log = logging.getLogger(__name__)

__all__ = [  # what callers import from here; the channels' parts live in their modules
    "CANDIDATES",
    "CHANNELS",
    "CONCEPT_MENTIONS",
    "GRAPH_PATHS",
    "HOPS",
    "KG_CACHE_ENTRIES",
    "KG_CACHE_SECONDS",
    "KNOWLEDGE_MODES",
    "PROTOTYPE_CONCEPTS",
    "Candidate",
    "FusionWeights",
    "HybridSearcher",
    "KnowledgeUse",
    "Scores",
    "SearchOutcome",
]

CHANNELS = ("bm25", "dense", "graph", "image", "prototype")


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


@dataclass
class SearchOutcome:
    parsed: ParsedQuery
    candidates: list[Candidate]  # best first, after constraints
    knowledge_mode: str = "none"  # how the dense channel used the matched entries
    knowledge: list[KnowledgeUse] = field(default_factory=list)
    total: int = 0  # candidates left after the constraints, however many were returned
    # ``exact``: the first hits satisfy every constraint the query states (the KG entries
    # it names, its price range); ``relaxed``: none does, and ``relaxed`` says which
    # constraints the closest hits miss; ``none``: nothing was found
    match: str = "exact"
    relaxed: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)  # every constraint, as stated
    # most words of the query are not in the catalog's text, or none is and it names no KG
    # entry: the hits are guesses (nonsense, or a language the catalog is not written in)
    weak: bool = False
    # of ``total``, those meeting every stated constraint (all of them when it states none):
    # what a shopper reads as "how many match"; a refinement never makes it grow
    exact_total: int = 0


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
        self.keyword = keyword
        self.dense = dense
        self.text_encoder = text_encoder
        self.store = store
        self.dictionary = dictionary or EntityDictionary()
        self.weights = weights or FusionWeights()
        self.dense_queries = DenseQuery(text_encoder, glossary or EntryGlossary(), injector)
        self.links = GraphLinks(self.table, store, postings)  # the graph channel's items
        self.images: ImageSpace | None = None
        if images is not None:
            if images.aligned_with(text_encoder):
                self.images = images
            else:
                log.info("image and prototype channels are off: %s", images.why_not(text_encoder))
        self.channels = self._channels()
        self._families: dict[str, list[DictionaryEntry]] | None = None
        self._attribute_masks: dict[str, npt.NDArray[np.bool_]] = {}  # attribute -> its items

    def _channels(self) -> dict[str, SearchChannel]:
        """The channels this searcher's parts make, in :data:`CHANNELS` order."""
        channels: dict[str, SearchChannel] = {}
        if self.keyword is not None:
            channels["bm25"] = KeywordChannel(self.keyword, self.table)
        if self.dense is not None and self.text_encoder is not None:
            channels["dense"] = DenseChannel(
                self.dense, self.text_encoder, self.dense_queries, self.table
            )
        if self.store is not None:
            channels["graph"] = GraphChannel(self.links)
        if self.images is not None and self.images.item_image is not None:
            channels["image"] = ImageChannel(
                self.images.item_image, self.images.encoder_id, self.table
            )
        if self.images is not None and self.images.concept_prototype is not None:
            channels["prototype"] = PrototypeChannel(
                self.images.concept_prototype, self.images.encoder_id, self.links
            )
        return channels

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

    # -- the dense channel's use of KG knowledge (retrieval/dense_query.py) ---------------
    @property
    def knowledge_mode(self) -> str:
        """``none``, ``augment`` or ``fusion``: how the dense channel uses matched entries."""
        return self.dense_queries.mode

    @knowledge_mode.setter
    def knowledge_mode(self, mode: str) -> None:
        self.dense_queries.mode = mode

    @property
    def injector(self) -> KnowledgeInjector | None:
        return self.dense_queries.injector

    @property
    def glossary(self) -> EntryGlossary:
        return self.dense_queries.glossary

    def use_injector(self, injector: KnowledgeInjector | None) -> None:
        """Fuse entries with ``injector`` from now on (None: back to input augmentation)."""
        self.dense_queries.use_injector(injector)

    def augmented(self, parsed: ParsedQuery) -> str:
        """The query with the names of the KG entries it matched (input augmentation)."""
        return self.dense_queries.augmented(parsed)

    def dense_query(self, parsed: ParsedQuery) -> tuple[Vectors | None, list[KnowledgeUse]]:
        """The dense channel's query vector (None for an empty query) and the knowledge in it.

        ``knowledge_mode`` picks the use of the matched entries: ``none`` (the bare query),
        ``augment`` (their names appended to the text) or ``fusion`` (the trained module).
        """
        return self.dense_queries.vector(parsed, self.dense_queries.encode_one)

    def entry_vectors(self, texts: Sequence[str]) -> Vectors:
        """Vectors of entry texts (remembered: the dictionary is finite)."""
        return self.dense_queries.entry_vectors(texts)

    # -- admin overrides: what changed in the KG since the build (retrieval/overrides.py) --
    @property
    def postings(self) -> dict[str, dict[str, list[str]]] | None:
        """The graph channel's item lists per KG node, when the build made them."""
        return self.links.postings

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
        self.links.relink(label, key, gone=gone)
        self._attribute_masks.clear()

    def search(
        self, query: str, *, limit: int = 10, channels: Sequence[str] | None = None
    ) -> SearchOutcome:
        parsed = parse_query(query, self.dictionary)
        wanted = set(channels or CHANNELS)
        visual = [c for c in self.image_channels if c in wanted]
        # text -> vector: each text once per search, and the texts known ahead in one call
        encoded = self._encode_ahead(parsed, "dense" in wanted, bool(visual))

        def encode(words: str) -> Vectors:
            if words not in encoded:
                encoded[words] = self.dense_queries.encode_one(words)
            return encoded[words]

        # channel -> what it found: item rows, their scores (normalized to the channel's
        # best, bar the graph's) and why; reasons are worked out for the returned rows only
        asked = ChannelQuery(parsed, parsed.text or query, encode)
        scored: dict[str, ChannelScores] = {}
        for name, channel in self.channels.items():
            if name in wanted and (name in visual or name not in ("image", "prototype")):
                scored[name] = channel.scores(asked)
        knowledge = [use for found in scored.values() for use in found.knowledge]
        return self._fused(parsed, scored, limit, knowledge)

    def _fused(
        self,
        parsed: ParsedQuery,
        scored: dict[str, ChannelScores],
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
        for channel, found in scored.items():
            if not len(found.rows):
                continue
            fused[found.rows] += weights[channel] * found.scores
            allowed[found.rows] = True
            columns[channel] = np.full(len(table), np.nan)
            columns[channel][found.rows] = found.scores
        allowed &= ~table.hidden
        for phrase in parsed.negations:  # what a negation names never appears
            words = _negated_words(phrase)
            if words:  # a phrase of stop words only rules nothing out
                allowed &= ~table.holding(words)
        for _, negated in parsed.negated if "graph" in self.channels else ():
            for entry in self.shades(negated):  # "not blue" rules out navy too
                allowed[self.links.linked_rows(entry).rows] = False
        # the constraints the query states: its price range and each span naming KG entries
        stated, part_reasons = self._constraint_rows(parsed)
        priced = parsed.price_min is not None or parsed.price_max is not None
        if priced:
            everything = np.ones(len(table), dtype=bool)
            within = table.within(everything, parsed.price_min, parsed.price_max)
            stated = {price_label(parsed): within} | stated
        constraints = list(stated)
        met = table.zeros()  # per row, how many of the stated constraints it meets
        for mask in stated.values():
            met += mask
        if priced and (allowed & (met == len(stated))).any():
            allowed &= within  # an exact match exists: the price filters
        rows = np.flatnonzero(allowed)
        total = len(rows)
        exact_total = int((allowed & (met == len(stated))).sum()) if stated else total
        # satisfying more constraints ranks first; the fused score orders within a tier
        tiered = met * TIER + fused
        if limit < 0:
            rows = rows[:0]
        elif 0 < limit < len(rows):  # the best ``limit`` and whatever ties with the last
            values = tiered[rows]
            cut = len(values) - limit
            rows = rows[values >= np.partition(values, cut)[cut]]
        rows = rows[np.lexsort((table.key_rank[rows], -tiered[rows]))]  # ties: by key
        match, relaxed = ("none" if not total else "exact"), []
        if total and stated:  # what the best hit misses, when it misses anything
            best = rows[0] if len(rows) else np.flatnonzero(allowed)[np.argmax(tiered[allowed])]
            relaxed = [name for name, mask in stated.items() if not mask[best]]
            match = "relaxed" if relaxed else "exact"
        if limit > 0:
            rows = rows[:limit]
        chosen = []
        for row in rows.tolist():
            row_scores = {c: float(column[row]) for c, column in columns.items()}
            reasons = [reason for result in scored.values() for reason in result.reasons.of(row)]
            reasons += [r for mask, r in part_reasons if mask[row] and r not in reasons]
            chosen.append(
                Candidate(
                    table.keys[row],
                    {c: score for c, score in row_scores.items() if not math.isnan(score)},
                    reasons,
                    float(fused[row]),
                )
            )
        lexical = ("bm25", "graph")
        weak = bool(total) and not any(len(scored[c].rows) for c in lexical if c in scored)
        weak = weak and any(c in scored for c in lexical)  # a searcher without them can't say
        keyword = self.channels.get("bm25")
        named = any(not span.replace(" ", "").isdigit() for span, _ in parsed.entities)
        if total and isinstance(keyword, KeywordChannel) and not named:
            # most words unknown to the catalog and no KG entry named by a word: what the
            # lexical channels found rests on a stray word or number ("Regenjacke für Damen
            # unter 100 Euro", the "t" of "Tシャツ"); "something for my mum who loves tea"
            # names tea, and is no guess
            weak = weak or keyword.keyword.known_share(parsed.text) < KNOWN_SHARE
        return SearchOutcome(
            parsed,
            chosen,
            self.knowledge_mode,
            knowledge,
            total,
            match,
            relaxed,
            constraints,
            weak and not priced,
            exact_total,
        )

    def _constraint_rows(
        self, parsed: ParsedQuery
    ) -> tuple[dict[str, npt.NDArray[np.bool_]], list[tuple[npt.NDArray[np.bool_], str]]]:
        """Each span of the query that names KG entries → a mask of the item rows linked to
        any of them (an item satisfies "blue" when it holds any value the word names), and
        for a compound span's parts, each part's rows and why they meet it ("windproof")."""
        spans: dict[str, npt.NDArray[np.bool_]] = {}
        reasons: list[tuple[npt.NDArray[np.bool_], str]] = []
        if "graph" not in self.channels:  # no KG to say which items an entry names
            return spans, reasons
        named_by: dict[str, list[DictionaryEntry]] = {}
        for span, named in parsed.entities:
            named_by.setdefault(span, []).append(named)
        for span, entries in named_by.items():
            spans[span] = self._span_rows(span, entries, reasons)
        return spans, reasons

    def _span_rows(
        self,
        span: str,
        entries: Sequence[DictionaryEntry],
        reasons: list[tuple[npt.NDArray[np.bool_], str]],
    ) -> npt.NDArray[np.bool_]:
        """The rows meeting ``span``: linked to any of its entries, less the items whose own
        value of an attribute its values belong to is another one. A men's sandal "a
        favourite among kids" does not meet "for kids" (the audience value kids, or the crowd
        kid) through the crowd; an item holding one of the named values stays, and so does
        one that contradicts only some of the attributes ("kids" is an audience and a
        size)."""
        from extraction.values import canonical_attribute

        mask = self._parts_rows(span, reasons)
        by_attribute: dict[str, list[DictionaryEntry]] = {}
        for entry in entries:
            if entry.label == "Value" and entry.attribute:
                by_attribute.setdefault(canonical_attribute(entry.attribute), []).append(entry)
            else:
                self._link(mask, [entry])
        ruled_out: npt.NDArray[np.bool_] | None = None
        for attribute, values in sorted(by_attribute.items()):
            wanted = np.zeros(len(self.table), dtype=bool)
            self._link(wanted, values)
            mask |= wanted
            other = self._attribute_rows(attribute) & ~wanted
            ruled_out = other if ruled_out is None else ruled_out & other
        return mask & ~ruled_out if ruled_out is not None else mask

    def _attribute_rows(self, attribute: str) -> npt.NDArray[np.bool_]:
        """The rows of items holding any value of ``attribute`` (its canonical name)."""
        if attribute not in self._attribute_masks:
            mask = np.zeros(len(self.table), dtype=bool)
            for entry in self.dictionary.values_of(attribute):
                mask[self.links.linked_rows(entry).rows] = True
            self._attribute_masks[attribute] = mask
        return self._attribute_masks[attribute]

    def _link(self, mask: npt.NDArray[np.bool_], entries: Sequence[DictionaryEntry]) -> None:
        """Set ``mask`` on the rows of the items linked to any of ``entries`` (or a shade)."""
        for named in entries:
            for entry in self.shades(named):
                mask[self.links.linked_rows(entry).rows] = True

    def _parts_rows(
        self, span: str, reasons: list[tuple[npt.NDArray[np.bool_], str]]
    ) -> npt.NDArray[np.bool_]:
        """The items that meet each part of a span naming a compound entry: "windproof
        beanie" (a concept mined from titles) is met by a beanie the KG knows is windproof,
        whatever its title says. Parts are the fewest KG phrases that make up the span;
        each part's rows and reason go on ``reasons``."""
        mask = np.zeros(len(self.table), dtype=bool)
        parts = compound_parts(span.split(), self.dictionary)
        if parts:
            mask[:] = True
            for part in parts:
                part_mask = np.zeros(len(self.table), dtype=bool)
                entries = _properties(self.dictionary.phrases[part])
                self._link(part_mask, entries)
                mask &= part_mask
                reasons.append((part_mask, link_reason(entries[0])))
        return mask

    def shades(self, entry: DictionaryEntry) -> list[DictionaryEntry]:
        """``entry`` and, for a basic colour value ("blue"), every colour value of its family
        the KG holds ("navy", "sky blue", "royal blue")."""
        if not is_value_of(entry, "color"):
            return [entry]
        if self._families is None:
            self._families = colour_families(self.dictionary)
        family = self._families.get(entry.name.lower(), [])
        return [entry, *(e for e in family if e != entry)]

    def _encode_ahead(self, parsed: ParsedQuery, dense: bool, visual: bool) -> dict[str, Vectors]:
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

    # -- what the graph channel links, for the assistant and the admin ---------------------
    def concept_items(self, concept: str) -> tuple[str, tuple[str, ...]]:
        """A concept's name and the items that mention it, by key."""
        name, linked = self.links.concept_rows(concept)
        return name, tuple(sorted(self.table.keys[row] for row in linked.rows.tolist()))

    def linked_items(self, entry: DictionaryEntry) -> list[str]:
        """The items the graph channel links to ``entry``, nearest first."""
        return [self.table.keys[row] for row in self.links.linked_rows(entry).rows.tolist()]


def colour_families(dictionary: EntityDictionary) -> dict[str, list[DictionaryEntry]]:
    """Basic colour (its value's name) → the colour values of the dictionary in its family."""
    from extraction.values import colour_family

    families: dict[str, list[DictionaryEntry]] = {}
    for entry in dictionary.values_of("color"):
        family = colour_family(entry.name)
        if family is not None:
            families.setdefault(family, []).append(entry)
    return families


# what a part of a compound product name may be: what the item is or has ("windproof
# beanie"), never what it is for ("rain jacket" is no jacket for rainy days)
PROPERTY_LABELS = frozenset({"Brand", "Category", "Concept", "POI", "Value"})


def _properties(entries: Sequence[DictionaryEntry]) -> list[DictionaryEntry]:
    return [entry for entry in entries if entry.label in PROPERTY_LABELS]


def compound_parts(
    words: Sequence[str], dictionary: EntityDictionary
) -> list[tuple[str, ...]] | None:
    """The fewest (two or more) KG phrases naming what an item is or has (a POI, a value, a
    kind, a brand) that make up ``words`` in order, or None."""
    best: list[tuple[str, ...]] | None = None

    def split(start: int, parts: list[tuple[str, ...]]) -> None:
        nonlocal best
        if start == len(words):
            if len(parts) >= 2 and (best is None or len(parts) < len(best)):
                best = list(parts)
            return
        for end in range(len(words), start, -1):
            phrase = tuple(words[start:end])
            whole = (start, end) == (0, len(words))
            if not whole and _properties(dictionary.phrases.get(phrase, [])):
                split(end, [*parts, phrase])

    split(0, [])
    return best


KNOWN_SHARE = 0.3  # a query whose words the catalog mostly lacks matches nothing well
TIER = 10.0  # above any fused score (the channels' weights sum to 2)


def price_label(parsed: ParsedQuery) -> str:
    """The query's price range as a shopper reads it."""
    low, high = parsed.price_min, parsed.price_max
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"under {high:g}" if high is not None else f"over {low:g}"


@lru_cache(maxsize=4096)
def _negated_words(phrase: str) -> frozenset[str]:
    return frozenset(tokens(phrase, SEARCH_TERMS))
