"""The live rooms' push server: server-sent events of item switches and pinned answers.

It runs beside the Flask app (``shopkg serve`` starts it), on asyncio with aiohttp, so that
thousands of viewers holding a stream open cost a few kB each and no WSGI thread: waitress's
threads answer the API, this one event loop holds the streams. It reads room state from the
metadata DB, the one place every server process writes to: one small query per poll
(:func:`foundation.db.rooms.versions`, the versions of the rooms someone watches here) finds
what changed, whatever the number of viewers, and one more reads a changed room, whose event
is encoded once and handed to each of its viewers. So a switch made through any server
process reaches the viewers of every push server within a poll interval (ARCHITECTURE.md,
"Live rooms"). Each push server also writes how many viewers it holds per room, which the
host console adds up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from foundation.db import Database, RoomState, rooms
from foundation.errors import NotFoundError, ShopKGError

log = logging.getLogger(__name__)
POLL_S = 0.2  # how often the versions of watched rooms are read
VIEWERS_EVERY_S = 2.0  # how often this server's viewer counts are written
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing idle streams
QUEUE = 4  # events a slow viewer may lag behind; each event is the whole state, so the
# oldest is dropped when a viewer falls further behind
MAX_VIEWERS = 50_000  # streams one push server holds at most (503 beyond)
SHUTDOWN_S = 1.0  # open streams are cut after this on shutdown (viewers reconnect)
RETRY_MS = 1000  # what EventSource waits before reconnecting
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # nginx: pass events through at once
    "Access-Control-Allow-Origin": "*",  # public room state; the pages are on the web port
    "X-Content-Type-Options": "nosniff",
}


def room_event(database: Database, room_id: int) -> dict[str, Any]:
    """A room's state as its viewers get it: the item on stream and the pins about it."""
    with database.session() as db:
        room = rooms.get_room(db, room_id)
        pins = rooms.pins_of(db, room_id, room.current_item) if room.current_item else []
    return {
        "room": room.id,
        "version": room.version,
        "title": room.title,
        "state": room.state,
        "current_item": room.current_item,
        "items": list(room.items),
        "pins": [
            {"group_id": p.group_id, "question": p.question, "text": p.text,
             "written": p.written, "evidence": p.evidence, "item_key": p.item_key}
            for p in pins
        ],
    }  # fmt: skip


def encode_event(state: dict[str, Any]) -> bytes:
    data = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    return f"id: {state['version']}\nevent: room\ndata: {data}\n\n".encode()


class Rooms:
    """The rooms this server's viewers watch: their last event and their viewers' queues."""

    def __init__(self, database: Database, *, poll_s: float = POLL_S) -> None:
        self.database = database
        self.poll_s = poll_s
        self.server = f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.viewers: dict[int, set[asyncio.Queue[bytes]]] = {}
        self.events: dict[int, tuple[int, bytes]] = {}  # room -> (version, encoded event)
        self.delivered = 0

    @property
    def viewer_count(self) -> int:
        return sum(len(queues) for queues in self.viewers.values())

    async def event(self, room_id: int) -> tuple[int, bytes]:
        """The room's current event (read when nobody here watches it yet)."""
        known = self.events.get(room_id)
        if known is not None:
            return known
        state = await asyncio.to_thread(room_event, self.database, room_id)
        found = (int(state["version"]), encode_event(state))
        self.events[room_id] = found
        return found

    def join(self, room_id: int) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE)
        self.viewers.setdefault(room_id, set()).add(queue)
        return queue

    def leave(self, room_id: int, queue: asyncio.Queue[bytes]) -> None:
        watching = self.viewers.get(room_id)
        if watching is None:
            return
        watching.discard(queue)
        if not watching:
            del self.viewers[room_id]
            self.events.pop(room_id, None)

    def publish(self, room_id: int, version: int, event: bytes) -> None:
        self.events[room_id] = (version, event)
        for queue in self.viewers.get(room_id, ()):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
            self.delivered += 1

    async def poll_once(self) -> None:
        watched = list(self.viewers)
        if not watched:
            return
        found = await asyncio.to_thread(_versions, self.database, watched)
        for room_id in watched:
            version = found.get(room_id)
            known = self.events.get(room_id)
            if version is None or (known is not None and known[0] >= version):
                continue
            try:
                state = await asyncio.to_thread(room_event, self.database, room_id)
            except NotFoundError:
                continue
            self.publish(room_id, int(state["version"]), encode_event(state))

    async def run(self) -> None:
        """Poll for changes, and write the viewer counts, until cancelled."""
        written_at = 0.0
        while True:
            try:
                await self.poll_once()
                if time.monotonic() - written_at >= VIEWERS_EVERY_S:
                    counts = {room: len(queues) for room, queues in self.viewers.items()}
                    await asyncio.to_thread(_record_viewers, self.database, self.server, counts)
                    written_at = time.monotonic()
            except ShopKGError as e:  # the database is away: keep the streams, try again
                log.warning("push server cannot read the rooms: %s", e)
            await asyncio.sleep(self.poll_s)


def _versions(database: Database, room_ids: Iterable[int]) -> dict[int, int]:
    with database.session() as db:
        return rooms.versions(db, room_ids)


def _record_viewers(database: Database, server: str, counts: dict[int, int]) -> None:
    with database.session() as db:
        rooms.record_viewers(db, server, counts)


ROOMS_KEY = web.AppKey("rooms", Rooms)
ENDED = f'"state":"{RoomState.ENDED}"'.encode()  # in an encoded event: the last one


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /rooms/{id}/events``: the room's state now, then again at every change."""
    watched = request.app[ROOMS_KEY]
    raw = request.match_info["room_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return _error(404, "E400", f"no live room {raw!r}")
    room_id = int(raw)
    if watched.viewer_count >= MAX_VIEWERS:
        return _error(503, "E1560", "this push server holds all the viewers it can; retry")
    try:
        _version, first = await watched.event(room_id)
    except NotFoundError as e:
        return _error(404, e.code, str(e))
    response = web.StreamResponse(headers=HEADERS)
    await response.prepare(request)
    queue = watched.join(room_id)
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode() + first)
        if ENDED in first:
            return response
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            await response.write(event)
            if ENDED in event:
                return response
    except ConnectionResetError:  # the viewer left
        return response
    finally:
        watched.leave(room_id, queue)


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"status": status, "code": code, "message": message, "details": []}}
    return web.json_response(body, status=status, headers={"Access-Control-Allow-Origin": "*"})


async def health(request: web.Request) -> web.Response:
    watched = request.app[ROOMS_KEY]
    return web.json_response({"status": "ready", "viewers": watched.viewer_count})


def push_app(database: Database, *, poll_s: float = POLL_S) -> web.Application:
    """The aiohttp application: the streams, a health check, and the poller's life."""
    app = web.Application()
    watched = Rooms(database, poll_s=poll_s)
    app[ROOMS_KEY] = watched
    app.router.add_get("/rooms/{room_id}/events", events)
    app.router.add_get("/healthz", health)

    async def poller(_app: web.Application) -> Any:
        task = asyncio.create_task(watched.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(ShopKGError):
            await asyncio.to_thread(_record_viewers, database, watched.server, {})

    app.cleanup_ctx.append(poller)
    return app


def serve_push(database: Database, host: str, port: int) -> None:
    """Serve the push server in the foreground until the process is stopped."""
    web.run_app(
        push_app(database), host=host, port=port, print=None, access_log=None,
        shutdown_timeout=SHUTDOWN_S,
    )  # fmt: skip


class PushThread:
    """The push server on an event loop of its own thread, beside a WSGI server in this
    process (``shopkg serve`` with one process, the tests)."""

    def __init__(self, database: Database, host: str, port: int, *, poll_s: float = POLL_S):
        self.database = database
        self.host = host
        self.port = port
        self.poll_s = poll_s
        self.app: web.Application | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shopkg-push", daemon=True)
        self._error: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    def start(self, timeout: float = 10.0) -> int:
        """Start serving; returns the port (the one chosen when 0 was asked for)."""
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise OSError(f"the push server did not start on {self.host}:{self.port}: "
                          f"{self._error}")  # fmt: skip
        return self.port

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._start())
        except BaseException as e:
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        assert self._stopping is not None
        loop.run_until_complete(self._stopping.wait())
        loop.run_until_complete(self._stop())
        leftover = asyncio.all_tasks(loop)
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    async def _start(self) -> None:
        self._stopping = asyncio.Event()
        self.app = push_app(self.database, poll_s=self.poll_s)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=SHUTDOWN_S)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses  # the port the kernel chose when 0 was asked
        if addresses:
            self.port = int(addresses[0][1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)
