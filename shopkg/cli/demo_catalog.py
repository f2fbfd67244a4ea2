"""``shopkg demo-catalog``: write the generated (synthetic) demo catalog to a directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("demo-catalog")
@click.option("--items", type=click.IntRange(min=1), required=True, help="How many products.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for catalog.jsonl, images/ and manifest.json (created when missing).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same catalog.")
@click.option(
    "--images/--no-images",
    default=True,
    show_default=True,
    help="Draw a 160×160 JPEG per item (about 200 a second per worker; the slow part).",
)
@click.option(
    "--image-limit",
    type=click.IntRange(min=0),
    help="Draw images for the first N items only; the rest list none. For large catalogs.",
)
@click.option("--truth", is_flag=True, help="Also write truth.jsonl: what each item really is.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes."
)
def demo_catalog_command(
    items: int,
    out: Path,
    seed: int,
    images: bool,
    image_limit: int | None,
    truth: bool,
    workers: int,
) -> None:
    """Generate the demo catalog: synthetic products across six departments.

    Every product, brand, price, review, question and image is made up. The same --items and
    --seed give byte-identical files, and item N is the same in a catalog of any size.
    Prints a summary as JSON on the last line.
    """
    from catalog.demo.generate import GENERATED_NOTICE, write_catalog

    click.echo(GENERATED_NOTICE, err=True)
    written = 0
    with click.progressbar(length=items, label="generating", file=sys.stderr) as bar:

        def advance(done: int) -> None:
            nonlocal written
            bar.update(done - written)
            written = done

        summary = write_catalog(
            out,
            items,
            seed,
            image_limit=image_limit if images else 0,
            truth=truth,
            workers=workers,
            progress=advance,
        )
    click.echo(json.dumps(summary.to_json(), ensure_ascii=False))


def register(group: click.Group) -> None:
    group.add_command(demo_catalog_command)
