"""Shoppers' conversations in the metadata DB (SQLite and PostgreSQL): saved, read back by
another process's reader, over once idle, purged, and the 0005 migration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, update

from assistant.api import Hit
from assistant.dialog import DatabaseSessions, Session
from foundation.db import Database, DialogSession, dialogs
from foundation.db.models import utcnow
from foundation.errors import InputError

HOUR = timedelta(hours=1)


def test_a_conversation_is_saved_read_back_and_overwritten(database: Database) -> None:
    with database.session() as db:
        assert dialogs.load_dialog(db, "conv-1", HOUR) is None
        dialogs.save_dialog(db, "conv-1", {"query": "rain jacket"})
    with database.session() as db:
        assert dialogs.load_dialog(db, "conv-1", HOUR) == {"query": "rain jacket"}
        dialogs.save_dialog(db, "conv-1", {"query": "rain jacket in red"})  # an upsert
    with database.session() as db:
        assert dialogs.load_dialog(db, "conv-1", HOUR) == {"query": "rain jacket in red"}
        assert db.scalar(select(DialogSession.id)) == "conv-1"
    with database.session() as db, pytest.raises(InputError, match="1 to 64 characters"):
        dialogs.save_dialog(db, "x" * 65, {})


def test_an_idle_conversation_is_over_and_purged(database: Database) -> None:
    with database.session() as db:
        dialogs.save_dialog(db, "old-conv", {"query": "boots"})
        dialogs.save_dialog(db, "new-conv", {"query": "tents"})
    with database.session() as db:
        stale = utcnow() - timedelta(hours=2)
        db.execute(update(DialogSession).where(DialogSession.id == "old-conv").values(
            updated_at=stale
        ))  # fmt: skip
    with database.session() as db:
        assert dialogs.load_dialog(db, "old-conv", HOUR) is None
        assert dialogs.load_dialog(db, "old-conv", timedelta(hours=3)) == {"query": "boots"}
        assert dialogs.purge_dialogs(db, HOUR) == 1
    with database.session() as db:
        assert list(db.scalars(select(DialogSession.id))) == ["new-conv"]


def test_two_readers_of_one_database_continue_one_session(database: Database) -> None:
    """What two server processes do: one saves a turn's session, the other loads it."""
    hit = Hit("sku-1", "Rain jacket", 80.0, "USD", None, 0.9, {"bm25": 1.0}, ["by Acme"])
    first, second = DatabaseSessions(database), DatabaseSessions(database)
    session = first.load("conv-2")
    assert session.query == "" and session.hits == []
    session.query, session.hits, session.kinds = "rain jacket", [hit], {"rain jacket"}
    session.current = "sku-1"
    first.save("conv-2", session)
    found = second.load("conv-2")
    assert (found.query, found.hits, found.current, found.kinds) == (
        "rain jacket",
        [hit],
        "sku-1",
        {"rain jacket"},
    )
    assert Session.from_json(found.to_json()).hits == [hit]
    assert DatabaseSessions(database, idle_seconds=0).load("conv-2").query == ""


def test_migration_0005_adds_the_table_to_a_database_with_data(database_url: str) -> None:
    db = Database(database_url).connect()
    try:
        db.upgrade("0004")
        assert "dialog_sessions" not in inspect(db.engine).get_table_names()
        db.upgrade()
        assert "dialog_sessions" in inspect(db.engine).get_table_names()
        with db.session() as session:
            dialogs.save_dialog(session, "conv-3", {"query": "mugs"})
        db.downgrade("0004")
        assert "dialog_sessions" not in inspect(db.engine).get_table_names()
    finally:
        db.close()
