"""Load benchmark of the real web app on loopback: a live-stream audience against a demo build.

It builds the demo catalog's KG (``shopkg demo --no-serve``) into a work directory, or takes
``--data-dir`` of an existing build, starts ``shopkg serve`` on it as a user would (the real
assistant: MiniLM, the hybrid searcher, the KG, QA with evidence; rate limits on, at their
defaults), waits until ``/healthz`` says ready and times the first search, then lets N
keep-alive clients send requests for D seconds:

- 50% searches: varied shopper queries drawn from the catalog itself (a title's words, a
  colour and a category, a price bound, a brand, a negation) about items chosen by a Zipf
  law over the whole shop, so some queries repeat and most do not;
- 30% item cards and 20% questions (material, colour, size, care, use ...). A live stream
  presents a list of items (``--room-items``, default 30) one after the other: 70% of cards
  and questions are about them (the one on stream, which changes every 10 s, half of
  those), the rest about Zipf-chosen items of the whole shop. ``--room-items 0`` spreads
  them all over the shop by the Zipf law (a shop assistant with no stream: the hard case,
  where most questions are about an item nobody asked about before).

It prints requests/s, p50/p95/p99 per kind, errors and the server's resident memory (all its
processes) before and after the load, as one JSON object on the last line of stdout.

    .venv/bin/python bench/web_load.py --clients 50 --duration 60

Load goes to 127.0.0.1 only; it is bounded by ``--duration`` and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHOPKG = [str(Path(sys.executable).parent / "shopkg")]  # the console script beside python
MIX = (("search", 0.5), ("item", 0.3), ("ask", 0.2))
ROOM_SHARE = 0.7  # of cards and questions: about the stream's items
QUESTIONS = (
    "what is it made of?",
    "what colour is it?",
    "which colours does it come in",
    "how big is it?",
    "is it waterproof?",
    "can I wash it in the machine?",
    "is it good for camping?",
    "does it come with a warranty?",
    "how heavy is it",
    "is it suitable for kids?",
    "what size should I get",
    "does it work for travel?",
)


@dataclass
class Sample:
    kind: str
    status: int
    seconds: float


# -- what the audience asks ------------------------------------------------------------------
class Audience:
    """Requests drawn from the catalog's items (``items.jsonl`` of the build)."""

    def __init__(self, items: list[dict[str, Any]], room_items: int = 30, seed: int = 7) -> None:
        self.items = items
        order = list(range(len(items)))
        random.Random(seed).shuffle(order)
        self.order = order
        # the stream's item list: drawn at random, not the shop's most popular
        self.room = [items[i] for i in random.Random(seed + 1).sample(order, room_items)]
        self.began = time.monotonic()
        weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(items))]  # Zipf-like
        total = sum(weights)
        self.cumulative: list[float] = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def watched(self, rng: random.Random) -> dict[str, Any]:
        """An item a viewer opens or asks about: mostly the stream's, else any."""
        if self.room and rng.random() < ROOM_SHARE:
            if rng.random() < 0.5:  # the one on stream now
                return self.room[int((time.monotonic() - self.began) / 10) % len(self.room)]
            return rng.choice(self.room)
        return self.pick(rng)

    def pick(self, rng: random.Random) -> dict[str, Any]:
        import bisect

        rank = min(bisect.bisect_left(self.cumulative, rng.random()), len(self.items) - 1)
        return self.items[self.order[rank]]

    def query(self, rng: random.Random) -> str:
        item = self.pick(rng)
        words = [w.strip(",.()") for w in item["title"].split() if len(w.strip(",.()")) > 2]
        leaf = str((item.get("category") or ["product"])[-1]).lower()
        values = [str(v) for v in (item.get("values") or {}).values()]
        colour = next(
            (str(v) for k, v in (item.get("values") or {}).items() if k in ("color", "colour")),
            None,
        )
        price = item.get("price")
        roll = rng.random()
        if roll < 0.3 and len(words) >= 2:
            start = rng.randrange(len(words) - 1)
            return " ".join(words[start : start + rng.choice((2, 3))]).lower()
        if roll < 0.5 and colour:
            return f"{colour.lower()} {leaf}"
        if roll < 0.65 and price:
            bound = int(float(price) * rng.choice((0.8, 1.0, 1.5))) + 1
            return f"{leaf} under {bound}"
        if roll < 0.75 and item.get("brand"):
            return f"{item['brand']} {leaf}".lower()
        if roll < 0.85 and values:
            return f"{leaf} {rng.choice(values)}".lower()
        if roll < 0.92 and colour:
            return f"{leaf} not {colour.lower()}"
        return leaf

    def request(self, rng: random.Random) -> tuple[str, str, str, bytes | None]:
        roll, kind = rng.random(), "ask"
        running = 0.0
        for name, share in MIX:
            running += share
            if roll < running:
                kind = name
                break
        if kind == "search":
            q = urllib.parse.urlencode({"q": self.query(rng), "limit": 10})
            return kind, "GET", f"/api/v1/search?{q}", None
        key = urllib.parse.quote(self.watched(rng)["key"], safe="")
        if kind == "item":
            return kind, "GET", f"/api/v1/items/{key}", None
        body = json.dumps({"question": rng.choice(QUESTIONS)}).encode()
        return kind, "POST", f"/api/v1/items/{key}/ask", body


# -- the clients ------------------------------------------------------------------------------
def client(
    host: str,
    port: int,
    audience: Audience,
    until: float,
    seed: int,
    out: list[Sample],
    interval: float = 0.0,
) -> None:
    """Requests one after the other, or with ``interval`` every ``interval`` seconds from a
    random phase (the audience's pace, whatever the server's). A paced request's time runs
    from when it was due, so a slow server is not excused by the requests it delayed."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    due = time.perf_counter() + rng.random() * interval
    while time.monotonic() < until:
        kind, method, path, body = audience.request(rng)
        headers = {"Content-Type": "application/json"} if body else {}
        if interval:
            time.sleep(max(0.0, due - time.perf_counter()))
            began, due = due, due + interval
        else:
            began = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as e:
            print(f"web_load: {kind} {path}: {e!r}", file=sys.stderr)
            status = 0
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        out.append(Sample(kind, status, time.perf_counter() - began))
    conn.close()


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _figures(samples: list[Sample]) -> dict[str, Any]:
    times = [s.seconds * 1000 for s in samples]
    return {
        "requests": len(samples),
        "p50_ms": round(_percentile(times, 0.5), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "p99_ms": round(_percentile(times, 0.99), 1),
    }


def run_load(
    url: str, clients: int, duration: float, audience: Audience, rate: float = 0.0
) -> dict[str, Any]:
    """``clients`` keep-alive clients for ``duration`` s: as fast as answered (``rate`` 0),
    or together offering ``rate`` requests/s."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    samples: list[list[Sample]] = [[] for _ in range(clients)]
    until = time.monotonic() + duration
    interval = clients / rate if rate > 0 else 0.0
    threads = [
        threading.Thread(target=client, args=(host, port, audience, until, i, samples[i], interval))
        for i in range(clients)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [s for group in samples for s in group]
    errors = [s for s in flat if s.status == 0 or s.status >= 400]
    return {
        "clients": clients,
        "offered_rps": rate or None,
        "duration_s": round(elapsed, 1),
        "rps": round(len(flat) / elapsed, 1),
        **_figures(flat),
        "errors": len(errors),
        "statuses": {str(k): v for k, v in sorted(Counter(s.status for s in flat).items())},
        "by_kind": {kind: _figures([s for s in flat if s.kind == kind]) for kind, _share in MIX},
    }


# -- the server -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text(encoding="utf-8")
            total += next(
                int(line.split()[1]) * 1024
                for line in status.splitlines()
                if line.startswith("VmRSS")
            )
            children = Path(f"/proc/{current}/task/{current}/children").read_text(encoding="utf-8")
            pending.extend(int(child) for child in children.split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_ready(base: str, server: subprocess.Popen[bytes], limit: float) -> float:
    """Seconds until /healthz answers 200 (ready: the assistant is loaded and warm)."""
    began = time.perf_counter()
    answered = 0  # in a row: with several workers, each connection may reach another one
    while time.perf_counter() - began < limit:
        if server.poll() is not None:
            raise SystemExit(f"web_load: the server exited with status {server.returncode}")
        try:
            status, _ = _get(f"{base}/healthz", timeout=5)
            answered = answered + 1 if status == 200 else 0
            if answered >= 8:
                return time.perf_counter() - began
        except OSError:
            answered = 0
        time.sleep(0.05 if answered else 0.2)
    raise SystemExit(f"web_load: the server was not ready within {limit:.0f} s")


def _build_demo(data_dir: Path, items: int) -> float:
    began = time.perf_counter()
    command = [*SHOPKG, "--data-dir", str(data_dir), "demo", "--no-serve", "--items", str(items)]
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _load_items(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "indexes" / "items.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bench(
    data_dir: Path,
    clients: int,
    duration: float,
    room_items: int,
    serve_args: list[str],
    env: dict[str, str],
    rate: float = 150.0,
    warmup: float = 10.0,
    capacity: float = 30.0,
) -> dict[str, Any]:
    audience = Audience(_load_items(data_dir), room_items)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*SHOPKG, "--data-dir", str(data_dir), "serve", "--port", str(port), *serve_args]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        ready_s = _wait_ready(base, server, limit=300)
        query = urllib.parse.urlencode({"q": audience.query(random.Random(1))})
        began = time.perf_counter()
        status, _ = _get(f"{base}/api/v1/search?{query}")
        first_search_ms = (time.perf_counter() - began) * 1000
        if status != 200:
            raise SystemExit(f"web_load: the first search answered {status}")
        rss_ready = _rss_bytes(server.pid)
        warm: dict[str, Any] = {}
        if warmup > 0:
            print(f"web_load: warming up for {warmup:.0f} s", file=sys.stderr)
            warm = run_load(base, clients, warmup, audience, rate)
        rss_before = _rss_bytes(server.pid)
        pace = f"offering {rate:.0f} requests/s" if rate else "as fast as answered"
        print(f"web_load: {clients} clients {pace} for {duration:.0f} s", file=sys.stderr)
        result = run_load(base, clients, duration, audience, rate)
        rss_after = _rss_bytes(server.pid)
        if capacity > 0:
            print(f"web_load: capacity, as fast as answered, {capacity:.0f} s", file=sys.stderr)
            most = run_load(base, clients, capacity, audience)
            result["capacity"] = {k: most[k] for k in ("rps", "p50_ms", "p95_ms", "errors")}
    finally:
        server.terminate()
        server.wait(timeout=60)
    result.update(
        {
            "ready_s": round(ready_s, 2),
            "first_search_ms": round(first_search_ms, 1),
            "warmup": {"seconds": warmup, "rps": warm.get("rps"), "errors": warm.get("errors")},
            "server_rss_mb_ready": round(rss_ready / 2**20, 1),
            "server_rss_mb_before": round(rss_before / 2**20, 1),
            "server_rss_mb_after": round(rss_after / 2**20, 1),
            "rss_growth": round(rss_after / rss_before - 1, 3) if rss_before else None,
            "server": {
                "command": "shopkg serve " + " ".join(serve_args),
                "items": len(audience.items),
            },
            "room_items": room_items,
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--rate", type=float, default=150.0, help="requests/s the clients offer (0: no pace)"
    )
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of load before the measured run"
    )
    parser.add_argument(
        "--capacity", type=float, default=30.0, help="seconds of unpaced load after it (0: none)"
    )
    parser.add_argument("--items", type=int, default=2000, help="demo items to build")
    parser.add_argument("--data-dir", type=Path, help="an existing build (else the demo is built)")
    parser.add_argument(
        "--room-items", type=int, default=30, help="items of the live stream (0: none)"
    )
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="passed to shopkg serve (repeatable)"
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(ROOT))
    run: Callable[[Path], dict[str, Any]] = lambda data_dir: bench(  # noqa: E731
        data_dir,
        args.clients,
        args.duration,
        args.room_items,
        args.serve_arg,
        env,
        args.rate,
        args.warmup,
        args.capacity,
    )
    if args.data_dir:
        result = run(args.data_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="shopkg-webload-") as workdir:
            data_dir = Path(workdir) / "var"
            print(f"web_load: building the {args.items}-item demo into {data_dir}", file=sys.stderr)
            build_s = _build_demo(data_dir, args.items)
            result = run(data_dir)
            result["build_s"] = round(build_s, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
