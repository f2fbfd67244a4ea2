"""``shopkg admin …``: admin users, API tokens and the audit log."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from sqlalchemy import select

from foundation.db import ApiToken, Database, accounts
from shopkg.cli import CliState, pass_state


def _database(state: CliState) -> Database:
    database = Database(state.settings.db).connect()
    database.check_current()
    return database


@click.group("admin")
def admin_group() -> None:
    """Manage admin users, API tokens and read the audit log."""


@admin_group.command("create-user")
@click.argument("username")
@click.password_option(help="At least 10 characters; asked for when not given.")
@pass_state
def create_user(state: CliState, username: str, password: str) -> None:
    """Create an admin user for the admin browser and the admin API."""
    database = _database(state)
    with database.session() as session:
        accounts.create_admin(session, username, password)
    click.echo(f"created admin user {username!r}")


@admin_group.command("set-password")
@click.argument("username")
@click.password_option()
@pass_state
def set_password(state: CliState, username: str, password: str) -> None:
    """Change an admin user's password; their browser sessions end."""
    with _database(state).session() as session:
        accounts.set_password(session, username, password)
    click.echo(f"password of {username!r} changed; their browser sessions ended")


@admin_group.command("disable")
@click.argument("username")
@pass_state
def disable(state: CliState, username: str) -> None:
    """Disable an admin user: no logins, their sessions end, their API tokens stop working."""
    with _database(state).session() as session:
        accounts.set_active(session, username, False)
    click.echo(f"disabled {username!r}: sessions ended, API tokens refused until enabled")


@admin_group.command("enable")
@click.argument("username")
@pass_state
def enable(state: CliState, username: str) -> None:
    """Enable a disabled admin user again (their unrevoked API tokens work again)."""
    with _database(state).session() as session:
        accounts.set_active(session, username, True)
    click.echo(f"enabled {username!r}")


@admin_group.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(min=1), help="Expire after this many days.")
@pass_state
def token(state: CliState, username: str, name: str, days: int | None) -> None:
    """Issue a bearer token for the admin API; it is printed only once."""
    expires = timedelta(days=days) if days is not None else None
    with _database(state).session() as session:
        secret = accounts.issue_token(session, username, name, expires_in=expires)
    click.echo(secret)


@admin_group.command("tokens")
@pass_state
def tokens(state: CliState) -> None:
    """List API tokens (prefix, owner, name, state)."""
    with _database(state).session() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state_word = "revoked" if row.revoked else "active"
            click.echo(f"{row.prefix}  {row.user.username}  {row.name}  {state_word}")


@admin_group.command("revoke")
@click.argument("prefix")
@pass_state
def revoke(state: CliState, prefix: str) -> None:
    """Revoke the API token whose prefix is PREFIX."""
    with _database(state).session() as session:
        accounts.revoke_token(session, prefix)
    click.echo(f"revoked {prefix}")


@admin_group.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@pass_state
def audit(state: CliState, limit: int) -> None:
    """Print the newest audit-log entries as JSON lines."""
    with _database(state).session() as session:
        for entry in accounts.audit_entries(session, limit=limit):
            click.echo(
                json.dumps(
                    {
                        "at": entry.at.isoformat(),
                        "actor": entry.actor,
                        "action": entry.action,
                        "target": f"{entry.target_kind}:{entry.target_key}",
                        "details": entry.details,
                    },
                    ensure_ascii=False,
                )
            )


def register(group: click.Group) -> None:
    group.add_command(admin_group)
