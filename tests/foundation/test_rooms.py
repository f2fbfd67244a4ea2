"""Live rooms in the metadata DB (SQLite and PostgreSQL): their life, questions, pins, and
the 0004 migration on a database that already holds data."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from foundation.db import AuditEntry, Database, RoomState, accounts, rooms
from foundation.errors import AuthError, InputError, NotFoundError, RoomStateError

LIVE_TABLES = {
    "live_rooms",
    "live_room_items",
    "live_questions",
    "live_question_groups",
    "live_pinned_answers",
    "live_room_viewers",
}


@pytest.fixture
def host(database: Database) -> str:
    with database.session() as db:
        accounts.create_admin(db, "host", "a long password")
    return "host"


def test_a_room_goes_live_switches_and_ends_with_every_step_audited(
    database: Database, host: str
) -> None:
    with database.session() as db:
        room = rooms.create_room(db, "Rain gear", host, ["sku-1", "sku-2"], actor=host)
    assert room.state == RoomState.SCHEDULED and room.items == ("sku-1", "sku-2")
    with database.session() as db:
        live = rooms.go_live(db, room.id, actor=host)
        switched = rooms.switch_item(db, room.id, "sku-2", actor=host)
        ended = rooms.end_room(db, room.id, actor=host)
    assert live.current_item == "sku-1" and switched.current_item == "sku-2"
    assert ended.state == RoomState.ENDED and ended.ended_at is not None
    assert room.version < live.version < switched.version < ended.version
    with database.session() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-4:] == ["create_room", "room_live", "room_switch", "room_end"]


def test_bad_room_changes_are_refused_with_what_to_do(database: Database, host: str) -> None:
    with database.session() as db:
        empty = rooms.create_room(db, "Empty", host, actor=host)
        with pytest.raises(RoomStateError, match="no items"):
            rooms.go_live(db, empty.id, actor=host)
        with pytest.raises(InputError, match="twice"):
            rooms.set_items(db, empty.id, ["sku-1", "sku-1"], actor=host)
        room = rooms.set_items(db, empty.id, ["sku-1"], actor=host)
        with pytest.raises(RoomStateError, match="not live"):
            rooms.switch_item(db, room.id, "sku-1", actor=host)
        rooms.go_live(db, room.id, actor=host)
        with pytest.raises(InputError, match="not in room"):
            rooms.switch_item(db, room.id, "sku-9", actor=host)
        with pytest.raises(RoomStateError, match="without items"):
            rooms.set_items(db, room.id, [], actor=host)
        rooms.end_room(db, room.id, actor=host)
        with pytest.raises(RoomStateError, match="ended"):
            rooms.switch_item(db, room.id, "sku-1", actor=host)
        with pytest.raises(NotFoundError):
            rooms.get_room(db, 9999)
        with pytest.raises(AuthError):
            rooms.create_room(db, "Nobody hosts", "nobody", actor=host)


def test_questions_are_logged_grouped_counted_and_pinned(database: Database, host: str) -> None:
    with database.session() as db:
        room = rooms.go_live(
            db, rooms.create_room(db, "R", host, ["sku-1"], actor=host).id, actor=host
        )
        group = rooms.create_group(db, room.id, "sku-1", "is it waterproof", [1.0, 0.0], "wp")
        for text in ("is it waterproof", "does water get in"):
            rooms.record_question(
                db, room_id=room.id, viewer="v1", question=text, item_key="sku-1",
                answer="Yes.", abstained=False, answered_by="assistant",
                evidence=[{"text": "waterproof", "source": "kg", "ref": "POI", "score": 0.9}],
                group_id=group,
            )  # fmt: skip
        pin = rooms.pin_answer(db, room.id, group, actor=host)
        stats = rooms.room_stats(db, room.id, item_key="sku-1")
    assert pin.text == "Yes." and not pin.written and pin.evidence
    assert stats.questions == 2 and stats.questions_per_minute == 2
    (summary,) = stats.groups
    assert summary.questions == 2 and summary.pin is not None
    with database.session() as db:
        better = rooms.pin_answer(db, room.id, group, actor=host, text="Yes: taped seams.")
        assert [p.text for p in rooms.pins_of(db, room.id, "sku-1")] == ["Yes: taped seams."]
        after = rooms.get_room(db, room.id)
    assert better.written and after.pin_version == room.pin_version + 2


def test_viewer_counts_add_up_fresh_rows_of_every_push_server(
    database: Database, host: str
) -> None:
    with database.session() as db:
        room = rooms.create_room(db, "R", host, ["sku-1"], actor=host)
        rooms.record_viewers(db, "server-a", {room.id: 3})
        rooms.record_viewers(db, "server-b", {room.id: 4, 9999: 1})
        rooms.record_viewers(db, "server-a", {room.id: 5})
        assert rooms.room_stats(db, room.id).viewers == 9


def test_migration_0004_adds_and_removes_the_live_tables_beside_existing_data(
    database_url: str,
) -> None:
    db = Database(database_url).connect()
    try:
        db.upgrade("0003")
        with db.session() as session:
            accounts.create_admin(session, "kept", "a long password")
        db.upgrade("0004")
        assert set(inspect(db.engine).get_table_names()) >= LIVE_TABLES
        with db.session() as session:
            rooms.create_room(session, "R", "kept", ["sku-1"], actor="kept")
        db.downgrade("0003")
        assert not LIVE_TABLES & set(inspect(db.engine).get_table_names())
        with db.session() as session:
            assert accounts.has_users(session)
        db.upgrade()
    finally:
        db.close()
