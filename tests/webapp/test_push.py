"""The push server: a viewer's stream gets the room at once, then each switch and pin within
a poll, whichever process made the change (they meet in the metadata DB); viewer counts
reach the DB; ended rooms close their streams; bad rooms are JSON 404s."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from foundation.db import Database, rooms
from tests.webapp.conftest import ADMIN
from webapp.push import PushThread

POLL_S = 0.05


@pytest.fixture
def push(database: Database) -> Iterator[int]:
    server = PushThread(database, "127.0.0.1", 0, poll_s=POLL_S)
    port = server.start()
    try:
        yield port
    finally:
        server.stop()


class Stream:
    """One viewer's event stream, read event by event."""

    def __init__(self, port: int, room_id: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.connection.request("GET", f"/rooms/{room_id}/events")
        self.response = self.connection.getresponse()

    def next_event(self) -> dict[str, Any]:
        data: dict[str, Any] | None = None
        while True:
            line = self.response.readline().decode()
            if not line:
                raise EOFError("the stream ended")
            if line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
            elif line == "\n" and data is not None:
                return data

    def close(self) -> None:
        self.connection.close()


def _live_room(database: Database) -> int:
    with database.session() as db:
        room = rooms.create_room(db, "Rain gear", ADMIN, ["sku-1", "sku-2"], actor=ADMIN)
        rooms.go_live(db, room.id, actor=ADMIN)
    return room.id


def test_a_switch_reaches_every_open_stream_within_a_second(database: Database, push: int) -> None:
    number = _live_room(database)
    streams = [Stream(push, number) for _ in range(3)]
    try:
        assert streams[0].response.getheader("Content-Type", "").startswith("text/event-stream")
        assert all(s.next_event()["current_item"] == "sku-1" for s in streams)
        with database.session() as db:  # as another server process would
            rooms.switch_item(db, number, "sku-2", actor=ADMIN)
        started = time.monotonic()
        assert [s.next_event()["current_item"] for s in streams] == ["sku-2"] * 3
        assert time.monotonic() - started < 1.0
    finally:
        for stream in streams:
            stream.close()


def test_a_pinned_answer_is_pushed_with_the_room(database: Database, push: int) -> None:
    number = _live_room(database)
    with database.session() as db:
        group = rooms.create_group(db, number, "sku-1", "is it waterproof", [1.0], "poi:wp")
    stream = Stream(push, number)
    try:
        assert stream.next_event()["pins"] == []
        with database.session() as db:
            rooms.pin_answer(db, number, group, actor=ADMIN, text="Yes, taped seams.")
        (pin,) = stream.next_event()["pins"]
        assert pin["text"] == "Yes, taped seams." and pin["question"] == "is it waterproof"
    finally:
        stream.close()


def test_viewers_are_counted_and_an_ended_room_closes_its_streams(
    database: Database, push: int
) -> None:
    number = _live_room(database)
    streams = [Stream(push, number) for _ in range(2)]
    for stream in streams:
        stream.next_event()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with database.session() as db:
            if rooms.room_stats(db, number).viewers == 2:
                break
        time.sleep(0.1)
    else:
        pytest.fail("the push server did not record its 2 viewers")
    with database.session() as db:
        rooms.end_room(db, number, actor=ADMIN)
    for stream in streams:
        assert stream.next_event()["state"] == "ended"
        with pytest.raises(EOFError):
            stream.next_event()
        stream.close()


def test_an_unknown_room_is_a_json_404(push: int) -> None:
    for path in ("/rooms/999/events", "/rooms/abc/events"):
        connection = http.client.HTTPConnection("127.0.0.1", push, timeout=5)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 404
        assert json.loads(response.read())["error"]["code"] == "E400"
        connection.close()
