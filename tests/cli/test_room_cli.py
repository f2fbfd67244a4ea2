"""``shopkg room …``: a room's whole life from the command line, items checked in the graph."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kg import NodeRow, store_from_uri
from shopkg.cli import cli


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_room_is_created_filled_run_switched_ended_and_listed(tmp_path: Path) -> None:
    graph = f"kuzu://{tmp_path / 'graph'}"
    with store_from_uri(graph) as store:
        store.upsert(
            nodes=[NodeRow("Item", {"key": k, "name": f"Item {k}"}) for k in ("a-1", "b-2")]
        )
    where = ["--db", f"sqlite:///{tmp_path / 'meta.db'}", "--graph", graph]
    _run(*where, "db", "upgrade")
    _run(*where, "admin", "create-user", "ada", "--password", "correct horse battery")
    code, out, _ = _run(*where, "room", "create", "Spring drop", "--host", "ada", "--item", "a-1")
    assert code == 0 and "room 1 'Spring drop' (scheduled, host ada)" in out
    code, _, err = _run(*where, "room", "items", "1", "a-1", "nope")
    assert code == 1 and "no such item in the graph: nope" in err
    code, out, _ = _run(*where, "room", "items", "1", "a-1", "b-2")
    assert "items: a-1, b-2" in out
    code, out, _ = _run(*where, "room", "live", "1")
    assert code == 0 and "(live, host ada) on stream: a-1" in out
    code, _, err = _run(*where, "room", "switch", "1", "c-3")
    assert code == 1 and "not in room 1's list" in err
    code, out, _ = _run(*where, "room", "switch", "1", "b-2", "--as", "ada")
    assert "on stream: b-2" in out
    code, out, _ = _run(*where, "room", "end", "1")
    assert code == 0 and "(ended" in out
    code, out, _ = _run(*where, "room", "list", "--json")
    (room,) = [json.loads(line) for line in out.splitlines()]
    assert room["state"] == "ended" and room["items"] == ["a-1", "b-2"]
    code, out, _ = _run(*where, "admin", "audit")
    actions = [json.loads(line)["action"] for line in out.splitlines()]
    assert actions[:5] == ["room_end", "room_switch", "room_live", "set_room_items", "create_room"]
