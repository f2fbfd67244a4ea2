"""``shopkg train qa-ranker`` and ``shopkg eval qa``: evidence ranking for product questions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from shopkg.cli import CliState, pass_state

DEFAULT_PQA = Path("../shared/data/pqa")


def _ranker_dir(state: CliState) -> Path:
    return state.settings.models_dir / "qa-ranker"


def _embedder(state: CliState) -> object:
    from encoders.factory import text_encoder
    from retrieval.qa_train import CachedEmbedder

    return CachedEmbedder(text_encoder(state.settings))


@click.command("qa-ranker")
@click.option(
    "--data",
    "root",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=DEFAULT_PQA,
    show_default=True,
    help="The product-QA directory (ePQA, hetPQA, semiPQA evidence-ranking files).",
)
@pass_state
def train_qa_ranker(state: CliState, root: Path) -> None:
    """Train the evidence ranker's fusion on the train half of each product-QA file."""
    from retrieval.qa_train import shared_pqa_files, train_ranker

    started = time.monotonic()
    model = train_ranker(_embedder(state), shared_pqa_files(root))  # type: ignore[arg-type]
    model.save(_ranker_dir(state))
    seconds = round(time.monotonic() - started, 1)
    click.echo(json.dumps({"saved": str(_ranker_dir(state)), "seconds": seconds, **model.meta}))


@click.command("qa")
@click.option("--data", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--format", "data_format", required=True, type=click.Choice(["epqa", "hetpqa", "semipqa"])
)
@pass_state
def eval_qa(state: CliState, data: Path, data_format: str) -> None:
    """Evidence ranking: P@1 and MRR of ShopKG's ranker, BM25 and dense; JSON on the last line."""
    from retrieval.evidence import load_fusion
    from retrieval.qa_train import evaluate

    fusion = load_fusion(state.settings.models_dir)
    started = time.monotonic()
    metrics = evaluate(_embedder(state), fusion, data, data_format)  # type: ignore[arg-type]
    metrics["seconds"] = round(time.monotonic() - started, 1)
    click.echo(json.dumps(metrics))


def register(group: click.Group) -> None:
    train = group.commands["train"]
    evaluate = group.commands["eval"]
    assert isinstance(train, click.Group) and isinstance(evaluate, click.Group)
    train.add_command(train_qa_ranker)
    evaluate.add_command(eval_qa)
