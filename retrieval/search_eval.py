"""``shopkg eval search``: relevance judgments derived from the public data, per channel.

- ``epqa``: the ePQA products are the catalog; each question is a query whose one relevant
  item is the product it was asked about (its text is never indexed).
- ``grocery``: the Grocery Store products are the catalog; each coarse class name ("Apple",
  "Juice") is a query whose relevant items are the products of that class.

The catalog is built with the real build (:func:`jobs.build.run_build`) into a scratch data
directory. Fusion weights are tuned on half of the queries (a stable hash split) and every
figure is reported on the other half, the dev half.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from retrieval.qa_data import is_dev
from retrieval.search import FusionWeights, HybridSearcher
from shopkg.errors import RetrievalError
from shopkg.settings import Settings

CHANNELS = ("bm25", "dense", "graph")
GRID = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Judgment:
    qid: str
    query: str
    relevant: frozenset[str]


def judgments(data: Path, data_format: str) -> tuple[Path, str, list[Judgment]]:
    """``(catalog path, reader format, judgments)`` for a data set."""
    if data_format == "epqa":
        file = data / "dev.csv" if data.is_dir() else data
        if not file.is_file():
            raise RetrievalError(f"{file} not found; point --data at ePQA's dev.csv")
        with file.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        found: dict[str, Judgment] = {}
        for row in rows:
            found.setdefault(
                row["qid"], Judgment(row["qid"], row["question"], frozenset({row["ASIN"]}))
            )
        return file, "epqa", list(found.values())
    if data_format == "grocery":
        products = data / "products.jsonl"
        if not products.is_file():
            raise RetrievalError(f"{products} not found; point --data at the grocery directory")
        classes: dict[str, set[str]] = {}
        with products.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    product_row = json.loads(line)
                    key = f"grocery-{product_row['class_id']}"
                    classes.setdefault(product_row["coarse_class"], set()).add(key)
        return (
            data,
            "grocery",
            [
                Judgment(name, name.replace("-", " "), frozenset(keys))
                for name, keys in classes.items()
            ],
        )
    raise RetrievalError(f"unknown search format {data_format!r}; use epqa or grocery")


def ndcg_at_10(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    gains = sum(1.0 / math.log2(i + 2) for i, key in enumerate(ranked[:10]) if key in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return gains / ideal if ideal else 0.0


def recall_at_10(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    return len(set(ranked[:10]) & relevant) / len(relevant) if relevant else 0.0


def _metrics(runs: dict[str, list[str]], queries: Sequence[Judgment]) -> dict[str, float]:
    if not queries:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "queries": 0}
    ndcg = sum(ndcg_at_10(runs[q.qid], q.relevant) for q in queries) / len(queries)
    recall = sum(recall_at_10(runs[q.qid], q.relevant) for q in queries) / len(queries)
    return {"ndcg@10": round(ndcg, 4), "recall@10": round(recall, 4), "queries": len(queries)}


def evaluate(settings: Settings, data: Path, data_format: str) -> dict[str, Any]:
    """Build the catalog into ``settings.data_dir`` and measure every channel and the fusion."""
    from assistant.loader import build_assistant
    from jobs.build import BuildPlan, run_build

    catalog, reader, queries = judgments(data, data_format)
    images = data if data_format == "grocery" else None
    run_build(
        settings,
        BuildPlan(catalog, data_format, images, reader),
        stream=io.StringIO(),
        interactive=False,
    )
    searcher = build_assistant(settings).searcher
    tune = [q for q in queries if not is_dev(q.qid)]
    dev = [q for q in queries if is_dev(q.qid)]
    channel_scores = {q.qid: _channel_scores(searcher, q.query) for q in queries}
    result: dict[str, Any] = {
        "format": data_format,
        "items": len(searcher.items),
        "queries": len(queries),
        "dev_queries": len(dev),
    }
    for channel in CHANNELS:
        runs = {qid: _rank(scores, {channel: 1.0}) for qid, scores in channel_scores.items()}
        result[channel] = _metrics(runs, dev)
    best, best_score = FusionWeights(), -1.0
    for bm25, dense, graph in product(GRID, GRID, GRID):
        if bm25 + dense + graph == 0:
            continue
        weights = {"bm25": bm25, "dense": dense, "graph": graph}
        runs = {q.qid: _rank(channel_scores[q.qid], weights) for q in tune}
        score = _metrics(runs, tune)["ndcg@10"]
        if score > best_score + 1e-9:
            best, best_score = FusionWeights(bm25, dense, graph), score
    weights = {"bm25": best.bm25, "dense": best.dense, "graph": best.graph}
    runs = {qid: _rank(scores, weights) for qid, scores in channel_scores.items()}
    result["fused"] = {**_metrics(runs, dev), "weights": weights}
    default = FusionWeights()
    default_weights = {"bm25": default.bm25, "dense": default.dense, "graph": default.graph}
    runs = {qid: _rank(scores, default_weights) for qid, scores in channel_scores.items()}
    result["fused_default_weights"] = {**_metrics(runs, dev), "weights": default_weights}
    return result


def _channel_scores(searcher: HybridSearcher, query: str) -> dict[str, dict[str, float]]:
    outcome = searcher.search(query, limit=0)
    return {c.key: dict(c.channels) for c in outcome.candidates}


def _rank(scores: dict[str, dict[str, float]], weights: dict[str, float]) -> list[str]:
    fused = {
        key: sum(weights.get(channel, 0.0) * value for channel, value in channels.items())
        for key, channels in scores.items()
    }
    ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    return [key for key, value in ranked if value > 0]
