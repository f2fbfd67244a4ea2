"""``shopkg train extractor``, ``shopkg eval extraction`` and ``shopkg eval problems``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from foundation.errors import ExtractionError
from shopkg.cli import CliState, pass_state
from shopkg.cli.groups import demo_truth

if TYPE_CHECKING:
    from catalog.schema import CatalogRecord

CATALOG_FORMATS = ("catalog", "grocery", "epqa", "hetpqa")
DEFAULT_AVE_DIR = Path("../shared/data/ave")


@click.command("extractor")
@click.option(
    "--ave-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_AVE_DIR,
    show_default=True,
    help="AVE data laid out as <dir>/{oa-mine,ae-110k,wdc-pave}/train*.jsonl.",
)
@click.option("--no-ave", is_flag=True, help="Train on catalog attributes only.")
@click.option(
    "--catalog",
    type=click.Path(path_type=Path, exists=True),
    help="Distant supervision: a catalog whose structured attributes occur in its text.",
)
@click.option(
    "--catalog-format", type=click.Choice(CATALOG_FORMATS), default="catalog", show_default=True
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Model directory (default: <models_dir>/extractor).",
)
@click.option(
    "--kind",
    type=click.Choice(["minilm", "spacy"]),
    default="minilm",
    show_default=True,
    help="minilm: adapters on the bundled MiniLM (what ShopKG ships); spacy: the previous "
    "tagger trained from scratch (default output <models_dir>/extractor-spacy).",
)
@click.option("--epochs", type=click.IntRange(1, 500), help="Default: 8 (minilm), 25 (spacy).")
@click.option("--min-label-count", type=click.IntRange(1), help="Default: 5 (minilm), 10 (spacy).")
@click.option("--max-minutes", type=float, help="Stop after the epoch that passes this.")
@click.option("--limit", type=click.IntRange(1), help="Read at most this many records per file.")
@pass_state
def train_extractor(
    state: CliState,
    ave_dir: Path,
    no_ave: bool,
    catalog: Path | None,
    catalog_format: str,
    output: Path | None,
    kind: str,
    epochs: int | None,
    min_label_count: int | None,
    max_minutes: float | None,
    limit: int | None,
) -> None:
    """Train the attribute-value tagger; the dev fifth of every file is held out.

    Prints progress on stderr and the manifest (labels, validation and dev scores) as JSON on
    the last line of stdout.
    """
    from extraction.ave import catalog_examples
    from extraction.training import collect_training_data

    if not no_ave and not ave_dir.is_dir():
        raise ExtractionError(f"AVE directory {ave_dir} not found; give --ave-dir or --no-ave")
    examples = catalog_examples(_catalog_records(catalog, catalog_format)) if catalog else []
    data = collect_training_data(
        None if no_ave else ave_dir,
        examples,
        catalog_name=str(catalog),
        limit_per_file=limit,
    )
    max_seconds = max_minutes * 60 if max_minutes else None
    progress = lambda line: click.echo(line, err=True)  # noqa: E731 - a one-line callback
    if kind == "minilm":
        from extraction.minilm_training import MiniLMConfig, train_minilm_extractor

        minilm = MiniLMConfig(max_seconds=max_seconds, limit_per_file=limit)
        minilm.epochs = epochs or minilm.epochs
        minilm.min_label_count = min_label_count or minilm.min_label_count
        target = output or state.settings.models_dir / "extractor"
        manifest = train_minilm_extractor(target, data, minilm, progress=progress)
    else:
        from extraction.training import TrainingConfig, train_extractor

        config = TrainingConfig(max_seconds=max_seconds, limit_per_file=limit)
        config.epochs = epochs or config.epochs
        config.min_label_count = min_label_count or config.min_label_count
        target = output or state.settings.models_dir / "extractor-spacy"
        manifest = train_extractor(target, data, config, progress=progress)
    hidden = ("schemas", "label_precision", "calibration", "tags", "label_counts")
    summary = {k: v for k, v in manifest.items() if k not in hidden}
    click.echo(json.dumps({"model_dir": str(target), **summary}, ensure_ascii=False))


def _catalog_records(path: Path, data_format: str) -> list[CatalogRecord]:
    from pydantic import ValidationError

    from catalog.ingest import read_catalog
    from catalog.readers import read_dataset
    from catalog.schema import CatalogRecord

    raws = read_catalog(path) if data_format == "catalog" else read_dataset(path, data_format)
    records: list[CatalogRecord] = []
    for raw in raws:
        if raw.data is None:
            continue
        try:
            records.append(CatalogRecord.model_validate(raw.data))
        except ValidationError:
            continue
    return records


@click.command("extraction")
@click.option(
    "--data",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="An AVE split file (or directory), or for demo the demo catalog the KG was built from.",
)
@click.option(
    "--format",
    "data_format",
    required=True,
    type=click.Choice(["oa-mine", "ae-110k", "wdc-pave", "demo"]),
    help="demo: score the built KG against a `shopkg demo-catalog --truth` directory.",
)
@click.option(
    "--model",
    type=click.Path(path_type=Path, file_okay=False),
    help="Model directory (default: <models_dir>/extractor, else the shipped one).",
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path, file_okay=False),
    help="The previous (spaCy) tagger to score in the same run "
    "(default: <models_dir>/extractor-spacy when it exists).",
)
@click.option(
    "--split",
    type=click.Choice(["auto", "dev", "all"]),
    default="auto",
    show_default=True,
    help="auto: every record the model was not trained on (a train file's dev fifth).",
)
@click.option("--per-attribute/--no-per-attribute", default=True, show_default=True)
@pass_state
def eval_extraction(
    state: CliState,
    data: Path,
    data_format: str,
    model: Path | None,
    previous: Path | None,
    split: str,
    per_attribute: bool,
) -> None:
    """Attribute-value extraction: precision, recall, F1 (model and dictionary baseline).

    Micro scores overall and per attribute, exact and normalized match, as JSON on the last
    line of stdout.

    demo: the whole extraction as the built KG holds it (categories, brands, values, POIs,
    problems, scenes, crowds) against DATA's truth.jsonl, per fact type, with the share of
    true facts the item's text states at all. Build the KG from DATA's catalog first.
    """
    if data_format == "demo":
        _eval_demo(state, data)
        return
    from extraction.evaluate import evaluate_file
    from extraction.value_taggers import extractor_dir

    models_dir = state.settings.models_dir
    if previous is None and (models_dir / "extractor-spacy").is_dir():
        previous = models_dir / "extractor-spacy"
    model = model or extractor_dir(models_dir)
    if model is None:
        raise ExtractionError(
            f"no extractor in {models_dir / 'extractor'} and none shipped; "
            "run `shopkg train extractor` or give --model"
        )
    result = evaluate_file(data, data_format, model, split, previous)
    systems = ("model", "model_at_threshold", "previous_tagger", "dictionary_baseline")
    for system in (name for name in systems if name in result):
        for kind in ("exact", "normalized"):
            scores = result[system][kind]
            if not per_attribute:
                scores.pop("per_attribute")
            click.echo(
                f"{system:20s} {kind:10s} P {scores['precision']:.3f} "
                f"R {scores['recall']:.3f} F1 {scores['f1']:.3f}"
            )
    click.echo(json.dumps(result, ensure_ascii=False))


def _eval_demo(state: CliState, data: Path) -> None:
    from kg import open_store
    from shopkg.evals.extraction_demo import evaluate_demo_extraction

    truth = demo_truth(data)
    with open_store(state.settings) as store:
        result = evaluate_demo_extraction(store, truth, data / "catalog.jsonl")
    for kind, scores in result["fact_types"].items():
        stated = scores.get("stated_in_text")
        click.echo(
            f"{kind:10s} P {scores['precision']:.3f} R {scores['recall']:.3f} "
            f"F1 {scores['f1']:.3f}"
            + (f"  stated in the text: {stated:.3f}" if stated is not None else "")
        )
    click.echo(json.dumps({"format": "demo", **result}, ensure_ascii=False))


@click.command("problems")
@click.option(
    "--data",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="The `shopkg demo-catalog --truth` directory the KG was built from.",
)
@pass_state
def eval_problems(state: CliState, data: Path) -> None:
    """The problems items are said to help with, against the demo catalog's truth.

    Build the KG from DATA's catalog first (`shopkg build` or `shopkg demo`). As (item,
    problem) pairs: the precision and recall of the cards' problems and of search's links
    from a problem to its items, how many said problems belong to another product type
    (`foreign`), and the cards' precision by evidence (own text, concept). JSON on the last
    line of stdout.
    """
    from kg import open_store
    from retrieval.graph_postings import load_postings
    from shopkg.evals.problems import evaluate_problems

    truth = demo_truth(data)
    postings = load_postings(state.settings.index_dir)
    with open_store(state.settings) as store:
        click.echo(json.dumps(evaluate_problems(store, postings, truth)))


def register(group: click.Group) -> None:
    """Add the commands to the ``train`` and ``eval`` groups (registered by ``groups``)."""
    commands = (("train", train_extractor), ("eval", eval_extraction), ("eval", eval_problems))
    for name, command in commands:
        parent = group.commands.get(name)
        if not isinstance(parent, click.Group):
            raise RuntimeError(f"register shopkg.cli.extraction after the `{name}` group exists")
        parent.add_command(command)
