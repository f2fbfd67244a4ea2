"""The channels of hybrid search: each scores the items for one query on its own.

A channel is a small object with one method, :meth:`SearchChannel.scores`: the item rows it
found for a query, their scores normalized to the channel's best (bar the graph's, which
counts matched entries), and why each row was found. :class:`~retrieval.search.HybridSearcher`
holds its channels and fuses what they return.

- :class:`KeywordChannel` (``bm25``): BM25 over item text;
- :class:`DenseChannel` (``dense``): the query vector, with the KG knowledge of
  :mod:`retrieval.dense_query`, against the item-text vectors;
- :class:`GraphChannel` (``graph``): items linked in the KG to the entries the query names;
- :class:`ImageChannel` (``image``): the bare query's text vector against the item-image index;
- :class:`PrototypeChannel` (``prototype``): the same vector against the concepts' visual
  prototypes (FashionKLIP); items mentioning a close concept get its similarity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from encoders.base import TextEncoder, Vectors
from retrieval.dense_query import DenseQuery, KnowledgeUse
from retrieval.graph_links import CANDIDATES, GRAPH_PATHS, NO_ROWS, GraphLinks, link_reason
from retrieval.item_table import ItemTable, Rows
from retrieval.keyword import KeywordIndex
from retrieval.query import DictionaryEntry, ParsedQuery
from retrieval.vector_index import Hit, VectorIndex

Scores = npt.NDArray[np.float64]

PROTOTYPE_CONCEPTS = 3  # the closest concepts whose items the prototype channel returns


@dataclass(frozen=True)
class ChannelQuery:
    """One search's query, as every channel reads it."""

    parsed: ParsedQuery
    text: str  # the keyword text: the parsed text, or the raw query when parsing left none
    encode: Callable[[str], Vectors]  # a text's one-row vector, each text encoded once a search


@dataclass(frozen=True)
class Reasons:
    """One channel's reasons: (rows, phrase) pairs; a row gets the phrase of every pair that
    holds it, or with ``first_only`` of the first one."""

    phrases: list[tuple[frozenset[int], str]] = field(default_factory=list)
    first_only: bool = False

    def of(self, row: int) -> list[str]:
        found = [phrase for rows, phrase in self.phrases if row in rows]
        return found[:1] if self.first_only else found


@dataclass(frozen=True)
class ChannelScores:
    """What a channel found: item rows, their scores, why, and the KG knowledge it read."""

    rows: Rows
    scores: Scores
    reasons: Reasons = field(default_factory=Reasons)
    knowledge: list[KnowledgeUse] = field(default_factory=list)


def nothing(knowledge: list[KnowledgeUse] | None = None) -> ChannelScores:
    return ChannelScores(NO_ROWS, np.zeros(0), knowledge=knowledge or [])


class SearchChannel(Protocol):
    """One way of finding items for a query; scores are fused by the searcher."""

    def scores(self, query: ChannelQuery) -> ChannelScores:
        """The rows found for ``query`` with their scores in [0, 1] (nothing: no rows)."""
        ...


def hit_rows(table: ItemTable, hits: list[tuple[str, float]]) -> ChannelScores:
    """Vector hits as rows (hits that are not items left out), normalized to the best."""
    if not hits:
        return nothing()
    high = max(score for _, score in hits)
    known = [(table.rows[key], score) for key, score in hits if key in table.rows]
    rows = np.array([row for row, _ in known], dtype=np.int64)
    scores = np.array([score for _, score in known], dtype=np.float64)
    return ChannelScores(rows, scores / high if high > 0 else np.zeros(len(rows)))


class KeywordChannel:
    """``bm25``: the best :data:`CANDIDATES` items by BM25 over their text."""

    def __init__(self, keyword: KeywordIndex, table: ItemTable) -> None:
        self.keyword = keyword
        self._rows = np.array(  # BM25 document -> item row (-1: not an item)
            [table.rows.get(key, -1) for key in keyword.keys], dtype=np.int64
        )

    def scores(self, query: ChannelQuery) -> ChannelScores:
        scores = self.keyword.scores(query.text)
        if not len(scores) or scores.max() <= 0:
            return nothing()
        top = np.arange(len(scores))
        if len(scores) > CANDIDATES:
            top = np.argpartition(-scores, CANDIDATES - 1)[:CANDIDATES]
        top = top[scores[top] > 0]
        rows = self._rows[top]
        known = rows >= 0
        return ChannelScores(rows[known], scores[top][known] / scores.max())


class DenseChannel:
    """``dense``: the nearest :data:`CANDIDATES` item-text vectors to the query vector."""

    def __init__(
        self, index: VectorIndex, encoder: TextEncoder, query: DenseQuery, table: ItemTable
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.query = query
        self.table = table

    def scores(self, query: ChannelQuery) -> ChannelScores:
        vector, knowledge = self.query.vector(query.parsed, query.encode)
        if vector is None:
            return nothing(knowledge)
        hits = self.index.search(vector, k=CANDIDATES, encoder_id=self.encoder.encoder_id)
        found = hit_rows(self.table, [(hit.key, max(hit.score, 0.0)) for hit in hits[0]])
        return ChannelScores(found.rows, found.scores, knowledge=knowledge)


class GraphChannel:
    """``graph``: items linked to the matched entries, 1/(entries matched) for each link, and
    the path of each as a reason."""

    def __init__(self, links: GraphLinks) -> None:
        self.links = links

    def scores(self, query: ChannelQuery) -> ChannelScores:
        if not query.parsed.entities:
            return nothing()
        matched = _dedupe(query.parsed.entities)
        table = self.links.table
        scores = table.zeros()
        found = np.zeros(len(table), dtype=bool)
        phrases = []
        for entry in matched:
            linked = self.links.linked_rows(entry)
            scores[linked.rows] += 1.0 / len(matched)
            found[linked.rows] = True
            phrases.append((linked.members, link_reason(entry)))
        rows = np.flatnonzero(found)
        return ChannelScores(rows, scores[rows], Reasons(phrases))


class ImageChannel:
    """``image``: the items whose photos (mean image vector) are nearest the bare query."""

    def __init__(self, index: VectorIndex, encoder_id: str, table: ItemTable) -> None:
        self.index = index
        self.encoder_id = encoder_id  # the image encoder's, recorded by its index
        self.table = table

    def scores(self, query: ChannelQuery) -> ChannelScores:
        text = query.parsed.text
        if not text.strip():
            return nothing()
        hits = self.index.search(query.encode(text), k=CANDIDATES, encoder_id=self.encoder_id)
        found = hit_rows(self.table, [(hit.key, hit.score) for hit in hits[0] if hit.score > 0])
        reason = f"looks like “{text}” in its photos"
        return ChannelScores(
            found.rows, found.scores, Reasons([(frozenset(found.rows.tolist()), reason)])
        )


class PrototypeChannel:
    """``prototype``: items mentioning the concepts whose prototypes are closest to the bare
    query; an item gets its closest concept's similarity and "looks like a <concept>"."""

    def __init__(self, index: VectorIndex, encoder_id: str, links: GraphLinks) -> None:
        self.index = index
        self.encoder_id = encoder_id  # the image encoder's, recorded by its index
        self.links = links

    def scores(self, query: ChannelQuery) -> ChannelScores:
        text = query.parsed.text
        if not text.strip():
            return nothing()
        hits: list[Hit] = self.index.search(
            query.encode(text), k=PROTOTYPE_CONCEPTS, encoder_id=self.encoder_id
        )[0]
        table = self.links.table
        best = table.zeros()
        found = np.zeros(len(table), dtype=bool)
        concepts = []
        for hit in hits:  # best first: an item keeps its closest concept's similarity
            if hit.score <= 0:
                continue
            name, linked = self.links.concept_rows(hit.key)
            new = linked.rows[~found[linked.rows]]
            best[new] = hit.score
            found[new] = True
            concepts.append((linked.members, f"looks like a {name}"))
        rows = np.flatnonzero(found)
        scores = best[rows]
        high = scores.max() if len(scores) else 0.0
        return ChannelScores(
            rows,
            scores / high if high > 0 else np.zeros(len(rows)),
            Reasons(concepts, first_only=True),  # its closest concept
        )


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
