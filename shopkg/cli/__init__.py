"""The ``shopkg`` command line: a thin layer over the Python APIs.

Each area registers its commands in a module of its own (``shopkg/cli/<area>.py``). Errors
that ShopKG raises on purpose are printed as one line and exit with status 1; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from foundation import __version__
from foundation.errors import ShopKGError
from foundation.settings import Settings, load_settings


@dataclass
class CliState:
    """What the root command's options set up; settings are loaded on first use."""

    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    _settings: Settings | None = None

    def reset(self) -> None:
        """Forget loaded settings, e.g. after a command added overrides of its own."""
        self._settings = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file, **self.overrides)
            logging.basicConfig(
                level=logging.DEBUG if self.debug else self._settings.log_level,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            )
            if not self.debug:
                # libraries that narrate at INFO what the commands already say
                for name in NOISY_LOGGERS:
                    logging.getLogger(name).setLevel(logging.WARNING)
        return self._settings


pass_state = click.make_pass_decorator(CliState)

NOISY_LOGGERS = ("alembic", "faiss", "sentence_transformers", "transformers", "bm25s", "urllib3")


class ShopKGGroup(click.Group):
    """A group that turns :class:`ShopKGError` into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShopKGError as e:
            state = ctx.find_object(CliState)
            if state is not None and state.debug:
                raise
            click.echo(f"shopkg: error [{e.code}]: {e}", err=True)
            ctx.exit(1)


@click.group(cls=ShopKGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shopkg")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (default: $SHOPKG_CONFIG, else ./shopkg.toml when present).",
)
@click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False), help="Overrides data_dir."
)
@click.option("--graph", "graph", metavar="URI", help="Graph store: kuzu:///DIR or neo4j://HOST.")
@click.option(
    "--db", "db", metavar="URL", help="Metadata database URL (sqlite:/// or postgresql://)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(
    ctx: click.Context,
    config_file: Path | None,
    data_dir: Path | None,
    graph: str | None,
    db: str | None,
    debug: bool,
) -> None:
    """ShopKG: build an e-commerce knowledge graph from a catalog and serve it.

    Settings come from defaults, then a TOML file, then SHOPKG_* environment variables, then
    these options. `shopkg config` shows the effective settings.
    """
    ctx.obj = CliState(
        config_file=config_file,
        overrides={"data_dir": data_dir, "graph": graph, "db": db},
        debug=debug,
    )


def _register() -> None:
    from shopkg.cli import (
        admin,
        build,
        check,
        config,
        db,
        demo,
        demo_catalog,
        extraction,
        groups,
        images,
        ingest,
        neo4j_import,
        qa,
        room,
        search,
        web,
        worker,
    )

    for module in (
        config,
        db,
        admin,
        room,
        ingest,
        build,
        check,
        groups,
        images,
        demo_catalog,
        qa,
        extraction,
        web,
        demo,
        search,
        neo4j_import,
        worker,
    ):
        module.register(cli)


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    try:
        cli.main(args=argv, prog_name="shopkg", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
