"""Live room benchmark on loopback: an audience on one room's event stream while the host
switches items and viewers ask questions.

It builds the demo catalog (``shopkg demo --no-serve``) into a work directory, or takes
``--data-dir`` of an existing build; creates an admin, a token and a live room of
``--room-items`` items with the command line; starts ``shopkg serve`` as a user would (the
web app under waitress and the push server beside it, the real assistant); then for
``--seconds``:

- ``--viewers`` viewers each hold the room's server-sent-events stream open;
- the host puts the next item on stream every ``--switch-every`` seconds (admin API);
- viewers ask ``--qps`` questions a second in all about the item on stream (drawn from a
  small set, as an audience asks the same things), each viewer under its own token;
- on each switch, ``--card-share`` of the viewers fetch the new item's card, as the viewer
  page does (all of them would, from as many addresses; here all come from one).

It prints the switch delivery (from the host's request to each viewer's event: p50, p95,
max, and how many viewer-switch pairs never arrived), question latency (p50, p95),
errors by kind and the server's resident memory (all its processes) before and after, as one
JSON object on the last line of stdout.

    .venv/bin/python bench/live_bench.py --viewers 1000 --seconds 60

Everything goes to 127.0.0.1; viewers, rate and time are bounded and it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.web_load import (  # noqa: E402  (the same server helpers as the web load bench)
    SHOPKG,
    _build_demo,
    _free_port,
    _load_items,
    _percentile,
    _rss_bytes,
    _wait_ready,
)

HOST = "127.0.0.1"
MAX_VIEWERS = 5_000
MAX_SECONDS = 600.0
MAX_QPS = 500.0
QUESTIONS = (
    "is it waterproof?",
    "does water get in?",
    "what is it made of?",
    "what colour is it?",
    "which sizes are there?",
    "can I wash it in the machine?",
    "is it good for kids?",
    "how heavy is it?",
)
ADMIN, PASSWORD = f"bench-host-{os.getpid()}", "bench host password"


def _shopkg(data_dir: Path, *args: str) -> str:
    command = [*SHOPKG, "--data-dir", str(data_dir), *args]
    done = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def _prepare_room(data_dir: Path, keys: list[str]) -> tuple[int, str]:
    """An admin with a token, and a live room of ``keys``: (room id, token)."""
    _shopkg(data_dir, "admin", "create-user", ADMIN, "--password", PASSWORD)
    token = _shopkg(data_dir, "admin", "token", ADMIN, "--name", "live-bench")
    items = [arg for key in keys for arg in ("--item", key)]
    created = _shopkg(data_dir, "room", "create", "Bench room", "--host", ADMIN, *items)
    room_id = int(created.split()[1])
    _shopkg(data_dir, "room", "live", str(room_id))
    return room_id, token


class Tally:
    """What the run measured."""

    def __init__(self, viewers: int) -> None:
        self.viewers = viewers
        self.switched_at: dict[str, float] = {}  # item put on stream -> when the host asked
        self.received: dict[str, list[float]] = {}  # item -> delivery seconds per viewer
        self.question_ms: list[float] = []
        self.card_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.connected = 0


async def viewer(
    session: Any, url: str, cards: str | None, tally: Tally, stop: asyncio.Event
) -> None:
    """One viewer's event stream: record when each switch arrives (and fetch the new item's
    card from ``cards`` when given)."""

    try:
        async with session.get(url, timeout=None) as response:
            if response.status != 200:
                tally.errors[f"stream {response.status}"] += 1
                return
            tally.connected += 1
            async for raw in response.content:
                if stop.is_set():
                    return
                line = raw.decode()
                if not line.startswith("data: "):
                    continue
                item = json.loads(line[6:]).get("current_item")
                began = tally.switched_at.get(item)
                if began is not None:
                    tally.received.setdefault(item, []).append(time.perf_counter() - began)
                    if cards is not None:
                        await _card(session, f"{cards}/{item}", tally)
    except (TimeoutError, OSError) as e:
        if not stop.is_set():
            tally.errors[f"stream {type(e).__name__}"] += 1


async def host(
    session: Any, base: str, room_id: int, token: str, keys: list[str], every: float,
    tally: Tally, stop: asyncio.Event,
) -> None:  # fmt: skip
    """Put the next item on stream every ``every`` seconds."""
    headers = {"Authorization": f"Bearer {token}"}
    turn = 1
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass
        item = keys[turn % len(keys)]
        turn += 1
        tally.switched_at[item] = time.perf_counter()
        tally.received[item] = []
        url = f"{base}/api/v1/admin/rooms/{room_id}/switch"
        async with session.post(url, json={"item": item}, headers=headers) as response:
            if response.status != 200:
                tally.errors[f"switch {response.status}"] += 1


async def _card(session: Any, url: str, tally: Tally) -> None:
    import aiohttp

    began = time.perf_counter()
    try:
        async with session.get(url) as response:
            await response.read()
            if response.status == 200:
                tally.card_ms.append((time.perf_counter() - began) * 1000)
            else:
                tally.errors[f"card {response.status}"] += 1
    except (TimeoutError, OSError, aiohttp.ClientError) as e:
        tally.errors[f"card {type(e).__name__}"] += 1


async def _ask(session: Any, url: str, body: dict[str, str], tally: Tally) -> None:
    import aiohttp

    began = time.perf_counter()
    try:
        async with session.post(url, json=body) as response:
            await response.read()
            if response.status == 200:
                tally.question_ms.append((time.perf_counter() - began) * 1000)
            else:
                tally.errors[f"ask {response.status}"] += 1
    except (TimeoutError, OSError, aiohttp.ClientError) as e:
        tally.errors[f"ask {type(e).__name__}"] += 1


async def askers(
    session: Any, base: str, room_id: int, viewers: int, qps: float, tally: Tally,
    stop: asyncio.Event,
) -> None:  # fmt: skip
    """``qps`` questions a second in all, from viewers taken in turn."""
    rng = random.Random(7)
    url = f"{base}/api/v1/rooms/{room_id}/ask"
    pending: set[asyncio.Task[None]] = set()
    number = 0

    began = time.perf_counter()
    while not stop.is_set():
        due = began + number / qps
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        token = f"bench-viewer-{number % viewers:05d}"
        body = {"question": rng.choice(QUESTIONS), "viewer": token}
        task = asyncio.create_task(_ask(session, url, body, tally))
        pending.add(task)
        task.add_done_callback(pending.discard)
        number += 1
    if pending:
        await asyncio.wait(pending, timeout=30)


async def run_audience(
    base: str, push: str, room_id: int, token: str, keys: list[str], args: argparse.Namespace
) -> Tally:
    import aiohttp

    tally = Tally(args.viewers)
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        url = f"{push}/rooms/{room_id}/events"
        fetchers = round(args.viewers * args.card_share)
        cards = f"{base}/api/v1/items"
        streams = [
            asyncio.create_task(viewer(session, url, cards if n < fetchers else None, tally, stop))
            for n in range(args.viewers)
        ]
        for _ in range(300):  # wait (at most 30 s) until the audience is connected
            if tally.connected + sum(tally.errors.values()) >= args.viewers:
                break
            await asyncio.sleep(0.1)
        print(f"live_bench: {tally.connected} viewers connected", file=sys.stderr)
        work = [
            asyncio.create_task(
                host(session, base, room_id, token, keys, args.switch_every, tally, stop)
            ),
            asyncio.create_task(
                askers(session, base, room_id, args.viewers, args.qps, tally, stop)
            ),
        ]
        await asyncio.sleep(args.seconds)
        await asyncio.sleep(min(2.0, args.switch_every))  # the last switch's deliveries
        stop.set()  # the host and the askers finish what they started
        await asyncio.wait(work, timeout=35)
        for task in [*work, *streams]:
            task.cancel()
        await asyncio.gather(*work, *streams, return_exceptions=True)
    return tally


def _figures(tally: Tally) -> dict[str, Any]:
    delivered = [s * 1000 for times in tally.received.values() for s in times]
    expected = len(tally.received) * tally.connected
    return {
        "viewers_connected": tally.connected,
        "switches": len(tally.received),
        "delivery_p50_ms": round(_percentile(delivered, 0.5), 1) if delivered else None,
        "delivery_p95_ms": round(_percentile(delivered, 0.95), 1) if delivered else None,
        "delivery_max_ms": round(max(delivered), 1) if delivered else None,
        "deliveries_missing": expected - len(delivered),
        "questions": len(tally.question_ms),
        "question_p50_ms": round(_percentile(tally.question_ms, 0.5), 1)
        if tally.question_ms
        else None,
        "question_p95_ms": round(_percentile(tally.question_ms, 0.95), 1)
        if tally.question_ms
        else None,
        "cards": len(tally.card_ms),
        "card_p95_ms": round(_percentile(tally.card_ms, 0.95), 1) if tally.card_ms else None,
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(tally.errors),
    }


def bench(data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    items = _load_items(data_dir)
    keys = [str(item["key"]) for item in items[: args.room_items]]
    room_id, token = _prepare_room(data_dir, keys)
    port, push_port = _free_port(), _free_port()
    base, push = f"http://{HOST}:{port}", f"http://{HOST}:{push_port}"
    command = [
        *SHOPKG, "--data-dir", str(data_dir), "serve", "--host", HOST, "--port", str(port),
        *args.serve_arg,
    ]  # fmt: skip
    env = {**os.environ, "SHOPKG_PUSH_PORT": str(push_port)}
    env.setdefault("PYTHONPATH", str(ROOT))
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        ready_s = _wait_ready(base, server, limit=300)
        rss_before = _rss_bytes(server.pid)
        print(
            f"live_bench: {args.viewers} viewers, a switch every {args.switch_every:.0f} s, "
            f"{args.qps:.0f} questions/s, {args.seconds:.0f} s",
            file=sys.stderr,
        )
        tally = asyncio.run(run_audience(base, push, room_id, token, keys, args))
        rss_after = _rss_bytes(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {
        **_figures(tally),
        "ready_s": round(ready_s, 2),
        "server_rss_mb_before": round(rss_before / 2**20, 1),
        "server_rss_mb_after": round(rss_after / 2**20, 1),
        "settings": {
            "viewers": args.viewers, "seconds": args.seconds, "switch_every": args.switch_every,
            "qps": args.qps, "card_share": args.card_share, "room_items": len(keys),
            "catalog_items": len(items),
            "serve": "shopkg serve " + " ".join(args.serve_arg),
        },
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--switch-every", type=float, default=10.0)
    parser.add_argument("--qps", type=float, default=50.0, help="questions/s from all viewers")
    parser.add_argument("--room-items", type=int, default=10)
    parser.add_argument(
        "--card-share", type=float, default=0.1, help="viewers fetching the card on a switch"
    )
    parser.add_argument("--items", type=int, default=2000, help="demo items to build")
    parser.add_argument("--data-dir", type=Path, help="an existing build (else the demo is built)")
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="passed to shopkg serve (repeatable)"
    )
    args = parser.parse_args(argv)
    if not (1 <= args.viewers <= MAX_VIEWERS and 1 <= args.seconds <= MAX_SECONDS):
        parser.error(f"use 1..{MAX_VIEWERS} viewers and 1..{MAX_SECONDS:.0f} seconds")
    if not (0 < args.qps <= MAX_QPS and args.switch_every >= 1):
        parser.error(f"use 0 < --qps <= {MAX_QPS:.0f} and --switch-every >= 1")
    if args.data_dir is not None:
        result = bench(args.data_dir, args)
    else:
        with tempfile.TemporaryDirectory(prefix="shopkg-live-bench-") as work:
            data_dir = Path(work) / "var"
            built = _build_demo(data_dir, args.items)
            print(f"live_bench: demo of {args.items} items built in {built:.0f} s", file=sys.stderr)
            result = bench(data_dir, args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
