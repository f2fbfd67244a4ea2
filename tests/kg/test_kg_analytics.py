"""Graph analytics on exported subgraphs: importance, merge candidates, explanations, degrees."""

from __future__ import annotations

import networkx as nx
import pytest

from kg import GraphStore, NodeRef, NodeRow, RelationRow, analytics
from kg.analytics import (
    Hop,
    degree_distribution,
    explanations,
    importance,
    merge_candidates,
    pagerank,
)

from .conftest import Shop


def test_pagerank_matches_networkx() -> None:
    graph: nx.MultiDiGraph[tuple[str, str]] = nx.MultiDiGraph()
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("a", "b")]
    for i, (u, v) in enumerate(edges):  # a-b twice: parallel relations add up
        graph.add_edge(("X", u), ("X", v), key=f"R{i}", confidence=1.0)
    graph.add_node(("X", "alone"))
    ours = pagerank(graph, tol=1e-12)
    weighted: nx.Graph[tuple[str, str]] = nx.Graph()
    weighted.add_nodes_from(graph.nodes)
    for u, v in edges:
        w = weighted.get_edge_data(("X", u), ("X", v), {"weight": 0.0})["weight"]
        weighted.add_edge(("X", u), ("X", v), weight=w + 1.0)
    expected = nx.pagerank(weighted, weight="weight", tol=1e-12)
    assert ours == pytest.approx(expected, abs=1e-8)
    assert sum(ours.values()) == pytest.approx(1.0)


def test_importance_ranks_the_hub_item_first(store: GraphStore, shop: Shop) -> None:
    graph = store.export_networkx()
    by_rank = importance(graph, labels=["Item"])
    assert [r.node for r in by_rank] == [
        ("Item", "boot-1"),
        ("Item", "boot-2"),
        ("Item", "jacket-1"),
    ]
    assert by_rank[0].score > by_rank[1].score > by_rank[2].score
    degree = importance(graph, labels=None, method="degree", top=1)
    assert degree[0].node == ("Item", "boot-1")
    assert degree[0].score == pytest.approx(8 / 16)
    concepts = importance(graph, labels=["Concept"])
    assert {r.node for r in concepts} == {("Concept", "boots"), ("Concept", "footwear")}
    with pytest.raises(ValueError, match="unknown importance method"):
        importance(graph, method="hits")  # type: ignore[arg-type]


def test_merge_candidates_from_similarity_and_shared_names(store: GraphStore, shop: Shop) -> None:
    store.upsert(
        nodes=[
            NodeRow("POI", {"name": "water proof", "aliases": ["Waterproof"]}),
            NodeRow("POI", {"name": "rainproof"}),
            NodeRow("POI", {"name": "airy", "aliases": ["breathable"]}),
        ],
        relations=[
            RelationRow("SIMILAR_TO", NodeRef("POI", "rainproof"), NodeRef("POI", "water proof"))
        ],
    )
    graph = store.export_networkx(labels=["POI"])
    assert merge_candidates(graph, "POI") == [
        [("POI", "airy"), ("POI", "breathable")],
        [("POI", "rainproof"), ("POI", "water proof"), ("POI", "waterproof")],
    ]
    assert merge_candidates(graph, "POI", by_name=False) == [
        [("POI", "rainproof"), ("POI", "water proof")]
    ]


def test_explanations_are_the_shortest_relation_chains(store: GraphStore, shop: Shop) -> None:
    graph = store.export_networkx()
    found = explanations(graph, ("Item", "boot-1"), ("Problem", "wet feet"))
    assert found[0] == [
        Hop(("Item", "boot-1"), "HAS_POI", ("POI", "waterproof")),
        Hop(("POI", "waterproof"), "SOLVES", ("Problem", "wet feet")),
    ]
    assert all(len(chain) >= 2 for chain in found)
    only_categories = explanations(
        graph, ("Item", "boot-1"), ("Item", "boot-2"), relations=["IN_CATEGORY"]
    )
    assert only_categories == [
        [
            Hop(("Item", "boot-1"), "IN_CATEGORY", ("Category", "c-boots")),
            Hop(("Item", "boot-2"), "IN_CATEGORY", ("Category", "c-boots")),
        ]
    ]
    assert explanations(graph, ("Item", "boot-1"), ("Problem", "wet feet"), max_hops=1) == []
    assert explanations(graph, ("Item", "boot-1"), ("Item", "nope")) == []


def test_the_degree_distribution_of_a_small_graph_is_exact(store: GraphStore, shop: Shop) -> None:
    graph = store.export_networkx()
    degrees = degree_distribution(store)
    assert degrees.exact
    assert degrees.nodes_counted == graph.number_of_nodes()
    assert sum(degrees.histogram.values()) == graph.number_of_nodes()
    assert list(degrees.histogram) == sorted(degrees.histogram)
    items = [d for node, d in graph.degree() if node[0] == "Item"]
    assert degrees.mean_by_label["Item"] == round(sum(items) / len(items), 2)
    assert list(degrees.mean_by_label) == sorted(degrees.mean_by_label)


def test_a_large_graph_samples_its_degrees_from_the_store(
    store: GraphStore, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = degree_distribution(store)
    monkeypatch.setattr(analytics, "EXACT_UP_TO", 0)
    sampled = degree_distribution(store)
    assert not sampled.exact
    # every label has fewer nodes than the sample takes, so the sample is the whole graph
    assert (sampled.histogram, sampled.mean_by_label) == (exact.histogram, exact.mean_by_label)
    monkeypatch.setattr(analytics, "SAMPLE_PER_LABEL", 1)
    assert degree_distribution(store).nodes_counted == len(
        [n for n, c in store.stats().nodes.items() if c]
    )
