"""Knowledge-graph store benchmark on a synthetic catalog (seeded, deterministic).

A catalog of ``--items`` items (default 100k) with categories in a tree, Zipf-distributed
brands, attribute values, points of interest and the problems they solve, scenes, crowds,
concepts, images, source records and dictionary entries: about 12 relations per item (~1.2M at
100k). Measured on the Kùzu store (a fresh one in a temporary directory), or on any graph
``--graph`` names (``kuzu:///dir`` or ``bolt://host:7687``, credentials from
``SHOPKG_NEO4J_USER``/``SHOPKG_NEO4J_PASSWORD``), so both backends are measured by the same
command in the same window:

* batched upsert throughput (nodes/s, relations/s), and a re-upsert of a batch (idempotency);
* 2-hop neighborhood latency, limit 50, p50/p95 (both directions, and outgoing only; outgoing
  again with the node cache off, the baseline);
* full-text lookup latency p50/p95, over every searchable label and over dictionary entries;
* a baseline in the same run: naive row-at-a-time MERGE, and one ``UNWIND $rows ... MERGE``
  statement per batch, on a small sample of fresh relations, so the speed-up is shown.

    .venv/bin/python bench/kg_bench.py --items 100000
    .venv/bin/python bench/kg_bench.py --items 100000 --graph bolt://localhost:7687 --clear

The last line of stdout is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from foundation.settings import parse_graph_uri
from kg import GraphStore, NodeRef, NodeRow, Provenance, RelationRow, store_from_uri
from kg.kuzu_store import KuzuStore
from kg.neo4j_store import Neo4jStore

ATTRIBUTES = {
    "color": 30, "material": 40, "size": 20, "style": 60, "pattern": 25,
    "fit": 10, "season": 4, "gender": 3, "weight": 120, "length": 80,
}  # fmt: skip
UNITS = {"weight": "g", "length": "cm"}


class Catalog:
    """The synthetic catalog: node rows per label and relation rows, generated lazily."""

    def __init__(self, items: int, seed: int) -> None:
        self.items = items
        self.rng = random.Random(seed)
        self.words = [self._word() for _ in range(3000)]
        self.leaves = max(10, items // 100)
        self.brands = [self._phrase(1, 2) for _ in range(max(20, items // 50))]
        self.pois = sorted({self._phrase(1, 2) for _ in range(300)})
        self.problems = sorted({self._phrase(2, 3) for _ in range(150)})
        self.scenes = sorted({self._phrase(2, 3) for _ in range(80)})
        self.crowds = sorted({self._phrase(1, 2) for _ in range(40)})
        self.concepts = sorted({self._phrase(1, 3) for _ in range(500)})
        self.entries = sorted({self._phrase(1, 2) for _ in range(2000)})
        self.prov = Provenance(source="", extractor="bench@1", confidence=0.9)

    def _word(self) -> str:
        letters = "abcdefghijklmnopqrstuvwxyz"
        return "".join(self.rng.choice(letters) for _ in range(self.rng.randint(4, 9)))

    def _phrase(self, low: int, high: int) -> str:
        return " ".join(self.rng.choice(self.words) for _ in range(self.rng.randint(low, high)))

    def _zipf(self, n: int) -> int:
        """An index in [0, n) with a long tail: a few hubs, many rare ones."""
        return min(n - 1, int(n * self.rng.random() ** 3))

    def nodes(self) -> Iterator[tuple[str, list[NodeRow]]]:
        yield (
            "Category",
            [
                NodeRow("Category", {"key": f"c{i}", "name": self._phrase(1, 2), "depth": d})
                for d, i in self._category_ids()
            ],
        )
        yield "Brand", [NodeRow("Brand", {"name": b}) for b in self.brands]
        yield (
            "Value",
            [
                NodeRow("Value", {"attribute": a, "value": f"{a} v{i}", "unit": UNITS.get(a, "")})
                for a, n in ATTRIBUTES.items()
                for i in range(n)
            ],
        )
        for label, names in (
            ("POI", self.pois),
            ("Problem", self.problems),
            ("Scene", self.scenes),
            ("Crowd", self.crowds),
            ("Concept", self.concepts),
        ):
            yield label, [NodeRow(label, {"name": n}, self.prov) for n in names]
        yield (
            "Entry",
            [NodeRow("Entry", {"name": n, "gloss": self._phrase(5, 12)}) for n in self.entries],
        )
        yield (
            "Item",
            [
                NodeRow(
                    "Item",
                    {
                        "key": f"item-{i}",
                        "name": self._title(),
                        "price": round(self.rng.uniform(1, 500), 2),
                    },
                )
                for i in range(self.items)
            ],
        )
        yield (
            "Image",
            [
                NodeRow(
                    "Image", {"content_hash": f"{i:064x}", "path": f"img/{i}.jpg", "width": 800}
                )
                for i in range(self.items)
            ],
        )
        yield (
            "Source",
            [NodeRow("Source", {"key": f"rec-{i}", "kind": "catalog"}) for i in range(self.items)],
        )

    def _category_ids(self) -> list[tuple[int, int]]:
        roots, mids = 10, max(10, self.leaves // 10)
        return (
            [(0, i) for i in range(roots)]
            + [(1, roots + i) for i in range(mids)]
            + [(2, roots + mids + i) for i in range(self.leaves)]
        )

    def _title(self) -> str:
        return (
            f"{self.rng.choice(self.brands)} {self._phrase(2, 4)} {self.rng.choice(self.concepts)}"
        )

    def relations(self) -> Iterator[RelationRow]:
        roots, mids = 10, max(10, self.leaves // 10)
        for i in range(mids):
            yield self._rel("IS_A", "Category", f"c{roots + i}", "Category", f"c{i % roots}")
        for i in range(self.leaves):
            yield self._rel(
                "IS_A", "Category", f"c{roots + mids + i}", "Category", f"c{roots + i % mids}"
            )
        for poi in self.pois:
            for _ in range(self.rng.randint(1, 2)):
                yield self._rel("SOLVES", "POI", poi, "Problem", self.rng.choice(self.problems))
        for entry in self.entries[:1500]:
            target = self.rng.choice(
                [("POI", self.pois), ("Concept", self.concepts), ("Problem", self.problems)]
            )
            yield self._rel("DEFINES", "Entry", entry, target[0], self.rng.choice(target[1]))
        values = [(a, i) for a, n in ATTRIBUTES.items() for i in range(n)]
        for i in range(self.items):
            item, rng = f"item-{i}", self.rng
            yield self._rel(
                "IN_CATEGORY",
                "Item",
                item,
                "Category",
                f"c{roots + mids + self._zipf(self.leaves)}",
            )
            yield self._rel(
                "HAS_BRAND", "Item", item, "Brand", self.brands[self._zipf(len(self.brands))]
            )
            for attribute in rng.sample(list(ATTRIBUTES), 4):
                index = self._zipf(ATTRIBUTES[attribute])
                key = f"{attribute}|{attribute} v{index}|{UNITS.get(attribute, '')}"
                yield self._rel("HAS_VALUE", "Item", item, "Value", key)
            for poi in {
                self.pois[self._zipf(len(self.pois))] for _ in range(rng.choice((1, 1, 2, 2, 3)))
            }:
                yield self._rel("HAS_POI", "Item", item, "POI", poi)
            if rng.random() < 0.5:
                target = ("Scene", self.scenes) if rng.random() < 0.6 else ("Crowd", self.crowds)
                yield self._rel("SUITS", "Item", item, target[0], self.rng.choice(target[1]))
            concept = self.concepts[self._zipf(len(self.concepts))]
            yield self._rel("MENTIONS", "Item", item, "Concept", concept)
            yield self._rel("HAS_IMAGE", "Item", item, "Image", f"{i:064x}")
            yield self._rel("DEPICTS", "Image", f"{i:064x}", "Concept", concept)
            yield self._rel("FROM_SOURCE", "Item", item, "Source", f"rec-{i}")
        del values

    def _rel(self, rel_type: str, sl: str, sk: str, el: str, ek: str) -> RelationRow:
        return RelationRow(rel_type, NodeRef(sl, sk), NodeRef(el, ek), provenance=self.prov)


def batches(rows: Iterator[RelationRow] | Sequence[NodeRow], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], 2),
    }


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def latencies(call: Callable[[Any], Any], args: Sequence[Any]) -> list[float]:
    """Wall time of ``call(arg)`` for each arg, one at a time (as an online request does)."""
    times = []
    for arg in args:
        started = time.perf_counter()
        call(arg)
        times.append(time.perf_counter() - started)
    return times


def baseline(store: GraphStore, catalog: Catalog, sample: int) -> dict[str, float]:
    """Naive MERGE on the same store: one statement per row, and one UNWIND per batch."""
    # bypasses the store on purpose: it *is* the naive way
    session: Any = None
    if isinstance(store, Neo4jStore):
        session = store._driver.session(database=store.database)
    else:
        assert isinstance(store, KuzuStore)
        connection = store._writer.connection

    def run(query: str, params: dict[str, Any]) -> bool:
        if session is not None:
            session.run(query, params).consume()
        else:
            connection.execute(query, params)
        return True

    rows = [
        {
            "s": f"item-{i}",
            "e": f"{(i * 7919) % catalog.items:064x}",
            "x": "baseline@1",
            "src": f"b{i}",
        }
        for i in range(sample)
    ]
    merge = (
        "MATCH (a:Item {key: $s}), (b:Image {key: $e}) "
        "MERGE (a)-[r:HAS_IMAGE {extractor: $x, source: $src}]->(b) SET r.confidence = 0.5"
    )
    single = timed(lambda: [run(merge, row) for row in rows[: sample // 2]])
    unwind = (
        "UNWIND $rows AS row MATCH (a:Item {key: row.s}), (b:Image {key: row.e}) "
        "MERGE (a)-[r:HAS_IMAGE {extractor: row.x, source: row.src}]->(b) SET r.confidence = 0.5"
    )
    batch = timed(lambda: run(unwind, {"rows": rows[sample // 2 :]}))
    if session is not None:
        session.close()
    store.delete_facts(extractor="baseline@1")
    return {
        "row_at_a_time_merge_relations_per_s": round((sample // 2) / single, 1),
        "unwind_merge_relations_per_s": round((sample - sample // 2) / batch, 1),
    }


def open_store(graph: str | None, workdir: Path, pool_bytes: int, clear: bool) -> GraphStore:
    """The store measured, opened: a fresh Kùzu graph in ``workdir``, or ``graph``'s store
    (emptied first with ``clear``; refused when it holds anything, so no figure is taken on
    top of an older run's graph)."""
    if graph is None:
        return KuzuStore(workdir / "graph", buffer_pool_bytes=pool_bytes).open()
    if parse_graph_uri(graph).backend == "kuzu":
        store: GraphStore = KuzuStore(parse_graph_uri(graph).path, buffer_pool_bytes=pool_bytes)
    else:
        user = os.environ.get("SHOPKG_NEO4J_USER", "neo4j")
        store = store_from_uri(
            graph, user=user, password=os.environ.get("SHOPKG_NEO4J_PASSWORD", "")
        )
    if clear and isinstance(store, Neo4jStore):
        store.reset()
    store.open()
    if clear and isinstance(store, KuzuStore):
        store.close()
        shutil.rmtree(parse_graph_uri(graph).path, ignore_errors=True)
        store.open()
    if store.stats().total_nodes:
        store.close()
        raise SystemExit(f"{graph} is not empty: give --clear to delete what it holds first")
    return store


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=50_000, help="rows per upsert call")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--buffer-pool-mb", type=int, default=4096)
    parser.add_argument("--dir", type=Path, default=None, help="keep the graph here")
    parser.add_argument(
        "--graph",
        default=None,
        help="measure this graph (kuzu:///dir or bolt://host:7687) instead of a fresh Kùzu "
        "graph in a temporary directory; it must be empty, or give --clear",
    )
    parser.add_argument(
        "--clear", action="store_true", help="delete everything in --graph before starting"
    )
    args = parser.parse_args(argv)

    cpu_started = time.process_time()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="shopkg-kg-bench-"))
    catalog = Catalog(args.items, args.seed)
    store = open_store(args.graph, workdir, args.buffer_pool_mb << 20, args.clear)
    results: dict[str, Any] = {"backend": store.backend, "items": args.items, "batch": args.batch}
    if args.graph:
        results["graph"] = args.graph
    if store.backend == "neo4j":  # the driver's PackStream codec (bench/bolt_codec_bench.py)
        codec: Any = importlib.import_module("neo4j._codec.packstream.v1")
        results["bolt_codec"] = "rust" if codec._rust_pack is not None else "python"
    try:
        node_count, node_s = 0, 0.0
        for label, rows in catalog.nodes():
            for batch in batches(rows, args.batch):
                started = time.perf_counter()
                store.upsert_nodes(batch)
                node_s += time.perf_counter() - started
                node_count += len(batch)
            print(f"nodes: {label} done ({node_count} so far)", flush=True)
        rel_count, rel_created, rel_s, last = 0, 0, 0.0, []
        for batch in batches(catalog.relations(), args.batch):  # generating is not timed
            started = time.perf_counter()
            rel_created += store.upsert_relations(batch).relations_created
            rel_s += time.perf_counter() - started
            rel_count += len(batch)
            last = batch
        print(f"relations: {rel_count} in {rel_s:.1f}s", flush=True)
        again = time.perf_counter()
        report = store.upsert_relations(last)
        results |= {
            "nodes": node_count,
            "relations": rel_count,
            "relations_created": rel_created,
            "node_upsert_per_s": round(node_count / node_s, 1),
            "relation_upsert_per_s": round(rel_count / rel_s, 1),
            "reupsert_batch_unchanged": report.relations_created == report.relations_updated == 0
            and report.relations_unchanged + report.duplicates_in_batch == len(last),
            "reupsert_relations_per_s": round(len(last) / (time.perf_counter() - again), 1),
        }
        results["baseline"] = baseline(store, catalog, args.baseline_rows)
        results["baseline_speedup"] = round(
            results["relation_upsert_per_s"]
            / results["baseline"]["row_at_a_time_merge_relations_per_s"],
            1,
        )
        rng = random.Random(args.seed + 1)
        starts = [NodeRef("Item", f"item-{rng.randrange(args.items)}") for _ in range(args.queries)]
        for direction in ("both", "out"):
            store.neighborhood(starts[0], hops=2, limit=50, direction=direction)  # warm-up
            times = latencies(
                partial(store.neighborhood, hops=2, limit=50, direction=direction), starts
            )
            results[f"neighborhood_2hop_{direction}"] = percentiles(times)
        if isinstance(store, KuzuStore):
            # the baseline: the same queries with the node cache off (every property read again)
            capacity, store._cache.capacity = store._cache.capacity, 0
            store._cache.invalidate()
            times = latencies(
                partial(store.neighborhood, hops=2, limit=50, direction="out"), starts
            )
            results["neighborhood_2hop_out_uncached"] = percentiles(times)
            store._cache.capacity = capacity
        names = catalog.pois + catalog.concepts + catalog.brands
        words = [rng.choice(names) for _ in range(args.queries)]
        store.lookup(words[0])
        results["lookup"] = percentiles(latencies(partial(store.lookup, limit=10), words))
        entries = [rng.choice(catalog.entries) for _ in range(args.queries)]
        results["lookup_entries"] = percentiles(
            latencies(partial(store.lookup, labels=["Entry"], limit=10), entries)
        )
        stats = store.stats()
        results["stored_nodes"], results["stored_relations"] = (
            stats.total_nodes,
            stats.total_relations,
        )
    finally:
        store.close()
        if args.dir is None and args.graph is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["cpu_s"] = round(time.process_time() - cpu_started, 1)
    results["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
