"""``shopkg room …``: live rooms from the command line (create, items, live, switch, end,
list). Every change is audit-logged under ``--as`` (default: cli)."""

from __future__ import annotations

import json

import click

from foundation.db import Database, rooms
from foundation.errors import InputError
from shopkg.cli import CliState, pass_state


def _database(state: CliState) -> Database:
    database = Database(state.settings.db).connect()
    database.check_current()
    return database


def _known_items(state: CliState, keys: tuple[str, ...]) -> list[str]:
    """The keys, when each names an item of the graph; else an error naming those that do not."""
    if not keys:
        return []
    from kg import NodeRef, open_store

    with open_store(state.settings) as store:
        unknown = [k for k in keys if store.get_node(NodeRef("Item", k)) is None]
    if unknown:
        raise InputError(f"no such item in the graph: {', '.join(unknown)}")
    return list(keys)


def _show(room: rooms.Room) -> None:
    on = f" on stream: {room.current_item}" if room.current_item else ""
    click.echo(f"room {room.id} {room.title!r} ({room.state}, host {room.host}){on}")
    click.echo(f"  items: {', '.join(room.items) or '(none)'}")


actor_option = click.option("--as", "actor", default="cli", show_default=True,
                            help="Who the audit log names.")  # fmt: skip


@click.group("room")
def room_group() -> None:
    """Run live rooms: a host's items, the item on stream, the audience's questions."""


@room_group.command("create")
@click.argument("title")
@click.option("--host", required=True, help="The admin user who hosts the room.")
@click.option("--item", "items", multiple=True, help="An item key, in order (repeat it).")
@actor_option
@pass_state
def create(state: CliState, title: str, host: str, items: tuple[str, ...], actor: str) -> None:
    """Create a scheduled room."""
    keys = _known_items(state, items)
    with _database(state).session() as db:
        _show(rooms.create_room(db, title, host, keys, actor=actor))


@room_group.command("items")
@click.argument("room_id", type=int)
@click.argument("items", nargs=-1, required=True)
@actor_option
@pass_state
def items(state: CliState, room_id: int, items: tuple[str, ...], actor: str) -> None:
    """Set the room's items (in order)."""
    keys = _known_items(state, items)
    with _database(state).session() as db:
        _show(rooms.set_items(db, room_id, keys, actor=actor))


@room_group.command("live")
@click.argument("room_id", type=int)
@click.option("--item", default=None, help="The item to start with (default: the first).")
@actor_option
@pass_state
def live(state: CliState, room_id: int, item: str | None, actor: str) -> None:
    """Go live."""
    with _database(state).session() as db:
        _show(rooms.go_live(db, room_id, actor=actor, item=item))


@room_group.command("switch")
@click.argument("room_id", type=int)
@click.argument("item")
@actor_option
@pass_state
def switch(state: CliState, room_id: int, item: str, actor: str) -> None:
    """Put another item of the room's list on stream."""
    with _database(state).session() as db:
        _show(rooms.switch_item(db, room_id, item, actor=actor))


@room_group.command("end")
@click.argument("room_id", type=int)
@actor_option
@pass_state
def end(state: CliState, room_id: int, actor: str) -> None:
    """End the room (viewers can no longer ask)."""
    with _database(state).session() as db:
        _show(rooms.end_room(db, room_id, actor=actor))


@room_group.command("list")
@click.option("--state", "room_state", type=click.Choice(["scheduled", "live", "ended"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_state
def list_rooms(state: CliState, room_state: str | None, as_json: bool) -> None:
    """List rooms, newest first."""
    with _database(state).session() as db:
        found = rooms.list_rooms(db, state=room_state)
    for room in found:
        if as_json:
            click.echo(
                json.dumps(
                    {"id": room.id, "title": room.title, "host": room.host, "state": room.state,
                     "current_item": room.current_item, "items": list(room.items)},
                    ensure_ascii=False,
                )
            )  # fmt: skip
        else:
            _show(room)


def register(group: click.Group) -> None:
    group.add_command(room_group)
