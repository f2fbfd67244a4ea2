"""``shopkg eval search``: search relevance per channel and fused (see retrieval.search_eval)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from shopkg.cli import CliState, pass_state


@click.command("search")
@click.option("--data", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--format", "data_format", required=True, type=click.Choice(["grocery", "epqa"]))
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the evaluation's own build goes (default: <data_dir>/eval/search-FORMAT).",
)
@pass_state
def eval_search(state: CliState, data: Path, data_format: str, work_dir: Path | None) -> None:
    """Search relevance: nDCG@10 and Recall@10 per channel and fused; JSON on the last line."""
    from retrieval.search_eval import evaluate
    from shopkg.settings import load_settings

    settings = state.settings
    scratch = work_dir or settings.data_dir / "eval" / f"search-{data_format}"
    eval_settings = load_settings(
        data_dir=scratch, text_encoder=settings.text_encoder, device=settings.device
    )
    started = time.monotonic()
    metrics = evaluate(eval_settings, data, data_format)
    metrics["seconds"] = round(time.monotonic() - started, 1)
    click.echo(json.dumps(metrics))


def register(group: click.Group) -> None:
    evaluate = group.commands["eval"]
    assert isinstance(evaluate, click.Group)
    evaluate.add_command(eval_search)
