"""``shopkg config``: show the effective settings (secrets masked)."""

from __future__ import annotations

import json

import click

from shopkg.cli import CliState, pass_state


@click.command("config")
@pass_state
def config_command(state: CliState) -> None:
    """Print the effective settings as JSON, secrets masked."""
    click.echo(json.dumps(state.settings.public_dict(), indent=2, sort_keys=True))


def register(group: click.Group) -> None:
    group.add_command(config_command)
