"""Train ShopKG's image tower against the frozen text encoder (LiT) with concept prototypes.

Locked-image tuning turned around (LiT keeps the *image* side frozen; we keep the *text* side):
MiniLM already places product texts well, so only the small image tower learns, to land each
photo near its text. Two losses:

* contrastive InfoNCE, image → all concept texts and text → the batch's images (several photos
  share one text, so the text side uses every photo of that text as a positive);
* a FashionKLIP-style prototype loss pulling each image toward its concept's *visual
  prototype*, a running mean of that concept's image embeddings (started at its text vector).

Images are decoded once into small uint8 arrays and the texts encoded once, so an epoch over
the ~5,700 development photos takes seconds on two CPU cores.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from encoders.base import TextEncoder
from encoders.datasets import ImageTextData
from encoders.device import prepare_torch
from encoders.images import load_batch, normalize_uint8
from encoders.tower import ImageTower, TowerConfig, save_tower
from foundation.errors import EncoderError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of a training run; stored with the weights."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    prototype_weight: float = 0.5
    prototype_momentum: float = 0.9
    image_size: int = 64
    widths: tuple[int, ...] = (24, 48, 96, 192)
    seed: int = 0


@dataclass
class TrainingPairs:
    """Pre-decoded training photos, each labelled with a concept that has one text."""

    pixels: npt.NDArray[np.uint8]  # (N, S, S, 3), S a little larger than the input size
    concepts: npt.NDArray[np.int64]  # (N,) index into ``concept_names`` / ``texts``
    concept_names: list[str]
    texts: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)


@dataclass
class TrainingResult:
    directory: Path
    history: list[dict[str, float]]
    seconds: float
    images: int
    skipped: int


def decode_size(image_size: int) -> int:
    """Images are stored slightly larger than the input so training can crop at random."""
    return image_size + image_size // 8


def build_pairs(datasets: Sequence[ImageTextData], image_size: int) -> TrainingPairs:
    """Decode every train photo (and iconic image) of ``datasets`` once; bad files are skipped."""
    sources, labels, names, texts = _labelled_sources(datasets)
    pixels, kept, skipped = load_batch(sources, decode_size(image_size))
    return TrainingPairs(
        pixels=pixels,
        concepts=np.asarray([labels[i] for i in kept], dtype=np.int64),
        concept_names=names,
        texts=texts,
        skipped=[(str(sources[s.position]), s.reason) for s in skipped],
    )


def augment(
    pixels: npt.NDArray[np.uint8], size: int, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """Random crops and horizontal flips of a batch."""
    n, stored = pixels.shape[0], pixels.shape[1]
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    tops = rng.integers(0, stored - size + 1, n)
    lefts = rng.integers(0, stored - size + 1, n)
    flips = np.less(rng.random(n), 0.5)
    for i in range(n):
        crop = pixels[i, tops[i] : tops[i] + size, lefts[i] : lefts[i] + size]
        out[i] = crop[:, ::-1] if flips[i] else crop
    return out


def contrastive_losses(
    images: torch.Tensor, texts: torch.Tensor, concepts: torch.Tensor, scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """InfoNCE image → every text, and text → the batch's images (multi-positive); and accuracy."""
    image_to_text = nn.functional.cross_entropy(scale * images @ texts.T, concepts)
    present = torch.unique(concepts)
    targets = torch.eq(concepts[None, :], present[:, None]).float()
    targets = targets / targets.sum(dim=1, keepdim=True)
    log_probs = nn.functional.log_softmax(scale * texts[present] @ images.T, dim=1)
    text_to_image = -(targets * log_probs).sum(dim=1).mean()
    accuracy = ((images @ texts.T).argmax(dim=1) == concepts).float().mean()
    return (image_to_text + text_to_image) / 2, accuracy


def train_image_tower(
    pairs: TrainingPairs,
    text_encoder: TextEncoder,
    output_dir: Path,
    config: TrainingConfig | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainingResult:
    """Train a tower on ``pairs``, save it to ``output_dir`` with its curve; deterministic."""
    config = config or TrainingConfig()
    if len(pairs.concepts) < 2:
        raise EncoderError(f"need at least 2 readable training images, got {len(pairs.concepts)}")
    prepare_torch(config.seed)
    rng = np.random.default_rng(config.seed)
    encoded = text_encoder.encode(pairs.texts)
    texts = torch.from_numpy(encoded.require_all())
    tower_config = TowerConfig(
        image_size=config.image_size,
        widths=config.widths,
        embed_dim=texts.shape[1],
        text_encoder_id=text_encoder.encoder_id,
    )
    tower = ImageTower(tower_config)
    log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    optimizer = torch.optim.AdamW(
        [*tower.parameters(), log_scale],
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
    )
    n = len(pairs.concepts)
    batch_size = min(config.batch_size, n)
    steps_per_epoch = max(1, n // batch_size)
    total = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / max(1, total // 20))
            * 0.5
            * (1 + math.cos(math.pi * min(step, total) / total))
        ),
    )
    prototypes = texts.clone()
    concepts_all = torch.from_numpy(pairs.concepts)
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        tower.train()
        order = rng.permutation(n)
        sums = {"loss": 0.0, "contrastive": 0.0, "prototype": 0.0, "accuracy": 0.0}
        epoch_start = time.perf_counter()
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            crops = augment(pairs.pixels[index], config.image_size, rng)
            batch = torch.from_numpy(normalize_uint8(crops, tower_config.mean, tower_config.std))
            concepts = concepts_all[index]
            images = nn.functional.normalize(tower(batch), dim=-1)
            values = _lit_step(
                images, texts, concepts, prototypes, log_scale, optimizer, schedule, config
            )
            for name, value in values.items():
                sums[name] += value / steps_per_epoch
        row = _epoch_row(epoch, sums, epoch_start)
        history.append(row)
        log.info("epoch %d: %s", epoch, row)
        if on_epoch is not None:
            on_epoch(row)
    seconds = time.perf_counter() - started
    tower.eval()
    version = weights_digest(tower)
    final_config = replace(
        tower_config,
        version=version,
        extra={
            "training": {
                **asdict(config),
                "images": n,
                "concepts": len(pairs.texts),
                "seconds": round(seconds, 1),
            },
        },
    )
    tower.config = final_config
    save_tower(tower, output_dir, final_config)
    write_curve(output_dir, history)
    return TrainingResult(output_dir, history, seconds, n, len(pairs.skipped))


def _lit_step(
    images: torch.Tensor,
    texts: torch.Tensor,
    concepts: torch.Tensor,
    prototypes: torch.Tensor,
    log_scale: nn.Parameter,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    config: TrainingConfig | HeadConfig,
) -> dict[str, float]:
    """One optimization step on a batch's unit image vectors: InfoNCE against the frozen
    texts plus the prototype loss, then the prototypes' momentum update; the step's figures."""
    scale = log_scale.clamp(max=math.log(100.0)).exp()
    contrastive, accuracy = contrastive_losses(images, texts, concepts, scale)
    prototype = nn.functional.cross_entropy(scale * images @ prototypes.T, concepts)
    loss = contrastive + config.prototype_weight * prototype
    optimizer.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    schedule.step()
    _update_prototypes(prototypes, images.detach(), concepts, config.prototype_momentum)
    return {
        "loss": float(loss.detach()),
        "contrastive": float(contrastive.detach()),
        "prototype": float(prototype.detach()),
        "accuracy": float(accuracy.detach()),
    }


def _epoch_row(epoch: int, sums: dict[str, float], started: float) -> dict[str, float]:
    return {
        "epoch": float(epoch),
        **{k: round(v, 5) for k, v in sums.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }


def _update_prototypes(
    prototypes: torch.Tensor, images: torch.Tensor, concepts: torch.Tensor, momentum: float
) -> None:
    """Move each batch concept's training target toward its images' mean: a momentum estimate
    of the visual prototype while the tower learns (what a build keeps is
    :func:`kg.prototypes.visual_prototype` of the finished tower's embeddings)."""
    for concept in torch.unique(concepts):
        mean = images[concepts == concept].mean(dim=0)
        updated = momentum * prototypes[concept] + (1 - momentum) * mean
        prototypes[concept] = nn.functional.normalize(updated, dim=0)


def weights_digest(tower: ImageTower) -> str:
    """A short digest of what ShopKG trained (over a backbone, the projection and tuned
    blocks) and of the size it encodes at: the same weights at another size give other
    vectors, so another encoder id."""
    digest = hashlib.sha256(f"input={tower.config.image_size}".encode())  # what it sees
    for key, value in sorted(tower.trained_state().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().float().numpy().tobytes())
    return f"lit-{digest.hexdigest()[:12]}"


def write_curve(directory: Path, history: list[dict[str, float]]) -> None:
    (directory / "training_log.json").write_text(json.dumps(history, indent=2) + "\n")
    if history:
        with (directory / "training_log.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)


def summary(result: TrainingResult) -> dict[str, Any]:
    first, last = result.history[0], result.history[-1]
    return {
        "directory": str(result.directory),
        "images": result.images,
        "skipped": result.skipped,
        "epochs": len(result.history),
        "seconds": round(result.seconds, 1),
        "loss_first": first["loss"],
        "loss_last": last["loss"],
        **({"train_accuracy_last": last["accuracy"]} if "accuracy" in last else {}),
    }


# -- over a pretrained backbone -------------------------------------------------------------
@dataclass
class FeaturePairs:
    """Training photos as a frozen backbone's pooled features, each labelled with a concept."""

    # (N, views, F) pooled features, or (N, views, C, H, W) fp16 block inputs: the photo and
    # its mirror image
    features: npt.NDArray[Any]
    concepts: npt.NDArray[np.int64]
    concept_names: list[str]
    texts: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class HeadConfig:
    """Hyper-parameters of training the projection over a frozen backbone."""

    backbone: str = "efficientnet-lite0"
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    prototype_weight: float = 0.5
    prototype_momentum: float = 0.9
    dropout: float = 0.2
    seed: int = 0
    image_size: int = 0  # the photos' size in training; 0: the backbone's pretrained size
    encode_size: int = 0  # the size the tower encodes photos at; 0: the backbone's default


def _labelled_sources(
    datasets: Sequence[ImageTextData],
) -> tuple[list[Path], list[int], list[str], list[str]]:
    """Every train photo (and iconic image) of ``datasets`` with its concept, and the concepts'
    names and texts, the data sets' concepts numbered one after the other."""
    sources: list[Path] = []
    labels: list[int] = []
    names: list[str] = []
    texts: list[str] = []
    for data in datasets:
        offset = len(names)
        names.extend(f"{data.name}:{concept}" for concept in data.concepts)
        texts.extend(data.texts)
        for split in (data.train, data.iconic):
            sources.extend(split.paths)
            labels.extend(offset + label for label in split.labels)
    return sources, labels, names, texts


def _backbone_pass(
    datasets: Sequence[ImageTextData],
    image_size: int,
    run: Callable[[torch.Tensor], torch.Tensor],
    dtype: type[np.floating[Any]],
    chunk: int,
    on_chunk: Callable[[int, int], None] | None,
) -> FeaturePairs:
    """``run`` on every train photo of ``datasets`` and on its mirror image, decoded in chunks;
    unreadable files are skipped with their reason."""
    from encoders.backbone import MEAN, STD

    sources, labels, names, texts = _labelled_sources(datasets)
    rows: list[npt.NDArray[Any]] = []
    kept_labels: list[int] = []
    skipped: list[tuple[str, str]] = []
    with torch.inference_mode():
        for first in range(0, len(sources), chunk):
            paths = sources[first : first + chunk]
            pixels, kept, bad = load_batch(paths, image_size)
            skipped.extend((str(paths[s.position]), s.reason) for s in bad)
            if kept:
                batch = torch.from_numpy(normalize_uint8(pixels, MEAN, STD))
                views = torch.stack([run(batch), run(torch.flip(batch, dims=(3,)))], dim=1)
                rows.append(views.float().numpy().astype(dtype))
                kept_labels.extend(labels[first + i] for i in kept)
            if on_chunk is not None:
                on_chunk(min(first + chunk, len(sources)), len(sources))
    found = np.concatenate(rows) if rows else np.zeros((0, 2, 0), dtype)
    return FeaturePairs(found, np.asarray(kept_labels, dtype=np.int64), names, texts, skipped)


def backbone_features(
    datasets: Sequence[ImageTextData],
    backbone: nn.Module,
    image_size: int,
    chunk: int = 64,
    on_chunk: Callable[[int, int], None] | None = None,
) -> FeaturePairs:
    """The backbone's pooled features of every train photo (and iconic image) of
    ``datasets`` and of its mirror image; unreadable files are skipped."""
    backbone.eval()
    return _backbone_pass(datasets, image_size, backbone, np.float32, chunk, on_chunk)


def _lit_epochs(
    pairs: FeaturePairs,
    texts: torch.Tensor,
    config: HeadConfig,
    images_of: Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    log_scale: nn.Parameter,
    rng: np.random.Generator,
    on_epoch: Callable[[dict[str, float]], None] | None,
) -> list[dict[str, float]]:
    """The LiT + prototype epochs shared by training the projection and fine-tuning:
    ``images_of(rows, views)`` gives the unnormalized image vectors of a batch."""
    n = len(pairs.concepts)
    batch_size = min(config.batch_size, n)
    steps_per_epoch = max(1, n // batch_size)
    total = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    )
    concepts_all = torch.from_numpy(pairs.concepts)
    prototypes = texts.clone()
    history: list[dict[str, float]] = []
    for epoch in range(1, config.epochs + 1):
        order = rng.permutation(n)
        views = rng.integers(0, pairs.features.shape[1], n)
        sums = {"loss": 0.0, "contrastive": 0.0, "prototype": 0.0, "accuracy": 0.0}
        epoch_start = time.perf_counter()
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            concepts = concepts_all[torch.from_numpy(index)]
            images = nn.functional.normalize(images_of(index, views[index]), dim=-1)
            values = _lit_step(
                images, texts, concepts, prototypes, log_scale, optimizer, schedule, config
            )
            for name, value in values.items():
                sums[name] += value / steps_per_epoch
        row = _epoch_row(epoch, sums, epoch_start)
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return history


def train_backbone_tower(
    pairs: FeaturePairs,
    text_encoder: TextEncoder,
    output_dir: Path,
    config: HeadConfig | None = None,
    backbone: nn.Module | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainingResult:
    """Train the projection of a pretrained-backbone tower on precomputed features (LiT
    against the frozen text encoder + the concept-prototype loss), save it; deterministic."""
    config = config or HeadConfig()
    config = resolved(config)
    if len(pairs.concepts) < 2:
        raise EncoderError(f"need at least 2 readable training images, got {len(pairs.concepts)}")
    prepare_torch(config.seed)
    rng = np.random.default_rng(config.seed)
    texts = torch.from_numpy(text_encoder.encode(pairs.texts).require_all())
    head = nn.Linear(pairs.features.shape[2], texts.shape[1])
    dropout = nn.Dropout(config.dropout)
    log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    optimizer = torch.optim.AdamW(
        [*head.parameters(), log_scale], lr=config.learning_rate, weight_decay=config.weight_decay
    )
    features = torch.from_numpy(pairs.features)

    def images_of(rows: npt.NDArray[np.int64], views: npt.NDArray[np.int64]) -> torch.Tensor:
        picked = features[torch.from_numpy(rows), torch.from_numpy(views)]
        return head(dropout(picked))  # type: ignore[no-any-return]

    started = time.perf_counter()
    history = _lit_epochs(pairs, texts, config, images_of, optimizer, log_scale, rng, on_epoch)
    seconds = time.perf_counter() - started
    tower = ImageTower(_backbone_config(config, text_encoder, texts), backbone=backbone)
    tower.head.load_state_dict(head.state_dict())
    return _save_trained(tower, pairs, config, {}, history, seconds, output_dir)


def resolved(config: HeadConfig) -> HeadConfig:
    """``config`` with its sizes filled in from the backbone's defaults: trained at the
    backbone's pretrained resolution, encoding at ShopKG's default for it (smaller, faster;
    on the development photos trained at 224 and encoding at 192 measured better than
    training at 192, see BENCHMARKS.md)."""
    from encoders.backbone import backbone_spec

    spec = backbone_spec(config.backbone)
    return replace(
        config,
        image_size=config.image_size or spec.image_size,
        encode_size=config.encode_size or spec.encode_size,
    )


def _backbone_config(
    config: HeadConfig, text_encoder: TextEncoder, texts: torch.Tensor, tuned_blocks: int = 0
) -> TowerConfig:
    from encoders.backbone import MEAN, STD

    return TowerConfig(
        image_size=config.encode_size,
        widths=(),
        embed_dim=texts.shape[1],
        mean=MEAN,
        std=STD,
        text_encoder_id=text_encoder.encoder_id,
        backbone=config.backbone,
        tuned_blocks=tuned_blocks,
    )


def _save_trained(
    tower: ImageTower,
    pairs: FeaturePairs,
    config: HeadConfig,
    details: dict[str, Any],
    history: list[dict[str, float]],
    seconds: float,
    output_dir: Path,
) -> TrainingResult:
    """Name the trained tower by its weights, record how it was trained, save it."""
    tower.eval()
    tower.config = replace(
        tower.config,
        version=weights_digest(tower),
        extra={
            "training": {
                **asdict(config),
                **details,
                "images": len(pairs.concepts),
                "views": int(pairs.features.shape[1]),
                "concepts": len(pairs.texts),
                "seconds": round(seconds, 1),
            },
        },
    )
    save_tower(tower, output_dir, tower.config)
    write_curve(output_dir, history)
    return TrainingResult(output_dir, history, seconds, len(pairs.concepts), len(pairs.skipped))


def backbone_block_inputs(
    datasets: Sequence[ImageTextData],
    backbone: Any,
    start: int,
    image_size: int,
    chunk: int = 64,
    on_chunk: Callable[[int, int], None] | None = None,
) -> FeaturePairs:
    """Like :func:`backbone_features`, but keeps the input of block ``start`` (fp16, the
    photo and its mirror image), so the blocks from ``start`` on can be fine-tuned without
    running the frozen ones again every epoch."""
    backbone.eval()
    return _backbone_pass(
        datasets,
        image_size,
        lambda batch: backbone.upto(batch, start),
        np.float16,
        chunk,
        on_chunk,
    )


def finetune_backbone_tower(
    pairs: FeaturePairs,
    text_encoder: TextEncoder,
    output_dir: Path,
    backbone: Any,
    tuned_blocks: int,
    config: HeadConfig | None = None,
    backbone_learning_rate: float = 3e-4,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainingResult:
    """Fine-tune the backbone's last ``tuned_blocks`` blocks and head convolution together
    with the projection (LiT against the frozen text encoder + the concept-prototype loss) on
    the inputs of those blocks (:func:`backbone_block_inputs`); batch norm statistics stay the
    pretrained ones. Saves the tower; deterministic for a seed on one machine."""
    config = config or HeadConfig(epochs=8, batch_size=64)
    config = resolved(config)
    if len(pairs.concepts) < 2:
        raise EncoderError(f"need at least 2 readable training images, got {len(pairs.concepts)}")
    prepare_torch(config.seed)
    rng = np.random.default_rng(config.seed)
    texts = torch.from_numpy(text_encoder.encode(pairs.texts).require_all())
    start = backbone.blocks - tuned_blocks
    tower_config = _backbone_config(config, text_encoder, texts, tuned_blocks)
    tower = ImageTower(tower_config, backbone=backbone)
    tower.eval()  # batch norm keeps its pretrained statistics; dropout below is explicit
    prefixes = tuple(f"network.{p}" for p in backbone.tuned_prefixes(tuned_blocks))
    tuned = [
        parameter
        for name, parameter in backbone.named_parameters()
        if name.startswith(prefixes) and "_bn" not in name
    ]
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    for parameter in tuned:
        parameter.requires_grad_(True)
    dropout = nn.Dropout(config.dropout)
    log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    optimizer = torch.optim.AdamW(
        [
            {"params": tuned, "lr": backbone_learning_rate},
            {"params": [*tower.head.parameters(), log_scale], "lr": config.learning_rate},
        ],
        weight_decay=config.weight_decay,
    )
    inputs = pairs.features

    def images_of(rows: npt.NDArray[np.int64], views: npt.NDArray[np.int64]) -> torch.Tensor:
        batch = torch.from_numpy(inputs[rows, views].astype(np.float32))
        return tower.head(dropout(backbone.after(batch, start)))  # type: ignore[no-any-return]

    started = time.perf_counter()
    history = _lit_epochs(pairs, texts, config, images_of, optimizer, log_scale, rng, on_epoch)
    seconds = time.perf_counter() - started
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    details = {"tuned_blocks": tuned_blocks, "backbone_learning_rate": backbone_learning_rate}
    return _save_trained(tower, pairs, config, details, history, seconds, output_dir)
