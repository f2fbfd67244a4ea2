"""Degree distribution of the graph for the statistics page (no Flask in here).

Small graphs are counted exactly from a networkx export; large ones from a sample of nodes of
every label (the first nodes in key order), so the page stays fast on a big catalog.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kg import GraphStore

EXACT_UP_TO = 5_000
SAMPLE_PER_LABEL = 200


@dataclass(frozen=True)
class Degrees:
    histogram: dict[int, int]  # degree -> number of nodes
    mean_by_label: dict[str, float]
    nodes_counted: int
    exact: bool


def degree_distribution(store: GraphStore) -> Degrees:
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
