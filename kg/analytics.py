"""Graph analytics and statistics, on subgraphs exported with :meth:`GraphStore.export_networkx`.

The store answers local questions (a neighborhood, a path); whole-graph questions run here, in
memory, on an exported subgraph: which items and concepts matter most (PageRank, degree), which
nodes are probably duplicates (connected components over SIMILAR_TO and shared names), the
shortest chains of relations that explain why two nodes are related, and the degree
distribution the admin statistics show (:func:`degree_distribution`, which reads the store).

Node ids are ``(label, key)`` tuples, as the export makes them. Results are sorted
deterministically (score, then node id), so the same graph always gives the same answer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Literal, TypeAlias

import networkx as nx
import numpy as np

from kg.schema import fold

NodeId = tuple[str, str]
if TYPE_CHECKING:
    from kg.store import GraphStore

    Graph: TypeAlias = nx.MultiDiGraph[NodeId]

EXACT_UP_TO = 5_000
"""Graphs with at most this many nodes get an exact degree distribution; larger ones a sample."""
SAMPLE_PER_LABEL = 200


@dataclass(frozen=True)
class Ranked:
    """A node and its importance score."""

    node: NodeId
    score: float


@dataclass(frozen=True)
class Hop:
    """One relation of an explanation, in the direction it is stored."""

    start: NodeId
    type: str
    end: NodeId


def _undirected(graph: Graph, weight: str | None) -> nx.Graph[NodeId]:
    """A simple undirected graph; parallel relations add their weights (confidence)."""
    simple: nx.Graph[NodeId] = nx.Graph()
    simple.add_nodes_from(sorted(graph.nodes))
    for u, v, data in graph.edges(data=True):
        w = float(data.get(weight) or 1.0) if weight else 1.0
        if u == v:
            continue
        if simple.has_edge(u, v):
            simple[u][v]["weight"] += w
        else:
            simple.add_edge(u, v, weight=w)
    return simple


def pagerank(
    graph: Graph, *, alpha: float = 0.85, weight: str | None = "confidence", tol: float = 1e-10
) -> dict[NodeId, float]:
    """PageRank over the undirected view (relations count both ways), by power iteration.

    Written with numpy so that it needs no SciPy; dangling nodes spread their rank uniformly.
    """
    simple = _undirected(graph, weight)
    nodes = list(simple.nodes)
    n = len(nodes)
    if n == 0:
        return {}
    index = {node: i for i, node in enumerate(nodes)}
    rows, cols, vals = [], [], []
    for u, v, data in simple.edges(data=True):
        for a, b in ((u, v), (v, u)):
            rows.append(index[b])
            cols.append(index[a])
            vals.append(float(data["weight"]))
    out_weight = np.zeros(n)
    np.add.at(out_weight, cols, vals)
    dangling = out_weight == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(1000):
        spread = np.zeros(n)
        share = np.divide(rank, out_weight, out=np.zeros(n), where=~dangling)
        np.add.at(spread, rows, np.asarray(vals) * share[cols])
        new = alpha * (spread + rank[dangling].sum() / n) + (1 - alpha) / n
        if np.abs(new - rank).sum() < n * tol:
            rank = new
            break
        rank = new
    return {node: float(rank[i]) for node, i in index.items()}


def importance(
    graph: Graph,
    *,
    labels: Iterable[str] | None = ("Item", "Concept"),
    method: Literal["pagerank", "degree"] = "pagerank",
    top: int | None = None,
) -> list[Ranked]:
    """The most important nodes of ``labels`` (all labels when None), highest score first.

    ``pagerank`` rewards being linked to well-linked nodes; ``degree`` counts distinct
    neighbors (normalized by n-1), which is cheaper and easier to explain.
    """
    if method == "pagerank":
        scores = pagerank(graph)
    elif method == "degree":
        simple = _undirected(graph, None)
        scale = max(len(simple) - 1, 1)
        scores = {node: simple.degree(node) / scale for node in simple.nodes}
    else:
        raise ValueError(f"unknown importance method {method!r}; use 'pagerank' or 'degree'")
    wanted = None if labels is None else set(labels)
    ranked = [Ranked(n, s) for n, s in scores.items() if wanted is None or n[0] in wanted]
    ranked.sort(key=lambda r: (-r.score, r.node))
    return ranked[:top] if top is not None else ranked


def merge_candidates(
    graph: Graph, label: str, *, similar: str = "SIMILAR_TO", by_name: bool = True
) -> list[list[NodeId]]:
    """Groups of ``label`` nodes that are probably one thing: connected components of the
    graph whose edges are ``similar`` relations and shared (folded) names or aliases.

    Groups have at least two nodes; each group and the list are sorted.
    """
    linked: nx.Graph[NodeId] = nx.Graph()
    members = sorted(n for n, data in graph.nodes(data=True) if data.get("label") == label)
    linked.add_nodes_from(members)
    for u, v, key in graph.edges(keys=True):
        if key == similar and u[0] == label and v[0] == label and u != v:
            linked.add_edge(u, v)
    if by_name:
        by_text: dict[str, list[NodeId]] = defaultdict(list)
        for node in members:
            data = graph.nodes[node]
            names = [data.get("name"), *(data.get("aliases") or [])]
            for text in {fold(n) for n in names if isinstance(n, str) and n.strip()}:
                by_text[text].append(node)
        for group in by_text.values():
            linked.add_edges_from(pairwise(group))
    groups = [sorted(c) for c in nx.connected_components(linked) if len(c) > 1]
    return sorted(groups)


def explanations(
    graph: Graph,
    start: NodeId,
    end: NodeId,
    *,
    k: int = 3,
    max_hops: int = 4,
    relations: Sequence[str] | None = None,
) -> list[list[Hop]]:
    """Up to ``k`` shortest relation chains between two nodes (relations followed either way),
    e.g. how an item reaches a category: Item -IN_CATEGORY-> Category -IS_A-> Category."""
    view: nx.Graph[NodeId] = nx.Graph()
    view.add_nodes_from(graph.nodes)
    hops_of: dict[frozenset[NodeId], list[Hop]] = defaultdict(list)
    for u, v, key in sorted(graph.edges(keys=True)):
        if u == v or (relations is not None and key not in relations):
            continue
        view.add_edge(u, v)
        hops_of[frozenset((u, v))].append(Hop(u, str(key), v))
    if start not in view or end not in view or not nx.has_path(view, start, end):
        return []
    result: list[list[Hop]] = []
    for path in islice(nx.shortest_simple_paths(view, start, end), k):
        if len(path) - 1 > max_hops:
            break
        result.append([hops_of[frozenset((a, b))][0] for a, b in pairwise(path)])
    return result


@dataclass(frozen=True)
class Degrees:
    """How many relations nodes have: a histogram and the mean per label."""

    histogram: dict[int, int]  # degree -> number of nodes
    mean_by_label: dict[str, float]
    nodes_counted: int
    exact: bool


def degree_distribution(store: GraphStore) -> Degrees:
    """The degree distribution of the whole graph (relations counted both ways).

    Small graphs are counted exactly from a networkx export; large ones from a sample of nodes
    of every label (the first nodes in key order), so the statistics page stays fast on a big
    catalog.
    """
    stats = store.stats()
    if stats.total_nodes <= EXACT_UP_TO:
        graph = store.export_networkx()
        per_node = {node: int(graph.degree(node)) for node in graph.nodes}
        return _summarize({(label, key): d for (label, key), d in per_node.items()}, exact=True)
    sample: dict[tuple[str, str], int] = {}
    for label, count in stats.nodes.items():
        if not count:
            continue
        for page in store.iter_nodes(label, batch_size=SAMPLE_PER_LABEL):
            for record in page:
                sample[(label, record.key)] = len(store.relations_of(record.ref))
            break
    return _summarize(sample, exact=False)


def _summarize(per_node: dict[tuple[str, str], int], *, exact: bool) -> Degrees:
    histogram = Counter(per_node.values())
    totals: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for (label, _key), degree in per_node.items():
        totals[label] += degree
        counts[label] += 1
    means = {label: round(totals[label] / counts[label], 2) for label in sorted(counts)}
    return Degrees(dict(sorted(histogram.items())), means, len(per_node), exact)
