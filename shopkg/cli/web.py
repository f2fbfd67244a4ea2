"""``shopkg serve``: the web app (assistant page, admin browser, REST API) under waitress, and
beside it the live rooms' push server (server-sent events, on asyncio: ``webapp.push``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import click

from foundation.errors import ConfigError, MissingDependencyError
from foundation.settings import Settings
from shopkg.cli import CliState, pass_state

DEFAULT_THREADS = 8
AUTO_WORKERS = 4  # at most this many processes when web_workers is 0 (one per core)


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
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes sharing the port (default from settings: web_workers; 0 or unset: "
    "one per core, at most 4).",
)
@pass_state
def serve(
    state: CliState, host: str | None, port: int | None, threads: int, workers: int | None
) -> None:
    """Serve the assistant UI, admin browser and REST API with the waitress WSGI server."""
    try:
        import waitress
    except ImportError as e:
        raise MissingDependencyError("`shopkg serve` needs waitress: pip install waitress") from e
    from foundation.db import Database
    from webapp import create_app
    from webapp.workers import bind, supervise

    settings = state.settings
    _require_sqlite_file(settings)
    database = Database(settings.db).connect()
    database.check_current()
    bind_host = host or settings.host
    bind_port = port or settings.port
    processes = workers or settings.web_workers or min(os.cpu_count() or 1, AUTO_WORKERS)
    settings = settings.model_copy(update={"web_workers": processes})  # the loader reads it
    options: dict[str, Any] = {
        "threads": threads,
        # waitress refuses past these with plain-text errors of its own; set above the
        # app's limits, the app answers first, with its JSON error envelope (413, 431)
        "max_request_body_size": 2 * max(settings.max_request_bytes, settings.max_upload_bytes),
        "max_request_header_size": 4 * settings.max_header_bytes,
        "ident": "shopkg",
    }
    where = f"http://{bind_host}:{bind_port}/"
    push_port = settings.push_port or bind_port + 1
    settings = settings.model_copy(update={"push_port": push_port})  # the pages point at it
    pushing = f"live rooms' events on http://{bind_host}:{push_port}/"
    if processes == 1:
        from webapp.push import PushThread

        app = create_app(settings=settings, database=database)
        _warm_up_in_background(app)
        try:
            PushThread(Database(settings.db).connect(), bind_host, push_port).start()
        except OSError as e:
            raise ConfigError(f"cannot start the push server on port {push_port}: {e}") from e
        click.echo(f"shopkg: serving on {where} (admin at /admin/; {pushing})", err=True)
        waitress.serve(app, host=bind_host, port=bind_port, **options)
        return
    database.close()  # nothing opened crosses the fork: each worker connects itself
    try:
        sock = bind(bind_host, bind_port)
    except OSError as e:
        raise ConfigError(f"cannot listen on {bind_host}:{bind_port}: {e}") from e

    def serve_worker(number: int) -> None:
        if number == processes:  # one more process holds the viewers' event streams
            from webapp.push import serve_push

            sock.close()
            serve_push(Database(settings.db).connect(), bind_host, push_port)
            return
        app = create_app(settings=settings, database=Database(settings.db).connect())
        _warm_up_in_background(app)
        waitress.serve(app, sockets=[sock], **options)

    click.echo(
        f"shopkg: serving on {where} with {processes} workers (admin at /admin/; {pushing})",
        err=True,
    )
    supervise(processes + 1, serve_worker)


def _warm_up_in_background(app: Any) -> None:
    """Load and warm the assistant while the server starts listening (``/healthz`` says
    ready when it is done), so the first shopper does not wait seconds for it."""
    from webapp.services import services

    def warm() -> None:
        with app.app_context():
            services().warm_up()

    threading.Thread(target=warm, name="shopkg-warm-up", daemon=True).start()


def _require_sqlite_file(settings: Settings) -> None:
    """Refuse to serve when the SQLite database is missing, naming where it was looked for:
    mostly shopkg was started from another directory than the one holding the data dir
    (``data_dir`` is relative to the working directory), and connecting would leave an empty
    database there."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    database = Path(url.database)
    if database.is_file():
        return
    data_dir = settings.data_dir.resolve()
    if database != settings.data_dir / "shopkg.db":  # the db setting names its own file
        raise ConfigError(
            f"the metadata database {database.resolve()} (setting db) does not exist; point "
            "`shopkg --db URL serve` or SHOPKG_DB at the database of your build"
        )
    state = "does not exist" if not data_dir.exists() else "holds no shopkg.db"
    raise ConfigError(
        f"no ShopKG data in {data_dir}: that data directory {state}. Run shopkg from the "
        "directory that holds your data directory, or point at it: `shopkg --data-dir DIR "
        "serve`, SHOPKG_DATA_DIR=DIR or data_dir in shopkg.toml (`shopkg config` shows the "
        "settings in effect); a new data directory is made by `shopkg build --catalog FILE` "
        "or `shopkg demo`"
    )


def register(group: click.Group) -> None:
    group.add_command(serve)
