"""``shopkg ingest``: validate a catalog into the metadata database (the build's first stage)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from catalog.readers import FORMATS as DATASET_FORMATS
from foundation.db import Database, jobs
from shopkg.cli import CliState, pass_state

DATASETS = DATASET_FORMATS


@click.command("ingest")
@click.option(
    "--catalog",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="A .jsonl/.csv catalog file or a directory of them, or a data set directory.",
)
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["catalog", *DATASETS]),
    default="catalog",
    show_default=True,
    help="`catalog` for ShopKG's record schema; or one of the public data sets' layouts.",
)
@click.option("--name", help="Catalog name records are kept under (default: the file's stem).")
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Image root; each record's image paths are checked under it.",
)
@click.option("--partial", is_flag=True, help="An update: records not in it are kept, not removed.")
@pass_state
def ingest_command(
    state: CliState,
    catalog: Path,
    data_format: str,
    name: str | None,
    images: Path | None,
    partial: bool,
) -> None:
    """Validate catalog records, skip unchanged ones, quarantine bad ones with the reason.

    Prints the counts as JSON on the last line: read = new + changed + unchanged + quarantined.
    """
    from catalog.ingest import ingest, read_catalog
    from catalog.readers import read_dataset

    database = Database(state.settings.db).connect()
    database.check_current()
    catalog_name = name or (data_format if data_format in DATASETS else catalog.stem)
    if data_format == "catalog":
        records = read_catalog(catalog)
    else:
        records = read_dataset(catalog, data_format)
    with database.session() as session:
        job = jobs.create_job(session, "ingest", {"catalog": str(catalog)}, ["ingest"])
        jobs.start_job(job)
        job_id = job.id
    try:
        report = ingest(
            database,
            catalog_name,
            records,
            job_id=job_id,
            image_root=images,
            remove_missing=not partial,
            batch_size=state.settings.batch_size,
        )
    except BaseException as e:
        with database.session() as session:
            jobs.fail_job(
                jobs.get_job(session, job_id), str(e), interrupted=isinstance(e, KeyboardInterrupt)
            )
        raise
    with database.session() as session:
        job = jobs.get_job(session, job_id)
        jobs.advance_stage(
            job,
            "ingest",
            done=report.new + report.changed,
            skipped=report.unchanged,
            failed=report.quarantined,
        )
        jobs.finish_stage(job, "ingest")
        jobs.finish_job(job, report.summary())
        for row in jobs.quarantined(session, job_id, limit=20):
            click.echo(f"quarantined {row.location}: {row.reason}", err=True)
        if report.quarantined + report.missing_images > 20:
            click.echo(f"… see all with job {job_id} in the admin dashboard", err=True)
    click.echo(json.dumps({"job": job_id, **report.summary()}, ensure_ascii=False))


def register(group: click.Group) -> None:
    group.add_command(ingest_command)
