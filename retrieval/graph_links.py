"""The items a KG node implies, as item rows: what the graph and prototype channels read.

Each node a query can name (a value, a brand, a category, a concept, …) implies the items
linked to it along its path (:data:`GRAPH_PATHS`). The build computes every list once
(:mod:`retrieval.graph_postings`); the store is asked only for nodes the build did not see
(added or changed by an admin since). What was read is remembered for a while: queries keep
naming the same colours, categories and brands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np

from retrieval.item_table import ItemTable, Rows
from retrieval.query import DictionaryEntry

if TYPE_CHECKING:
    from kg import GraphStore

T = TypeVar("T")

CANDIDATES = 200  # how many items a channel returns at most (the graph's: see LINKED_ITEMS)
LINKED_ITEMS = 2000  # items per matched entry the graph channel reads from the store
# KG reads per entry/concept are remembered this long (admin edits show up after it) and for
# at most this many entries: queries keep naming the same colours, categories and brands
KG_CACHE_SECONDS = 60.0
KG_CACHE_ENTRIES = 4096

# the relation path from a matched entry's node to the items it implies, and how to say it
GRAPH_PATHS: dict[str, tuple[tuple[str, ...], str]] = {
    "Value": (("HAS_VALUE",), "has {attribute} {name}"),
    "Brand": (("HAS_BRAND",), "by {name}"),
    "Category": (("IN_CATEGORY", "IS_A"), "in {name}"),
    "Concept": (("MENTIONS", "IS_A"), "is a {name}"),
    "Scene": (("SUITS",), "suits {name}"),
    "Crowd": (("SUITS",), "for {name}"),
    "POI": (("HAS_POI",), "{name}"),
    # the item's own SOLVES (never through its POIs: a POI's problems belong to other kinds
    # of item too, see extraction.item_problems)
    "Problem": (("SOLVES",), "helps with {name}"),
}
# labels whose items lie more than one hop away, and how many: a category holds the items of
# its sub-categories two levels down ("Apparel" the items of "Apparel > Tops > T-Shirts":
# three hops, the most a store's neighbourhood query takes), a concept those of its
# sub-concepts
HOPS = {"Category": 3, "Concept": 2}


def link_reason(entry: DictionaryEntry) -> str:
    """Why an item linked to ``entry`` is a hit, as its graph path says it ("has color red",
    "is a beanie", "windproof")."""
    return GRAPH_PATHS[entry.label][1].format(name=entry.name, attribute=entry.attribute or "value")


# the postings section of each concept's mentioning items (the prototype channel's one hop)
CONCEPT_MENTIONS = "Concept.MENTIONS"


@dataclass(frozen=True)
class Linked:
    """The item rows linked to one KG node, as an array (scores) and a set (reasons)."""

    rows: Rows
    members: frozenset[int]

    @classmethod
    def of(cls, rows: Rows) -> Linked:
        return cls(rows, frozenset(rows.tolist()))


NO_ROWS: Rows = np.zeros(0, dtype=np.int64)


class GraphLinks:
    """The build's postings, the store for what they miss, and the reads remembered."""

    def __init__(
        self,
        table: ItemTable,
        store: GraphStore | None,
        postings: dict[str, dict[str, list[str]]] | None,
    ) -> None:
        self.table = table
        self.store = store
        self.postings = postings  # the item lists per node, when the build made them
        self._reads: dict[tuple[str, str], tuple[float, object]] = {}  # -> (read at, value)

    def relink(self, label: str, key: str, *, gone: bool) -> None:
        """KG node ``(label, key)`` changed after the build: it links no items when ``gone``,
        else the store, which holds the change, is asked instead of the build's postings."""
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
        self._reads.clear()

    def _remembered(self, kind: str, key: str, read: Callable[[], T]) -> T:
        """``read()``, remembered for :data:`KG_CACHE_SECONDS` (the KG changes with builds
        and admin edits only); thread-safe enough: a race reads the KG twice."""
        now = time.monotonic()
        found = self._reads.get((kind, key))
        if found is not None and now - found[0] < KG_CACHE_SECONDS:
            return cast(T, found[1])  # stored by this kind's read
        value = read()
        if len(self._reads) >= KG_CACHE_ENTRIES:
            self._reads.clear()
        self._reads[(kind, key)] = (now, value)
        return value

    # -- the items of a concept (the prototype channel) ----------------------------------
    def concept_rows(self, concept: str) -> tuple[str, Linked]:
        """A concept's name and the items that mention it."""
        return self._remembered("concept", concept, lambda: self._read_concept_rows(concept))

    def _read_concept_rows(self, concept: str) -> tuple[str, Linked]:
        from kg import NodeRef

        ref = NodeRef("Concept", concept)
        store = self.store
        node = store.get_node(ref) if store is not None else None
        if store is None or node is None:
            return concept, Linked.of(NO_ROWS)
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
        return node.name or concept, Linked.of(self.table.rows_of(sorted(known)))

    # -- the items of a matched entry (the graph channel) --------------------------------
    def linked_rows(self, entry: DictionaryEntry) -> Linked:
        """The item rows linked to ``entry`` along its path, nearest first."""
        return self._remembered(
            entry.label, entry.key, lambda: Linked.of(self.table.rows_of(self._linked(entry)))
        )

    def _linked(self, entry: DictionaryEntry) -> list[str]:
        from kg import NodeRef

        known = (self.postings or {}).get(entry.label, {}).get(entry.key)
        if known is not None:  # computed by the build (retrieval/graph_postings.py)
            return known
        assert self.store is not None, "the graph channel runs only with a store"
        relations, _ = GRAPH_PATHS[entry.label]
        hops = HOPS.get(entry.label, 1)
        neighbors = self.store.neighborhood(
            NodeRef(entry.label, entry.key),
            hops=hops,
            limit=LINKED_ITEMS,
            labels=["Item"],
            relations=relations,
            direction="in",  # items point at what they hold; follow those relations back
        )
        return [n.node.key for n in neighbors]
