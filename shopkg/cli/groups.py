"""Commands of the contract in DESIGN.md whose work later issues build.

Their options are already the contract's, so ``--help`` is useful and scripts can be written
against them; running one says plainly that it is not built yet.
"""

from __future__ import annotations

from pathlib import Path

import click

from shopkg.errors import NotBuiltError


def _not_built(what: str, issue: int) -> NotBuiltError:
    return NotBuiltError(f"`shopkg {what}` is not built yet (tracked in issue #{issue})")


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
def build(catalog: Path, images: Path | None, graph: str | None, db: str | None) -> None:
    """Batch KG build: ingest → extraction → KG → encoders → indexes → prototypes."""
    raise _not_built("build", 8)


@click.command("demo")
def demo() -> None:
    """Build the generated demo catalog's KG and serve the web app on 127.0.0.1."""
    raise _not_built("demo", 8)


@click.command("serve")
@click.option("--host", default=None, help="Interface to bind (default from settings: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the assistant UI, admin browser and REST API."""
    raise _not_built("serve", 7)


@click.group("eval")
def eval_group() -> None:
    """Evaluate a part of ShopKG on a data set; metrics as JSON on the last line."""


@eval_group.command("images")
@click.option(
    "--data", required=True, type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.option("--format", "data_format", required=True, type=click.Choice(["grocery", "clothing"]))
def eval_images(data: Path, data_format: str) -> None:
    """Photo → product, text → image and image → concept retrieval."""
    raise _not_built("eval images", 5)


@eval_group.command("search")
@click.option("--data", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--format", "data_format", required=True, type=click.Choice(["grocery", "epqa"]))
def eval_search(data: Path, data_format: str) -> None:
    """Search relevance: nDCG@10 and Recall@10 per channel and fused."""
    raise _not_built("eval search", 6)


@click.group("train")
def train_group() -> None:
    """Train ShopKG's own models."""


@train_group.command("image-encoder")
def train_image_encoder() -> None:
    """Train ShopKG's image tower against the frozen text encoder (LiT-style)."""
    raise _not_built("train image-encoder", 5)


def register(group: click.Group) -> None:
    for command in (build, demo, serve, eval_group, train_group):
        group.add_command(command)
