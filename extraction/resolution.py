"""Entity resolution: names of one label that mean the same thing become one node.

Candidate pairs are blocked by label and first token (so "Nike" meets "Nike Inc." but never
"Adidas"); a pair links when its rapidfuzz ratio reaches the threshold, or, given an encoder
callable, when its embeddings' cosine does. Linked names form networkx connected components;
each merge keeps which names were merged, the pair scores and the method, as provenance.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Encoder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
RESOLVER = "shopkg.entity_resolution@1"


@dataclass(frozen=True)
class Merge:
    """Names of one label merged into ``canonical`` (the most frequent), with pair scores."""

    label: str
    canonical: str
    members: tuple[str, ...]
    scores: tuple[tuple[str, str, float, str], ...]

    @property
    def confidence(self) -> float:
        return round(min(score for _, _, score, _ in self.scores) / 100, 4)


def resolve(
    names: Mapping[str, Counter[str]],
    threshold: float = 92.0,
    encoder: Encoder | None = None,
    cosine_threshold: float = 0.92,
) -> list[Merge]:
    """Merges per label; ``names`` maps a label to its names with how often each occurs."""
    import networkx as nx
    from rapidfuzz import fuzz

    merges: list[Merge] = []
    for label, counts in sorted(names.items()):
        blocks: dict[str, list[str]] = defaultdict(list)
        for name in sorted(counts):
            blocks[re.split(r"[\s\-_/]+", name.strip().lower(), maxsplit=1)[0]].append(name)
        graph: nx.Graph[str] = nx.Graph()
        scores: dict[frozenset[str], tuple[float, str]] = {}
        for block in blocks.values():
            if len(block) < 2:
                continue
            vectors = _normalized(encoder(block)) if encoder else None
            for i, a in enumerate(block):
                for j in range(i + 1, len(block)):
                    b = block[j]
                    ratio = fuzz.ratio(_squash(a), _squash(b))
                    if ratio >= threshold:
                        graph.add_edge(a, b)
                        scores[frozenset((a, b))] = (round(ratio, 2), "string")
                    elif vectors is not None:
                        cosine = sum(x * y for x, y in zip(vectors[i], vectors[j], strict=True))
                        if cosine >= cosine_threshold:
                            graph.add_edge(a, b)
                            scores[frozenset((a, b))] = (round(100 * cosine, 2), "embedding")
        for component in nx.connected_components(graph):
            members = tuple(sorted(component))
            canonical = max(members, key=lambda n: (counts[n], -len(n), n))
            pair_scores = tuple(
                (*sorted(pair), score, method)
                for pair, (score, method) in sorted(scores.items(), key=lambda kv: sorted(kv[0]))
                if pair <= component
            )
            merges.append(Merge(label, canonical, members, pair_scores))  # type: ignore[arg-type]
    return merges


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _normalized(vectors: Sequence[Sequence[float]]) -> list[list[float]]:
    out = []
    for vector in vectors:
        norm = sum(x * x for x in vector) ** 0.5 or 1.0
        out.append([x / norm for x in vector])
    return out
