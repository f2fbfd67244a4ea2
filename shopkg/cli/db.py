"""``shopkg db …``: migrate the metadata database."""

from __future__ import annotations

import click

from foundation.db import Database
from shopkg.cli import CliState, pass_state


def _database(state: CliState) -> Database:
    return Database(state.settings.db).connect()


@click.group("db")
def db_group() -> None:
    """Create and migrate the metadata database (SQLite or PostgreSQL)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_state
def upgrade(state: CliState, revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    database = _database(state)
    try:
        database.upgrade(revision)
        click.echo(f"database {database.safe_url} is at {database.current_revision()}")
    finally:
        database.close()


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@pass_state
def downgrade(state: CliState, revision: str) -> None:
    """Undo migrations down to REVISION (default: one step; `base` removes every table)."""
    database = _database(state)
    try:
        database.downgrade(revision)
        click.echo(f"database {database.safe_url} is at {database.current_revision() or 'base'}")
    finally:
        database.close()


@db_group.command("current")
@pass_state
def current(state: CliState) -> None:
    """Show the migration the database is at and the newest one the code has."""
    database = _database(state)
    try:
        click.echo(f"current: {database.current_revision() or 'base'}")
        click.echo(f"head:    {database.head_revision()}")
    finally:
        database.close()


def register(group: click.Group) -> None:
    group.add_command(db_group)
