"""``shopkg train image-encoder`` and ``shopkg eval images``: the image tower's CLI.

Thin wrappers over :mod:`encoders.training` and :mod:`encoders.evaluation`; heavy imports
happen inside the commands so ``shopkg --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from foundation.errors import EncoderError
from shopkg.cli import CliState, pass_state
from shopkg.cli.groups import demo_truth

DATA_DIR = click.Path(path_type=Path, exists=True, file_okay=False)


@click.command("image-encoder")
@click.option(
    "--grocery", type=DATA_DIR, help="Grocery-layout data set (products.jsonl, train.csv)."
)
@click.option("--clothing", type=DATA_DIR, help="Clothing-layout data set (train/<type>/*.jpg).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to save the tower (default: the image_encoder setting).",
)
@click.option(
    "--backbone",
    type=click.Choice(["efficientnet-lite0", "efficientnet-lite2", "none"]),
    default="efficientnet-lite0",
    show_default=True,
    help="ImageNet-pretrained backbone whose features the tower projects; `none`: a small CNN "
    "trained from scratch.",
)
@click.option(
    "--tune-blocks",
    type=click.IntRange(0, 16),
    default=4,
    show_default=True,
    help="Fine-tune the backbone's last N blocks and head convolution with the projection "
    "(0: the backbone stays frozen, only the projection is trained).",
)
@click.option(
    "--epochs",
    type=click.IntRange(1, 1000),
    help="Default: 8 when fine-tuning, 30 for the projection alone, 10 for the CNN.",
)
@click.option("--batch-size", type=click.IntRange(2, 4096), help="Default: 64 / 256 / 128.")
@click.option(
    "--image-size",
    type=click.IntRange(16, 512),
    help="The photos' size in training. Default: the backbone's pretrained size (224 for "
    "Lite0, 260 for Lite2); 64 for the CNN.",
)
@click.option(
    "--encode-size",
    type=click.IntRange(16, 512),
    help="The size a backbone tower encodes photos at. Default: 192 for Lite0 (1.5x the "
    "images/s of 224 on a CPU, for the build), 260 for Lite2.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--teacher",
    type=DATA_DIR,
    help="A local CLIP checkpoint: distil its image tower (ConaCLIP) instead of LiT training.",
)
@pass_state
def train_image_encoder(
    state: CliState,
    grocery: Path | None,
    clothing: Path | None,
    out: Path | None,
    backbone: str,
    tune_blocks: int,
    epochs: int | None,
    batch_size: int | None,
    image_size: int | None,
    encode_size: int | None,
    seed: int,
    teacher: Path | None,
) -> None:
    """Train ShopKG's image tower against the frozen text encoder (LiT + prototypes).

    Over a pretrained backbone (the default) the backbone's frozen blocks run once over every
    train photo and its mirror image at --image-size; the last --tune-blocks blocks (0: none)
    and the projection into the text space are then trained on those cached inputs. The
    tower encodes at --encode-size (smaller is faster; the shipped tower trains at 224 px and
    encodes at 192). Uses only the train photos (and grocery iconic images);
    validation and test photos are left for `shopkg eval images`. Prints the curve per epoch
    and a JSON summary last. With --teacher, a CLIP checkpoint's image tower is distilled
    (ConaCLIP) into the projection over the backbone (with --backbone none, into the CNN).
    """
    from encoders.datasets import read_dataset
    from encoders.factory import text_encoder
    from encoders.training import (
        HeadConfig,
        TrainingConfig,
        build_pairs,
        summary,
        train_image_tower,
    )

    settings = state.settings
    sources = [(d, f) for d, f in ((grocery, "grocery"), (clothing, "clothing")) if d]
    if not sources:
        raise click.UsageError("give at least one of --grocery DIR or --clothing DIR")
    chosen = settings.image_encoder
    output = out or (settings.models_dir / "image-tower" if chosen == "none" else Path(chosen))
    if teacher is not None:
        size = image_size or 64
        _distil(
            state,
            sources,
            teacher,
            output,
            epochs or 10,
            batch_size or 128,
            size,
            seed,
            "" if backbone == "none" else backbone,
        )
        return
    datasets = [read_dataset(directory, data_format) for directory, data_format in sources]
    if backbone != "none":
        default_epochs, default_batch = (8, 64) if tune_blocks else (30, 256)
        _train_on_backbone(
            state,
            datasets,
            backbone,
            tune_blocks,
            output,
            HeadConfig(
                backbone=backbone,
                epochs=epochs or default_epochs,
                batch_size=batch_size or default_batch,
                seed=seed,
                image_size=image_size or 0,
                encode_size=encode_size or 0,
            ),
        )
        return
    config = TrainingConfig(
        epochs=epochs or 10, batch_size=batch_size or 128, image_size=image_size or 64, seed=seed
    )
    click.echo(f"decoding {sum(len(d.train) + len(d.iconic) for d in datasets)} train images…")
    pairs = build_pairs(datasets, config.image_size)
    for path, reason in pairs.skipped[:10]:
        click.echo(f"skipped {path}: {reason}", err=True)
    encoder = text_encoder(settings, bulk=True)
    result = train_image_tower(
        pairs,
        encoder,
        output,
        config,
        on_epoch=lambda row: click.echo(json.dumps(row)),
    )
    click.echo(json.dumps(summary(result)))


def _train_on_backbone(
    state: CliState,
    datasets: list[Any],
    backbone: str,
    tune_blocks: int,
    output: Path,
    config: Any,
) -> None:
    """A pretrained-backbone tower: with ``tune_blocks``, its last blocks fine-tuned with the
    projection on their inputs computed once; else the projection alone on pooled features."""
    from encoders.backbone import load_backbone
    from encoders.device import cpu_has_native_bf16, prepare_torch
    from encoders.factory import text_encoder
    from encoders.training import (
        backbone_block_inputs,
        backbone_features,
        finetune_backbone_tower,
        resolved,
        summary,
        train_backbone_tower,
    )

    config = resolved(config)
    prepare_torch(config.seed)
    network = load_backbone(backbone).use_bf16(state.settings.cpu_bf16 and cpu_has_native_bf16())
    if tune_blocks > network.blocks:
        raise click.UsageError(f"{backbone} has {network.blocks} blocks; --tune-blocks is larger")
    total = sum(len(d.train) + len(d.iconic) for d in datasets)
    what = f"the input of its last {tune_blocks} blocks" if tune_blocks else "its features"
    size = config.image_size
    click.echo(
        f"computing {backbone} at {size} px: {what} for {total} train images and their mirrors…"
    )

    def progress(done: int, of: int) -> None:
        if done % 1024 < 64:
            click.echo(f"{done}/{of}")

    if tune_blocks:
        start = network.blocks - tune_blocks
        pairs = backbone_block_inputs(datasets, network, start, size, on_chunk=progress)
    else:
        pairs = backbone_features(datasets, network, size, on_chunk=progress)
    for path, reason in pairs.skipped[:10]:
        click.echo(f"skipped {path}: {reason}", err=True)
    texts = text_encoder(state.settings, bulk=True)

    def on_epoch(row: dict[str, float]) -> None:
        click.echo(json.dumps(row))

    if tune_blocks:
        result = finetune_backbone_tower(
            pairs, texts, output, network, tune_blocks, config, on_epoch=on_epoch
        )
    else:
        result = train_backbone_tower(pairs, texts, output, config, network, on_epoch=on_epoch)
    click.echo(json.dumps(summary(result)))


def _distil(
    state: CliState,
    sources: list[tuple[Path, str]],
    teacher: Path,
    output: Path,
    epochs: int,
    batch_size: int,
    image_size: int,
    seed: int,
    backbone: str,
) -> None:
    """ConaCLIP-style distillation of ``teacher``'s image tower into ShopKG's tower: the
    projection over ``backbone`` (its frozen features), or with none the small CNN."""
    from encoders.datasets import read_dataset
    from encoders.distillation import DistillationConfig, distill_image_tower
    from encoders.training import summary

    datasets = [read_dataset(directory, data_format) for directory, data_format in sources]
    images = [p for data in datasets for split in (data.train, data.iconic) for p in split.paths]
    config = DistillationConfig(
        epochs=epochs, batch_size=batch_size, image_size=image_size, seed=seed, backbone=backbone
    )
    result = distill_image_tower(teacher, images, output, config, state.settings.device)
    for row in result.history:
        click.echo(json.dumps(row))
    click.echo(json.dumps(summary(result)))


def _encoders(state: CliState, image_model: Path | None) -> tuple[Any, Any]:
    """The image encoder and the text encoder whose space it shares."""
    from encoders.clip import ClipCheckpoint, ClipImageEncoder, ClipTextEncoder
    from encoders.factory import image_encoder, image_encoder_dir, image_encoder_kind, text_encoder

    settings = state.settings
    directory = image_model or image_encoder_dir(settings) or Path(settings.image_encoder)
    if image_encoder_kind(directory) == "clip":
        checkpoint = ClipCheckpoint(directory, settings.device)
        return ClipImageEncoder(checkpoint).load(), ClipTextEncoder(checkpoint).load()
    images = image_encoder(settings, directory)
    texts = text_encoder(settings, bulk=True)
    aligned = images.manifest.extra.get("text_encoder_id")
    if aligned and aligned != texts.encoder_id:
        raise EncoderError(
            f"the image tower at {directory} was trained against text encoder {aligned!r}, "
            f"but the configured one is {texts.encoder_id!r}; set SHOPKG_TEXT_ENCODER to match "
            "or retrain with `shopkg train image-encoder`"
        )
    return images, texts


@click.command("images")
@click.option("--data", required=True, type=DATA_DIR)
@click.option("--format", "data_format", required=True, type=click.Choice(["grocery", "clothing"]))
@click.option(
    "--image-encoder",
    "image_model",
    type=DATA_DIR,
    help="Image tower or CLIP directory (default: the image_encoder setting).",
)
@click.option(
    "--reference",
    type=DATA_DIR,
    help="A data set of the same format whose train (and iconic) photos are the labelled "
    "reference set: for a folder that holds test photos only. Default: DATA's own.",
)
@pass_state
def eval_images(
    state: CliState,
    data: Path,
    data_format: str,
    image_model: Path | None,
    reference: Path | None,
) -> None:
    """Photo → product, text → image and image → concept retrieval, with baselines.

    Every method that compares photos with photos (image-image, prototypes, the colour
    histogram) needs labelled reference photos; the JSON says which were used.
    """
    from encoders.datasets import DatasetError, read_dataset, with_reference
    from encoders.evaluation import evaluate_images

    dataset = read_dataset(data, data_format)
    source = "the data set's own train photos"
    if reference is not None:
        dataset = with_reference(dataset, read_dataset(reference, data_format))
        source = f"the train photos of {reference}"
    elif not len(dataset.train) and not len(dataset.iconic):
        raise DatasetError(
            f"{data} holds no train photos to compare the evaluation photos with; give a "
            "reference set with --reference DIR (e.g. the development data set)"
        )
    images, texts = _encoders(state, image_model)
    click.echo(json.dumps(evaluate_images(dataset, images, texts, reference=source)))


@click.command("image-values")
@click.option(
    "--data",
    required=True,
    type=DATA_DIR,
    help="demo: the demo catalog the KG was built from; implicitave: a directory laid out "
    "like ../shared/data/implicitave.",
)
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["demo", "implicitave"]),
    default="demo",
    show_default=True,
    help="demo: a `shopkg demo-catalog --truth` directory (truth.jsonl says what each "
    "item's photos show); implicitave: labelled products with a photo and a title.",
)
@click.option(
    "--model",
    type=DATA_DIR,
    help="implicitave: the image-values model (default: the data directory's, else the one "
    "shipped).",
)
@pass_state
def eval_image_values(state: CliState, data: Path, data_format: str, model: Path | None) -> None:
    """Values read from photos against the truth.

    demo: the built KG's photo values (colour, pattern): build the KG from DATA's catalog
    first (`shopkg build` or `shopkg demo`); per attribute the JSON gives the candidates
    (photographed items whose text states no value), the facts written, their precision,
    coverage and calibration, and the majority-value baseline.

    implicitave: choosing each product's value among its attribute's options, fused and
    from the title alone, the photo alone and the most common value, overall, per domain and
    per attribute, with the precision and coverage at the model's threshold.
    """
    if data_format == "implicitave":
        from encoders.value_model import ValueModel, load_value_model
        from shopkg.evals.image_values import evaluate_implicitave

        chosen = ValueModel.load(model) if model else load_value_model(state.settings.models_dir)
        if chosen is None:
            raise click.UsageError(
                "no image-values model; train one with `shopkg train image-values`"
            )
        images, texts = _encoders(state, None)
        click.echo(json.dumps(evaluate_implicitave(chosen, data, texts, images)))
        return
    from kg import open_store
    from shopkg.evals.image_values import evaluate_image_values

    truth = demo_truth(data)
    with open_store(state.settings) as store:
        click.echo(json.dumps({"format": data_format, **evaluate_image_values(store, truth)}))


@click.command("image-values")
@click.option(
    "--data",
    required=True,
    type=DATA_DIR,
    help="An ImplicitAVE directory: texts/, images/, training_texts/, options_*.json.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the model goes. Default: <data_dir>/models/image-values (used by builds).",
)
@click.option(
    "--precision",
    type=click.FloatRange(0.0, 1.0),
    help="The precision the build's threshold keeps on held-out photos. Default: the "
    "image_value_precision setting.",
)
@pass_state
def train_image_values(
    state: CliState, data: Path, out: Path | None, precision: float | None
) -> None:
    """Train the image-values model: which option of an attribute a product has, from its
    photo and its title.

    The title heads learn from the text-only training rows (regularization chosen on their
    val split); the photo heads, the fusion weight, the calibration temperature and the
    threshold from the labelled photos, by 5-fold cross-validation over product ids. The
    JSON's `cross_validated` figures are of photos the deciding model never saw.
    Deterministic: the same data and encoders give the same model.
    """
    from catalog.implicitave import read_implicitave
    from encoders.value_model import train_value_model
    from shopkg.evals.image_values import encode_photos

    settings = state.settings
    dataset = read_implicitave(data)
    images, texts = _encoders(state, None)
    vectors, ok, unreadable = encode_photos(images, dataset.photos, data)
    for reason in unreadable:
        click.echo(f"skipped photo: {reason}", err=True)
    model = train_value_model(
        dataset,
        lambda batch: texts.encode(batch).full(len(batch)),
        vectors,
        ok,
        text_encoder_id=texts.encoder_id,
        image_encoder_id=images.encoder_id,
        target_precision=precision if precision is not None else settings.image_value_precision,
        log=lambda line: click.echo(line, err=True),
    )
    output = model.save(out or settings.models_dir / "image-values")
    click.echo(json.dumps({"model": str(output), "version": model.version, **model.report}))


def register(group: click.Group) -> None:
    commands = (
        ("train", train_image_encoder),
        ("train", train_image_values),
        ("eval", eval_images),
        ("eval", eval_image_values),
    )
    for name, command in commands:
        parent = group.commands.get(name)
        if not isinstance(parent, click.Group):
            parent = click.Group(name, help=f"{name.capitalize()} ShopKG's models.")
            group.add_command(parent)
        parent.add_command(command)
