"""``shopkg check``: whether the catalog, the KG and the indexes agree (see :mod:`jobs.check`)."""

from __future__ import annotations

import json

import click

from shopkg.cli import CliState, pass_state


@click.command("check")
@click.option("--catalog", help="Catalog name (default: that of the last successful build).")
@click.pass_context
@pass_state
def check(state: CliState, ctx: click.Context, catalog: str | None) -> None:
    """Compare the catalog's active records, the KG's items and every index's keys, taking
    admin overrides into account (a deleted item is expected nowhere).

    Prints a summary and each disagreement with its keys, then JSON on the last line; exits 1
    when anything disagrees, 0 otherwise.
    """
    from jobs.check import check_build

    report = check_build(state.settings, catalog)
    for line in report.lines():
        click.echo(line)
    click.echo(json.dumps(report.to_dict(), default=str))
    if not report.ok:
        ctx.exit(1)


def register(group: click.Group) -> None:
    group.add_command(check)
