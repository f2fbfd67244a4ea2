"""``shopkg eval search`` and ``shopkg train injection``: search relevance and the trained
knowledge injection of the dense channel (see shopkg.evals.search, retrieval.injection)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from foundation.errors import RetrievalError
from foundation.settings import Settings
from shopkg.cli import CliState, pass_state
from shopkg.cli.groups import demo_truth

WORK_DIR_HELP = "Where the evaluation's own build goes (default: <data_dir>/eval/search-FORMAT)."


def _scratch(state: CliState, data_format: str, work_dir: Path | None) -> Settings:
    """Settings for the data set's own build (shared by `eval search` and `train injection`)."""
    from foundation.settings import load_settings

    settings = state.settings
    scratch = work_dir or settings.data_dir / "eval" / f"search-{data_format}"
    return load_settings(
        data_dir=scratch, text_encoder=settings.text_encoder, device=settings.device
    )


@click.command("search")
@click.option("--data", required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--format",
    "data_format",
    required=True,
    type=click.Choice(["grocery", "epqa", "demo"]),
    help="demo: judged queries from a `shopkg demo-catalog --truth` directory, run against "
    "the KG built from it (build it first).",
)
@click.option("--work-dir", type=click.Path(path_type=Path, file_okay=False), help=WORK_DIR_HELP)
@click.option(
    "--queries",
    type=click.IntRange(1, 100_000),
    default=400,
    show_default=True,
    help="demo: how many judged queries to generate.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="demo: the queries' seed.")
@click.option(
    "--phrasing",
    type=click.Choice(["plain", "varied"]),
    default="plain",
    show_default=True,
    help='demo: `plain` states each constraint one way ("blue hiking boots for women under '
    '120 not insulated"); `varied` as shoppers vary it ("women\'s", "ladies", "gray", '
    '"under $120", "w/o", "non-…", "that aren\'t", "in blue").',
)
@click.option(
    "--injection",
    "injection_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Knowledge-injection module (default: <models_dir>/injection when it exists).",
)
@pass_state
def eval_search(
    state: CliState,
    data: Path,
    data_format: str,
    work_dir: Path | None,
    queries: int,
    seed: int,
    phrasing: str,
    injection_dir: Path | None,
) -> None:
    """Search relevance: nDCG@10 and Recall@10 per channel and fused; JSON on the last line.

    Also the knowledge-injection ablation: the dense channel and the fusion without KG
    entries, with their names appended and with the trained module (when there is one).

    demo: whether search obeys stated constraints (kind, POI, colour, audience, price,
    negation) on queries generated from the truth: constraint precision@10, negation
    violations and whether "no exact match" is said exactly when it is true.
    """
    if data_format == "demo":
        _eval_demo_search(state, data, queries, seed, phrasing)
        return
    from retrieval.injection import KnowledgeInjector, model_dir
    from shopkg.evals.search import evaluate

    directory = injection_dir or model_dir(state.settings.models_dir)
    injector = None
    if injection_dir is not None or (directory / "config.json").is_file():
        injector = KnowledgeInjector.load(directory)  # the encoder is checked once loaded
    started = time.monotonic()
    metrics = evaluate(_scratch(state, data_format, work_dir), data, data_format, injector)
    metrics["seconds"] = round(time.monotonic() - started, 1)
    click.echo(json.dumps(metrics))


def _eval_demo_search(state: CliState, data: Path, queries: int, seed: int, phrasing: str) -> None:
    from assistant.loader import build_assistant, close_assistant
    from shopkg.evals.search_demo import evaluate_demo_search

    demo_truth(data)
    assistant = build_assistant(state.settings)
    try:

        def search(query: str) -> tuple[list[str], str]:
            outcome = assistant.searcher.search(query, limit=10)
            return [c.key for c in outcome.candidates], outcome.match

        started = time.monotonic()
        metrics = evaluate_demo_search(data, search, queries, seed, phrasing)
    finally:
        close_assistant(assistant)
    metrics["seconds"] = round(time.monotonic() - started, 1)
    click.echo(
        f"constraint precision@10 {metrics['constraint_precision@10']:.3f}, "
        f"negation violations {metrics['negation_violations']}, "
        f"exact said when satisfiable {metrics['match_correct']['satisfiable_said_exact']}, "
        f"no exact match said when impossible "
        f"{metrics['match_correct']['impossible_said_no_exact']}"
    )
    click.echo(json.dumps({"format": "demo", **metrics}))


@click.command("injection")
@click.option("--data", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--format", "data_format", required=True, type=click.Choice(["grocery", "epqa"]))
@click.option("--work-dir", type=click.Path(path_type=Path, file_okay=False), help=WORK_DIR_HELP)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to save the module (default: <models_dir>/injection, where search finds it).",
)
@click.option(
    "--with-tuning-half",
    is_flag=True,
    help="Also train on the judged queries of the tuning half (never the dev half); the "
    "fusion weights `eval search` tunes on that half are then tuned on training queries.",
)
@click.option("--epochs", type=click.IntRange(1, 1000), default=40, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@pass_state
def train_injection_command(
    state: CliState,
    data: Path,
    data_format: str,
    work_dir: Path | None,
    out: Path | None,
    with_tuning_half: bool,
    epochs: int,
    seed: int,
) -> None:
    """Train the dense channel's knowledge injection (DictBERT-style extra-hop attention).

    Builds the data set's catalog like `eval search` (the same scratch build), then trains the
    fusion on the catalog's own customer questions, leaving out any that repeat a judged query.
    Prints the curve per epoch and a JSON summary last.
    """
    from foundation.files import file_sha256
    from retrieval.injection import model_dir
    from retrieval.injection_train import (
        InjectionTrainingConfig,
        examples_from_catalog,
        train_injection,
    )
    from retrieval.qa_data import is_dev
    from retrieval.qa_train import CachedEmbedder
    from shopkg.evals.search import build_catalog

    started = time.monotonic()
    assistant, judged = build_catalog(_scratch(state, data_format, work_dir), data, data_format)
    tuning = [j for j in judged if not is_dev(j.qid)] if with_tuning_half else []
    examples, sources = examples_from_catalog(assistant, judged, tuning_queries=tuning)
    searcher = assistant.searcher
    if searcher.dense is None or searcher.text_encoder is None:
        raise RetrievalError("the build made no item_text index; rebuild the catalog first")
    keys, vectors = searcher.dense.vectors()
    catalog = data / "dev.csv" if data_format == "epqa" and data.is_dir() else data
    meta = {
        "trained_on": {
            "format": data_format,
            "data": str(data),
            **({"sha256": file_sha256(catalog)} if catalog.is_file() else {}),
            **sources,
        }
    }
    result = train_injection(
        examples,
        CachedEmbedder(searcher.text_encoder).embed,
        keys,
        vectors,
        searcher.text_encoder.encoder_id,
        InjectionTrainingConfig(epochs=epochs, seed=seed),
        meta=meta,
        on_epoch=lambda row: click.echo(json.dumps(row)),
    )
    output = out or model_dir(state.settings.models_dir)
    result.injector.save(output)
    summary = {
        "saved": str(output),
        "seconds": round(time.monotonic() - started, 1),
        **{k: result.injector.config.meta[k] for k in result.injector.config.meta},
    }
    click.echo(json.dumps(summary))


def register(group: click.Group) -> None:
    evaluate = group.commands["eval"]
    train = group.commands["train"]
    assert isinstance(evaluate, click.Group) and isinstance(train, click.Group)
    evaluate.add_command(eval_search)
    train.add_command(train_injection_command)
