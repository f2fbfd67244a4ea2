"""``shopkg build``: the batch KG build (see :mod:`jobs.build`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from catalog.readers import FORMATS as DATASET_FORMATS
from shopkg.cli import CliState, pass_state

FORMATS = ("catalog", *DATASET_FORMATS)


@click.command("build")
@click.option(
    "--catalog",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="Catalog file (JSONL or CSV) or a directory of them.",
)
@click.option("--images", type=click.Path(path_type=Path, file_okay=False), help="Image root.")
@click.option("--graph", "graph", metavar="URI", help="Graph store URI (overrides settings).")
@click.option("--db", "db", metavar="URL", help="Metadata database URL (overrides settings).")
@click.option(
    "--name",
    help="The catalog's stable name; records are keyed by it, so a renamed or date-stamped "
    "export stays the same catalog (default: the catalog_name setting, else the only catalog "
    "built so far, else the file's stem without a date stamp).",
)
@click.option(
    "--format",
    "data_format",
    type=click.Choice(FORMATS),
    default="catalog",
    show_default=True,
    help="`catalog` for ShopKG's record schema, or a public data set's layout.",
)
@click.option("--force", is_flag=True, help="Re-run extraction even when nothing changed.")
@click.option(
    "--engine",
    type=click.Choice(("in-process", "ray")),  # jobs.build.ENGINES
    default="in-process",
    show_default=True,
    help="Where the per-record work (extraction, text and image encoding) runs: in this "
    "process, or on Ray actors (needs the `shopkg[ray]` extra).",
)
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="With --engine ray: the cluster, `auto` or `ray://HOST:10001` (default: start a "
    "local Ray on this machine).",
)
@click.option(
    "--ray-workers",
    type=click.IntRange(min=1),
    help="With --engine ray: actors per stage (default: one per CPU of the cluster; the "
    "encoders take one per GPU where it has GPUs).",
)
@pass_state
def build(
    state: CliState,
    catalog: Path,
    images: Path | None,
    graph: str | None,
    db: str | None,
    name: str | None,
    data_format: str,
    force: bool,
    engine: str,
    ray_address: str | None,
    ray_workers: int | None,
) -> None:
    """Batch KG build: ingest → extraction → KG → encoders → indexes.

    Resumable (run it again after a crash or Ctrl-C) and incremental (unchanged records are
    skipped). Prints one JSON summary on the last line; exits non-zero only when the job fails.
    """
    from foundation.db import Database
    from jobs.build import BuildPlan, make_engine, run_build
    from jobs.build import catalog_name as resolve_name
    from jobs.report import build_report

    if graph or db:
        state.overrides.update({k: v for k, v in {"graph": graph, "db": db}.items() if v})
        state.reset()
    database = Database(state.settings.db).connect()
    try:
        database.upgrade()
        given = name or state.settings.catalog_name
        catalog_name, note = resolve_name(database, catalog, data_format, given)
    finally:
        database.close()
    if note:
        click.echo(note, err=True)
    plan = BuildPlan(catalog, catalog_name, images, data_format)
    if engine != "ray" and (ray_address or ray_workers):
        raise click.UsageError("--ray-address and --ray-workers go with --engine ray")
    runner = make_engine(engine, address=ray_address, workers=ray_workers)
    result = run_build(state.settings, plan, stream=sys.stderr, force=force, engine=runner)
    database = Database(state.settings.db).connect()
    try:
        click.echo(build_report(database, result.job_id, result.stages), err=True)
    finally:
        database.close()
    summary = {
        "job": result.job_id,
        "status": str(result.status),
        "resumed": result.resumed,
        "seconds": round(result.seconds, 1),
        "stages": result.stages,
    }
    click.echo(json.dumps(summary, default=str))


def register(group: click.Group) -> None:
    group.add_command(build)
