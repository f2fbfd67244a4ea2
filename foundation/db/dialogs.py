"""Shoppers' conversations with the assistant, kept in the metadata DB.

``shopkg serve`` runs one process per core (and more machines may share one PostgreSQL), so
the message "compare the first two" can reach another process than the search before it.
Each conversation's state is one row, written after every turn and read before the next,
whichever process answers; a conversation idle for longer than ``idle`` is over: it reads as
none, and :func:`purge_dialogs` deletes it. What the state holds is the assistant's business
(:mod:`assistant.dialog`); here it is a JSON object.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from foundation.db.models import DialogSession, as_utc, utcnow
from foundation.errors import InputError

MAX_ID = 64  # characters of a session id


def load_dialog(session: Session, dialog_id: str, idle: timedelta) -> dict[str, Any] | None:
    """The state of conversation ``dialog_id``; None when there is none, or it has been
    idle for longer than ``idle``."""
    row = session.get(DialogSession, _checked(dialog_id))
    if row is None or as_utc(row.updated_at) < utcnow() - idle:
        return None
    return dict(row.state)


def save_dialog(session: Session, dialog_id: str, state: dict[str, Any]) -> None:
    """Write the state of conversation ``dialog_id`` (one statement: two processes saving a
    new conversation at once do not collide; the later write wins)."""
    now = utcnow()
    values = {"id": _checked(dialog_id), "state": state, "updated_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(DialogSession).values(values)
        session.execute(pg.on_conflict_do_update(index_elements=["id"], set_=values))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(DialogSession).values(values)
        session.execute(lite.on_conflict_do_update(index_elements=["id"], set_=values))
    else:  # another database: read, then write
        row = session.get(DialogSession, dialog_id)
        if row is None:
            session.add(DialogSession(id=dialog_id, state=state, updated_at=now))
        else:
            row.state, row.updated_at = state, now
        session.flush()


def purge_dialogs(session: Session, idle: timedelta) -> int:
    """Delete the conversations idle for longer than ``idle``; returns how many."""
    cutoff = utcnow() - idle
    result = session.execute(delete(DialogSession).where(DialogSession.updated_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def _checked(dialog_id: str) -> str:
    if not dialog_id or len(dialog_id) > MAX_ID:
        raise InputError(f"a conversation id has 1 to {MAX_ID} characters, not {len(dialog_id)}")
    return dialog_id
