"""``shopkg serve``: the web app (assistant page, admin browser, REST API) under waitress."""

from __future__ import annotations

import click

from shopkg.cli import CliState, pass_state
from shopkg.errors import MissingDependencyError

DEFAULT_THREADS = 8


@click.command("serve")
@click.option("--host", default=None, help="Interface to bind (default from settings: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8000).")
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Worker threads of the WSGI server.",
)
@pass_state
def serve(state: CliState, host: str | None, port: int | None, threads: int) -> None:
    """Serve the assistant UI, admin browser and REST API with the waitress WSGI server."""
    try:
        import waitress
    except ImportError as e:
        raise MissingDependencyError("`shopkg serve` needs waitress: pip install waitress") from e
    from shopkg.db import Database
    from webapp import create_app

    settings = state.settings
    database = Database(settings.db).connect()
    database.check_current()
    app = create_app(settings=settings, database=database)
    bind_host = host or settings.host
    bind_port = port or settings.port
    click.echo(f"shopkg: serving on http://{bind_host}:{bind_port}/ (admin at /admin/)", err=True)
    waitress.serve(
        app,
        host=bind_host,
        port=bind_port,
        threads=threads,
        max_request_body_size=max(settings.max_request_bytes, settings.max_upload_bytes),
        ident="shopkg",
    )


def register(group: click.Group) -> None:
    group.add_command(serve)
