"""``shopkg demo``: generate the demo catalog, build its KG and indexes, serve the web app."""

from __future__ import annotations

import json
import secrets
import sys
import time

import click

from shopkg.cli import CliState, pass_state

DEMO_ITEMS = 2000
DEMO_SEED = 0


@click.command("demo")
@click.option("--items", type=click.IntRange(10, 1_000_000), default=DEMO_ITEMS, show_default=True)
@click.option("--no-serve", is_flag=True, help="Build only; do not start the web app.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8000).")
@click.pass_context
@pass_state
def demo(state: CliState, ctx: click.Context, items: int, no_serve: bool, port: int | None) -> None:
    """Build the generated demo catalog's KG and serve the web app on 127.0.0.1.

    The demo catalog is generated (synthetic products, procedurally drawn images), not real.
    """
    from catalog.demo.generate import GENERATED_NOTICE, write_catalog
    from foundation.db import Database, accounts
    from jobs.build import BuildPlan, run_build

    settings = state.settings
    started = time.monotonic()
    out = settings.data_dir / "demo-catalog"
    click.echo(f"shopkg demo: {GENERATED_NOTICE}", err=True)
    if not (out / "catalog.jsonl").is_file():
        click.echo(f"shopkg demo: generating {items} items into {out}", err=True)
        write_catalog(out, items, DEMO_SEED)
    plan = BuildPlan(out / "catalog.jsonl", "demo", out / "images", generated=True)
    result = run_build(settings, plan, stream=sys.stderr)
    database = Database(settings.db).connect()
    with database.session() as session:
        if not accounts.has_users(session):
            password = secrets.token_urlsafe(12)
            accounts.create_admin(session, "admin", password, actor="demo")
            click.echo(f"shopkg demo: admin login: admin / {password} (shown once)", err=True)
    database.close()
    summary = {
        "job": result.job_id,
        "status": str(result.status),
        "build_seconds": round(result.seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    click.echo(json.dumps(summary))
    if no_serve:
        return
    from shopkg.cli.web import serve

    ctx.invoke(serve, host="127.0.0.1", port=port, threads=8)


def register(group: click.Group) -> None:
    group.add_command(demo)
