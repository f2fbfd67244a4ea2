"""Vector index benchmark: build time, query latency p50/p95, QPS and recall@10 vs exact.

Data are synthetic unit vectors drawn around a few thousand cluster centres, which behaves
much more like real sentence embeddings than uniform noise. Every size is measured with the
exact (flat) index in the same run, which is also the ground truth for recall.

    .venv/bin/python bench/index_bench.py --sizes 100000,1000000

The last line of stdout is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.vector_index import IndexConfig, VectorIndex

Array = npt.NDArray[np.float32]
ENCODER = "bench@1/384"


def clustered(n: int, dim: int, rng: np.random.Generator, centres: Array) -> Array:
    """``n`` unit vectors scattered around random ``centres``."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        which = rng.integers(0, len(centres), size)
        chunk = centres[which] + rng.normal(0, 0.06, (size, dim)).astype(np.float32)
        out[start : start + size] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def latencies(index: VectorIndex, queries: Array, k: int) -> dict[str, float]:
    """One query at a time, as an online search does it."""
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query[None], k)
        times.append(time.perf_counter() - started)
    ms = np.asarray(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
    }


def build(keys: list[str], data: Array, config: IndexConfig) -> tuple[VectorIndex, float]:
    index = VectorIndex("item_text", ENCODER, data.shape[1], config)
    started = time.perf_counter()
    for start in range(0, len(keys), 100_000):
        index.add(keys[start : start + 100_000], data[start : start + 100_000])
    return index, time.perf_counter() - started


def bench_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(n)
    centres = rng.normal(size=(max(64, n // 200), args.dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = clustered(n, args.dim, rng, centres)
    queries = clustered(args.queries, args.dim, rng, centres)
    keys = [f"item:{i}" for i in range(n)]
    result: dict[str, Any] = {"size": n, "dim": args.dim, "queries": args.queries}

    flat, seconds = build(keys, data, IndexConfig(kind="flat", use_gpu=False))
    started = time.perf_counter()
    truth = flat.search(queries, args.k)
    batch_seconds = time.perf_counter() - started
    result["flat"] = {
        "build_s": round(seconds, 2),
        "qps_batch": round(len(queries) / batch_seconds, 1),
        **latencies(flat, queries[: args.flat_latency_queries], args.k),
        "recall@10": 1.0,
    }
    truth_keys = [{hit.key for hit in row} for row in truth]
    del flat

    config = IndexConfig(kind="hnsw", hnsw_m=args.m, ef_construction=args.ef_construction)
    hnsw, seconds = build(keys, data, config)
    result["hnsw"] = {
        "build_s": round(seconds, 2),
        "M": args.m,
        "ef_construction": args.ef_construction,
        "by_ef_search": {},
    }
    for ef in args.ef_search:
        hnsw.config = IndexConfig(kind="hnsw", hnsw_m=args.m, ef_search=ef)
        started = time.perf_counter()
        found = hnsw.search(queries, args.k)
        batch_seconds = time.perf_counter() - started
        recall = np.mean(
            [
                len({h.key for h in row} & want) / len(want)
                for row, want in zip(found, truth_keys, strict=True)
            ]
        )
        result["hnsw"]["by_ef_search"][str(ef)] = {
            "recall@10": round(float(recall), 4),
            "qps_batch": round(len(queries) / batch_seconds, 1),
            **latencies(hnsw, queries, args.k),
        }
        print(
            json.dumps({"size": n, "ef_search": ef, **result["hnsw"]["by_ef_search"][str(ef)]}),
            flush=True,
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--flat-latency-queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--ef-search", default="32,64,96,128")
    parser.add_argument("--threads", type=int, default=0, help="FAISS threads (0: default)")
    args = parser.parse_args()
    args.ef_search = [int(x) for x in args.ef_search.split(",")]
    import faiss

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    results = [bench_size(int(size), args) for size in args.sizes.split(",")]
    print(
        json.dumps(
            {
                "benchmark": "index",
                "faiss": faiss.__version__,
                "threads": faiss.omp_get_max_threads(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
