"""The graph channel's postings: for every KG node a query can name, the items it implies.

At query time the graph channel needs, for each matched entry, the items linked to it along
its path (:data:`retrieval.graph_links.GRAPH_PATHS`: an item holding a value, in a category or a
sub-category, that solves a problem, …). Asking the graph store once per matched term
costs hundreds of milliseconds on a large catalog (a value shared by thousands of items), so
the build computes every list once, with the same meaning as
``store.neighborhood(node, hops, labels=["Item"], relations=path, direction="in",
limit=LIMIT)`` — nearest first, then by key — from one export of the graph, and saves it
beside the indexes. Search reads it from memory and asks the store only for nodes the file
does not know (added after the build, e.g. by an admin).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.artifacts import IndexLayout
from retrieval.graph_links import CONCEPT_MENTIONS, GRAPH_PATHS, HOPS, LINKED_ITEMS

if TYPE_CHECKING:
    from kg import GraphStore

LIMIT = LINKED_ITEMS  # items per node, as the channel's store query asks for

# label → (relation types followed backwards, hops): the graph channel's own paths
PATHS: dict[str, tuple[tuple[str, ...], int]] = {
    label: (relations, HOPS.get(label, 1)) for label, (relations, _) in GRAPH_PATHS.items()
}
# section → (label of its nodes, relation types followed backwards, hops)
SECTIONS: dict[str, tuple[str, tuple[str, ...], int]] = {
    **{label: (label, relations, hops) for label, (relations, hops) in PATHS.items()},
    CONCEPT_MENTIONS: ("Concept", ("MENTIONS",), 1),
}


def compute_postings(store: GraphStore) -> dict[str, dict[str, list[str]]]:
    """section → node key → linked item keys (nearest first, then by key; at most LIMIT).

    A section is a node label (the graph channel's path for it) or :data:`CONCEPT_MENTIONS`.
    """
    types = sorted({t for _, relations, _ in SECTIONS.values() for t in relations})
    labels = sorted({label for label, _, _ in SECTIONS.values()})
    graph = store.export_networkx(labels=("Item", *labels), relations=types)
    # into[node][type] = nodes with a relation of that type pointing at node
    into: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for start, end, rel_type in graph.edges(keys=True):
        into[end][rel_type].append(start)
    postings: dict[str, dict[str, list[str]]] = {}
    for section, (label, relations, hops) in SECTIONS.items():
        found: dict[str, list[str]] = {}
        for node in graph.nodes:
            if node[0] != label:
                continue
            found[node[1]] = _reach(node, relations, hops, into)
        postings[section] = found
    return postings


def _reach(
    origin: tuple[str, str],
    relations: tuple[str, ...],
    hops: int,
    into: dict[tuple[str, str], dict[str, list[tuple[str, str]]]],
) -> list[str]:
    seen = {origin}
    frontier = [origin]
    items: list[tuple[int, str]] = []
    for distance in range(1, hops + 1):
        reached = []
        for node in frontier:
            for rel_type in relations:
                for other in into.get(node, {}).get(rel_type, ()):
                    if other not in seen:
                        seen.add(other)
                        reached.append(other)
        items.extend((distance, key) for label, key in reached if label == "Item")
        frontier = reached
    items.sort()
    return [key for _, key in items[:LIMIT]]


def save_postings(postings: dict[str, dict[str, list[str]]], index_dir: Path) -> Path:
    path = IndexLayout(index_dir).postings
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(postings, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def load_postings(index_dir: Path) -> dict[str, dict[str, list[str]]] | None:
    """The saved postings, or None when the build made none (search asks the store)."""
    path = IndexLayout(index_dir).postings
    if not path.is_file():
        return None
    data: dict[str, dict[str, list[str]]] = json.loads(path.read_text(encoding="utf-8"))
    return data
