"""``shopkg eval search``: relevance judgments derived from the public data, per channel.

- ``epqa``: the ePQA products are the catalog; each question is a query whose one relevant
  item is the product it was asked about (its text is never indexed).
- ``grocery``: the Grocery Store products are the catalog; each coarse class name ("Apple",
  "Juice") is a query whose relevant items are the products of that class.

The catalog is built with the real build (:func:`jobs.build.run_build`) into a scratch data
directory. Fusion weights are tuned on half of the queries (a stable hash split) and every
figure is reported on the other half, the dev half.

The knowledge-injection ablation reruns the dense channel, in the same run, without the KG
entries (``none``), with their names appended (``augment``) and with the trained fusion module
(``fusion``, when one is given), and reports each mode's dense channel and fused result (fusion
weights tuned per mode on the tuning half), on all dev queries and on those naming an entry.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.errors import RetrievalError
from foundation.settings import Settings
from retrieval.qa_data import is_dev
from retrieval.query import parse_query
from retrieval.search import CHANNELS, FusionWeights, HybridSearcher

if TYPE_CHECKING:
    from assistant.service import Assistant
    from retrieval.injection import KnowledgeInjector

GRID = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# the image channels (only where the build has an aligned image encoder) on a coarser grid
IMAGE_GRID = (0.0, 0.2, 0.4, 0.6)
IMAGE_CHANNELS = ("image", "prototype")


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


def build_catalog(
    settings: Settings, data: Path, data_format: str
) -> tuple[Assistant, list[Judgment]]:
    """Build the data set's catalog into ``settings.data_dir``; the assistant and judgments."""
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
    return build_assistant(settings), queries


def evaluate(
    settings: Settings,
    data: Path,
    data_format: str,
    injector: KnowledgeInjector | None = None,
) -> dict[str, Any]:
    """Build the catalog into ``settings.data_dir`` and measure every channel and the fusion.

    ``injector`` (a trained knowledge-injection module) is what the dense channel uses; without
    one it appends entry names, as the assistant does when no module was trained.
    """
    assistant, queries = build_catalog(settings, data, data_format)
    searcher = assistant.searcher
    searcher.use_injector(injector)
    tune = [q for q in queries if not is_dev(q.qid)]
    dev = [q for q in queries if is_dev(q.qid)]
    others = ("bm25", "graph", *searcher.image_channels)
    base = {q.qid: _channel_scores(searcher, q.query, others) for q in queries}
    modes = ["none", "augment"] + (["fusion"] if injector is not None else [])
    dense: dict[str, dict[str, dict[str, float]]] = {}
    for mode in modes:
        searcher.knowledge_mode = mode
        dense[mode] = {q.qid: _dense_scores(searcher, q.query) for q in queries}
    searcher.use_injector(injector)
    served = searcher.knowledge_mode
    channel_scores = _merged(base, dense[served])
    result: dict[str, Any] = {
        "format": data_format,
        "items": len(searcher.items),
        "queries": len(queries),
        "dev_queries": len(dev),
        "knowledge_mode": served,
        "image_channels": list(searcher.image_channels),
    }
    for channel in ("bm25", "dense", "graph", *searcher.image_channels):
        runs = {qid: _rank(scores, {channel: 1.0}) for qid, scores in channel_scores.items()}
        result[channel] = _metrics(runs, dev)
    result.update(_fused(channel_scores, tune, dev))
    named = [q for q in dev if parse_query(q.query, searcher.dictionary).entities]
    ablation: dict[str, Any] = {"dev_queries_naming_entries": len(named)}
    for mode in modes:
        scores = _merged(base, dense[mode])
        dense_runs = {qid: _rank(s, {"dense": 1.0}) for qid, s in scores.items()}
        fused = _fused(scores, tune, dev)
        ablation[mode] = {
            "dense": _metrics(dense_runs, dev),
            "dense_naming_entries": _metrics(dense_runs, named),
            "fused": fused["fused"],
            "fused_default_weights": fused["fused_default_weights"],
        }
    if injector is None:
        ablation["fusion"] = "no trained module: run `shopkg train injection` first"
    else:
        ablation["module"] = {
            "text_encoder_id": injector.text_encoder_id,
            **{k: injector.config.meta.get(k) for k in ("counts", "best_epoch", "trained_on")},
        }
    result["injection"] = ablation
    return result


def _fused(
    channel_scores: dict[str, dict[str, dict[str, float]]],
    tune: Sequence[Judgment],
    dev: Sequence[Judgment],
) -> dict[str, Any]:
    """The fusion with weights tuned on ``tune`` and with the defaults, measured on ``dev``."""
    present = {c for scores in channel_scores.values() for s in scores.values() for c in s}
    grids = [
        (IMAGE_GRID if c in present else (0.0,)) if c in IMAGE_CHANNELS else GRID for c in CHANNELS
    ]
    best, best_score = dict.fromkeys(CHANNELS, 0.0), -1.0
    for combination in product(*grids):
        if sum(combination) == 0:
            continue
        weights = dict(zip(CHANNELS, combination, strict=True))
        runs = {q.qid: _rank(channel_scores[q.qid], weights) for q in tune}
        score = _metrics(runs, tune)["ndcg@10"]
        if score > best_score + 1e-9:
            best, best_score = weights, score
    result: dict[str, Any] = {}
    weights = _shown(best, present)
    runs = {qid: _rank(scores, weights) for qid, scores in channel_scores.items()}
    result["fused"] = {**_metrics(runs, dev), "weights": weights}
    default_weights = _shown(asdict(FusionWeights()), present)
    runs = {qid: _rank(scores, default_weights) for qid, scores in channel_scores.items()}
    result["fused_default_weights"] = {**_metrics(runs, dev), "weights": default_weights}
    return result


def _shown(weights: dict[str, float], present: set[str]) -> dict[str, float]:
    """The weights of the text channels, and of the image channels where they ran."""
    return {c: w for c, w in weights.items() if c not in IMAGE_CHANNELS or c in present}


def _dense_scores(searcher: HybridSearcher, query: str) -> dict[str, float]:
    return {k: s["dense"] for k, s in _channel_scores(searcher, query, ("dense",)).items()}


def _merged(
    base: dict[str, dict[str, dict[str, float]]], dense: dict[str, dict[str, float]]
) -> dict[str, dict[str, dict[str, float]]]:
    """Per query, each candidate's bm25/graph scores with one mode's dense score added."""
    merged: dict[str, dict[str, dict[str, float]]] = {}
    for qid, scores in base.items():
        candidates = {key: dict(channels) for key, channels in scores.items()}
        for key, value in dense.get(qid, {}).items():
            candidates.setdefault(key, {})["dense"] = value
        merged[qid] = candidates
    return merged


def _channel_scores(
    searcher: HybridSearcher, query: str, channels: Sequence[str] = CHANNELS
) -> dict[str, dict[str, float]]:
    outcome = searcher.search(query, limit=0, channels=channels)
    return {c.key: dict(c.channels) for c in outcome.candidates}


def _rank(scores: dict[str, dict[str, float]], weights: dict[str, float]) -> list[str]:
    fused = {
        key: sum(weights.get(channel, 0.0) * value for channel, value in channels.items())
        for key, channels in scores.items()
    }
    ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    return [key for key, value in ranked if value > 0]
