"""``shopkg neo4j-import``: Neo4j's bulk-import CSV files from a build's graph (see
:mod:`kg.neo4j_import`), and the ``neo4j-admin`` command that loads them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shopkg.cli import CliState, pass_state


@click.command("neo4j-import")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--database", default="neo4j", show_default=True, help="Neo4j database to fill.")
@pass_state
def neo4j_import(state: CliState, directory: Path, database: str) -> None:
    """Write the graph (settings' or --graph's, usually a build's Kùzu graph) as Neo4j
    bulk-import CSV files into DIRECTORY, and print the `neo4j-admin database import full`
    command that loads them into a stopped Neo4j 5 (it replaces that database). The first
    ShopKG open of the imported graph creates its constraints and indexes."""
    from kg import open_store
    from kg.neo4j_import import write_import_files

    with open_store(state.settings) as store:
        files = write_import_files(store, directory)
    click.echo(files.command(database))
    summary = {"nodes": files.node_counts, "relations": files.relation_counts}
    click.echo(json.dumps({"directory": str(files.directory), **summary}))


def register(group: click.Group) -> None:
    group.add_command(neo4j_import)
