from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from foundation.db import Database
from shopkg.cli import cli

CONTRACT = ["build", "demo", "serve", "db", "eval", "train", "admin", "config"]


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_contract_commands() -> None:
    code, out, _ = _run("--help")
    assert code == 0
    for name in CONTRACT:
        assert f"  {name} " in out
    code, out, _ = _run("eval", "--help")
    for name in ("extraction", "images", "qa", "search"):
        assert name in out
    code, out, _ = _run("build", "--help")
    assert "--catalog" in out and "--images" in out and "--graph" in out and "--db" in out


def test_config_shows_effective_settings_with_overrides() -> None:
    code, out, _ = _run("--data-dir", "/srv/shop", "config", env={"SHOPKG_PORT": "8123"})
    assert code == 0
    shown = json.loads(out)
    assert shown["port"] == 8123
    assert shown["graph"] == "kuzu:///srv/shop/graph"


def test_bad_settings_give_one_line_and_exit_non_zero() -> None:
    code, out, err = _run("config", env={"SHOPKG_GRAPH": "foo://x"})
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("shopkg: error [E100]: invalid setting SHOPKG_GRAPH")


def test_debug_shows_the_traceback_instead() -> None:
    result = CliRunner().invoke(cli, ["--debug", "config"], env={"SHOPKG_GRAPH": "foo://x"})
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ConfigError"


def test_db_commands_migrate_and_report(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    database = Database(db).connect()
    head = database.head_revision()  # the newest migration, whichever branch added it
    database.close()
    code, out, _ = _run("--db", db, "db", "upgrade")
    assert code == 0 and f"is at {head}" in out
    code, out, _ = _run("--db", db, "db", "current")
    assert f"current: {head}" in out
    code, out, _ = _run("--db", db, "db", "downgrade", "base")
    assert code == 0 and "is at base" in out


def test_admin_commands_need_a_migrated_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'admin.db'}"
    code, _, err = _run("--db", db, "admin", "tokens")
    assert code == 1 and "shopkg db upgrade" in err
    _run("--db", db, "db", "upgrade")
    code, out, _ = _run(
        "--db", db, "admin", "create-user", "ada", "--password", "correct horse battery"
    )
    assert code == 0, out
    code, token, _ = _run("--db", db, "admin", "token", "ada", "--name", "ci")
    assert code == 0 and token.startswith("skg_")
    code, out, _ = _run("--db", db, "admin", "tokens")
    assert "ada  ci  active" in out
    code, out, _ = _run("--db", db, "admin", "audit")
    actions = [json.loads(line)["action"] for line in out.splitlines()]
    assert actions == ["issue_token", "create_user"]


def test_admin_disable_and_enable_a_user(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'admin.db'}"
    _run("--db", db, "db", "upgrade")
    _run("--db", db, "admin", "create-user", "ada", "--password", "correct horse battery")
    code, out, _ = _run("--db", db, "admin", "disable", "ada")
    assert code == 0 and "disabled 'ada'" in out
    code, out, _ = _run("--db", db, "admin", "enable", "ada")
    assert code == 0 and "enabled 'ada'" in out
    code, _, err = _run("--db", db, "admin", "disable", "nobody")
    assert code == 1 and "no admin user 'nobody'" in err
    code, out, _ = _run("--db", db, "admin", "audit")
    actions = [json.loads(line)["action"] for line in out.splitlines()]
    assert actions == ["enable_user", "disable_user", "create_user"]


def test_console_script_prints_one_line_without_traceback(tmp_path: Path) -> None:
    shopkg = Path(sys.executable).parent / "shopkg"
    result = subprocess.run(
        [str(shopkg), "config"],
        env={"SHOPKG_GRAPH": "foo://x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
