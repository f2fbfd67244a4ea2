"""Load benchmark of the web app on loopback: N concurrent keep-alive clients for D seconds.

By default it starts its own server in a subprocess (waitress, as ``shopkg serve`` runs it)
over a generated demo catalog: a small Kùzu graph of the items and their brands, and a simple
keyword assistant over the same items (the real assistant is another package; this measures
the web stack). Give ``--url`` to load an already running server instead. The bench server
keeps the rate limits of the settings (on, at their defaults, though every client shares one
address: they are meant to let such a crowd through); SHOPKG_RATE_LIMITS_ENABLED=false or
SHOPKG_PUBLIC_RATE_LIMIT change them.

    .venv/bin/python bench/web_load.py --clients 50 --duration 60

Prints progress to stderr and the result as one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("pan", "black", "jacket", "steel", "wool", "kettle", "blue", "boots", "lamp", "cotton")


@dataclass
class Sample:
    endpoint: str
    status: int
    seconds: float


# -- the bench server -------------------------------------------------------------------------
class CatalogAssistant:
    """Keyword search over demo catalog records: enough to exercise every assistant route."""

    photo_search = False

    def __init__(self, records: list[dict[str, Any]]) -> None:
        from assistant.api import Hit

        defaults = {"description": "", "attributes": {}, "category": [], "qa": []}
        self.records = {r["id"]: {**defaults, **r} for r in records}
        self._hit = Hit
        self.is_demo = True
        self._text = {
            k: f"{r['title']} {r['description']}".lower() for k, r in self.records.items()
        }

    def _hits(self, keys: list[str]) -> list[Any]:
        return [
            self._hit(
                key=k,
                title=self.records[k]["title"],
                price=self.records[k].get("price"),
                currency=self.records[k].get("currency"),
                image=None,
                score=1.0,
                key_values={a: str(v) for a, v in list(self.records[k]["attributes"].items())[:3]},
            )
            for k in keys
        ]

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> Any:
        from assistant.api import SearchResult

        words = query.lower().split()
        keys = [k for k, text in self._text.items() if all(w in text for w in words)]
        return SearchResult(query, self._hits(keys[offset : offset + limit]), len(keys))

    def search_image(self, image: bytes, *, limit: int = 10) -> Any:
        return self.search("a", limit=limit)

    def item(self, key: str) -> Any:
        from assistant.api import ItemCard

        r = self.records.get(key)
        if r is None:
            return None
        return ItemCard(
            key, r["title"], r["description"], r.get("price"), r.get("currency"), r.get("brand"),
            r["category"], [], {k: [str(v)] for k, v in r["attributes"].items()}, [],
            [], [], [], [dict(qa) for qa in r["qa"]], [], [], [],
        )  # fmt: skip

    def ask(self, key: str, question: str) -> Any:
        from assistant.api import Answer, EvidenceRef

        r = self.records[key]
        for name, value in r["attributes"].items():
            if name in question.lower():
                return Answer(question, f"{name}: {value}", 0.8, False, [
                    EvidenceRef(f"{name} {value}", "attribute", name, 0.8)
                ])  # fmt: skip
        return Answer(question, "The product information does not say.", 0.1, True)

    def turn(self, session_id: str, text: str) -> Any:
        from assistant.api import Turn

        result = self.search(text, limit=5)
        return Turn(session_id, "search", f"{result.total} items", result.hits)

    def image_path(self, image_key: str) -> Path | None:
        return None


def serve(port: int, items: int, workdir: Path) -> None:
    """Build the demo graph and serve the app on 127.0.0.1:port until killed."""
    sys.path.insert(0, str(ROOT))
    import logging

    from waitress.server import create_server

    from jobs.demo_catalog import generate
    from kg import NodeRow, RelationRow, store_from_uri
    from shopkg.db import Database
    from shopkg.settings import load_settings
    from webapp import create_app

    records = [record for record, _truth in generate(items)]
    store = store_from_uri(f"kuzu://{workdir / 'graph'}").open()
    nodes = [
        # every item gets a price (0 when the catalog lacks one): kg's bulk COPY path cannot
        # load a missing DOUBLE yet
        NodeRow("Item", {"key": r["id"], "name": r["title"], "price": r.get("price") or 0.0})
        for r in records
    ]
    branded = [r for r in records if r.get("brand")]
    brands = [NodeRow("Brand", {"name": name}) for name in sorted({r["brand"] for r in branded})]
    store.upsert(nodes=[*nodes, *brands])
    item, brand = store.ref, store.ref
    store.upsert(
        relations=[
            RelationRow("HAS_BRAND", item("Item", key=r["id"]), brand("Brand", name=r["brand"]))
            for r in branded
        ]
    )
    database = Database(f"sqlite:///{workdir / 'meta.db'}").connect()
    database.upgrade()
    settings = load_settings(data_dir=workdir / "data")
    app = create_app(
        settings=settings,
        assistant=CatalogAssistant(records),
        store=store,
        database=database,
    )
    # with more clients than threads the queue is deep on purpose; don't log every request
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, host="127.0.0.1", port=port, threads=8, ident="shopkg-bench")
    print("ready", flush=True)  # the socket is bound and listening now
    server.run()


# -- the clients ------------------------------------------------------------------------------
def _requests(rng: random.Random, keys: list[str]) -> tuple[str, str, str, bytes | None]:
    roll = rng.random()
    key = rng.choice(keys)
    if roll < 0.5:
        q = urllib.parse.urlencode({"q": rng.choice(WORDS), "limit": 10})
        return "search", "GET", f"/api/v1/search?{q}", None
    if roll < 0.7:
        return "item", "GET", f"/api/v1/items/{key}", None
    if roll < 0.8:
        return "ask", "POST", f"/api/v1/items/{key}/ask", b'{"question": "what color is it?"}'
    if roll < 0.9:
        q = urllib.parse.urlencode({"label": "Item", "key": key, "hops": 2, "limit": 30})
        return "neighborhood", "GET", f"/api/v1/graph/neighborhood?{q}", None
    return "page", "GET", "/", None


def client(
    host: str, port: int, keys: list[str], until: float, seed: int, out: list[Sample]
) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while time.monotonic() < until:
        name, method, path, body = _requests(rng, keys)
        headers = {"Content-Type": "application/json"} if body else {}
        began = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as e:
            print(f"web_load: {name} {path}: {e!r}", file=sys.stderr)
            status = 0
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        out.append(Sample(name, status, time.perf_counter() - began))
    conn.close()


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_load(url: str, clients: int, duration: float, keys: list[str]) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    samples: list[list[Sample]] = [[] for _ in range(clients)]
    until = time.monotonic() + duration
    threads = [
        threading.Thread(target=client, args=(host, port, keys, until, i, samples[i]))
        for i in range(clients)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [s for group in samples for s in group]
    times = [s.seconds * 1000 for s in flat]
    errors = [s for s in flat if s.status == 0 or s.status >= 500]
    by_endpoint = {}
    for name in sorted({s.endpoint for s in flat}):
        mine = [s.seconds * 1000 for s in flat if s.endpoint == name]
        by_endpoint[name] = {"requests": len(mine), "p50_ms": round(_percentile(mine, 0.5), 1)}
    return {
        "url": url,
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": len(flat),
        "rps": round(len(flat) / elapsed, 1),
        "p50_ms": round(_percentile(times, 0.5), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "p99_ms": round(_percentile(times, 0.99), 1),
        "mean_ms": round(statistics.fmean(times), 1) if times else 0.0,
        "errors": len(errors),
        "statuses": {str(k): v for k, v in sorted(Counter(s.status for s in flat).items())},
        "by_endpoint": by_endpoint,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--items", type=int, default=2000, help="demo items in the bench server")
    parser.add_argument("--url", help="load this running server instead of starting one")
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_port:
        serve(args.serve_port, args.items, args.workdir)
        return 0
    sys.path.insert(0, str(ROOT))
    from jobs.demo_catalog import item_id

    keys = [item_id(i) for i in range(args.items)]
    if args.url:
        result = run_load(args.url, args.clients, args.duration, keys)
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="shopkg-webload-") as workdir:
        port = _free_port()
        command = [sys.executable, __file__, "--serve-port", str(port), "--items", str(args.items)]
        server = subprocess.Popen(
            [*command, "--workdir", workdir], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise SystemExit("web_load: the bench server did not start")
            print(f"web_load: {args.clients} clients for {args.duration:.0f} s", file=sys.stderr)
            result = run_load(f"http://127.0.0.1:{port}", args.clients, args.duration, keys)
            result["server"] = {"items": args.items, "waitress_threads": 8}
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
