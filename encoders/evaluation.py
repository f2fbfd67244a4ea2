"""``shopkg eval images``: photo → product/concept and text → photo retrieval metrics.

Each eval photo (``test`` split when present, else validation) is scored against every
concept in several ways: its text (zero-shot image–text), its iconic catalog image
(image–image), its visual prototype (the mean embedding of the concept's *train* photos,
as in FashionKLIP) and a fusion of those. Two baselines run through the same code: random
vectors and colour histograms, so a number is never read without its floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from encoders.base import ImageEncoder, TextEncoder, Vectors, l2_normalize
from encoders.datasets import ImageTextData, LabeledImages
from encoders.images import colour_histograms, load_batch
from kg.prototypes import concept_prototypes

Labels = npt.NDArray[np.int64]
EmbedImages = Callable[[Sequence[Path]], tuple[Vectors, list[int]]]


def top_k_accuracy(scores: Vectors, labels: Labels, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Share of rows whose true concept is among the ``k`` best-scored columns."""
    if len(labels) == 0:
        return {f"top{k}": 0.0 for k in ks}
    ranked = np.argsort(-scores, axis=1, kind="stable")
    return {
        f"top{k}": round(float((ranked[:, :k] == labels[:, None]).any(axis=1).mean()), 4)
        for k in ks
    }


def text_to_image_recall(
    texts: Vectors, photos: Vectors, labels: Labels, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """For each concept text with eval photos: is one of its photos in the top ``k``? (R@k)"""
    queries = np.unique(labels)
    if len(queries) == 0:
        return {f"R@{k}": 0.0 for k in ks}
    ranked = np.argsort(-(texts[queries] @ photos.T), axis=1, kind="stable")
    hits = labels[ranked] == queries[:, None]
    return {f"R@{k}": round(float(hits[:, :k].any(axis=1).mean()), 4) for k in ks}


def _standardize(scores: Vectors) -> Vectors:
    """Rows to zero mean and unit spread, so methods with different score ranges can be summed."""
    centered = scores - scores.mean(axis=1, keepdims=True)
    spread = np.maximum(scores.std(axis=1, keepdims=True), 1e-6)
    return np.asarray(centered / spread, dtype=np.float32)


def score_methods(
    eval_vectors: Vectors,
    train: tuple[Vectors, Labels],
    concepts: int,
    texts: Vectors | None,
    iconic: tuple[Vectors, Labels] | None,
) -> dict[str, Vectors]:
    """Photo × concept score matrices, one per method, plus their fusion."""
    methods: dict[str, Vectors] = {}
    if texts is not None:
        methods["image_text"] = eval_vectors @ texts.T
    if iconic is not None and len(iconic[1]):
        per_concept = np.full((len(eval_vectors), concepts), -1.0, dtype=np.float32)
        similarities = eval_vectors @ iconic[0].T
        for column, concept in enumerate(iconic[1]):
            per_concept[:, concept] = np.maximum(per_concept[:, concept], similarities[:, column])
        methods["image_image"] = per_concept
    if len(train[1]):
        methods["prototype"] = eval_vectors @ concept_prototypes(train[0], train[1], concepts).T
    if len(methods) > 1:
        fused = np.zeros((len(eval_vectors), concepts), dtype=np.float32)
        for scores in methods.values():
            fused += _standardize(scores)
        methods["fused"] = fused
    return methods


def _metrics(
    embed: EmbedImages, data: ImageTextData, texts: Vectors | None
) -> tuple[dict[str, Any], int]:
    def labelled(split: LabeledImages) -> tuple[Vectors, Labels]:
        vectors, kept = embed(split.paths)
        return vectors, np.asarray([split.labels[i] for i in kept], dtype=np.int64)

    eval_vectors, eval_labels = labelled(data.evaluation)
    train = labelled(data.train)
    # the image-image term: each concept's closest reference photo (its iconic image where
    # the data set has them, else its train photos)
    iconic = labelled(data.iconic) if len(data.iconic) else (train if len(train[1]) else None)
    methods = score_methods(eval_vectors, train, len(data.concepts), texts, iconic)
    result: dict[str, Any] = {
        name: top_k_accuracy(scores, eval_labels) for name, scores in methods.items()
    }
    if texts is not None and data.name == "grocery":
        result["text_to_image"] = text_to_image_recall(texts, eval_vectors, eval_labels)
    return result, len(eval_labels)


def encoder_embedder(encoder: ImageEncoder, batch: int = 256) -> tuple[EmbedImages, list[str]]:
    """Embed paths with ``encoder`` in batches; skipped reasons are collected in the list."""
    skipped: list[str] = []

    def embed(paths: Sequence[Path]) -> tuple[Vectors, list[int]]:
        vectors = [np.zeros((0, encoder.dimension), np.float32)]
        kept: list[int] = []
        for start in range(0, len(paths), batch):
            encoded = encoder.encode(list(paths[start : start + batch]))
            vectors.append(encoded.vectors)
            kept.extend(start + p for p in encoded.positions)
            skipped.extend(f"{paths[start + s.position]}: {s.reason}" for s in encoded.skipped)
        return np.concatenate(vectors), kept

    return embed, skipped


def histogram_embedder(bins: int = 8, size: int = 64) -> EmbedImages:
    """Colour-histogram baseline: ``bins``³ RGB histogram, square-rooted and L2-normalized."""

    def embed(paths: Sequence[Path]) -> tuple[Vectors, list[int]]:
        pixels, kept, _ = load_batch(paths, size)
        return colour_histograms(pixels, bins), kept

    return embed


def random_embedder(dimension: int, seed: int = 0) -> EmbedImages:
    """Random-vector baseline: every image gets an independent random unit vector."""
    rng = np.random.default_rng(seed)

    def embed(paths: Sequence[Path]) -> tuple[Vectors, list[int]]:
        return l2_normalize(rng.normal(size=(len(paths), dimension))), list(range(len(paths)))

    return embed


def evaluate_images(
    data: ImageTextData,
    image_encoder: ImageEncoder,
    text_encoder: TextEncoder,
    seed: int = 0,
    reference: str = "the data set's own train photos",
) -> dict[str, Any]:
    """All metrics for one data set as a JSON-ready dict; ``reference`` says where the labelled
    reference photos (train and iconic) came from."""
    started = time.perf_counter()
    texts = text_encoder.encode(data.texts).full(len(data.texts))
    embed, skipped = encoder_embedder(image_encoder)
    shopkg, evaluated = _metrics(embed, data, texts)
    random_texts = l2_normalize(np.random.default_rng(seed + 1).normal(size=texts.shape))
    random_metrics, _ = _metrics(random_embedder(texts.shape[1], seed), data, random_texts)
    histogram_metrics, _ = _metrics(histogram_embedder(), data, None)
    return {
        "format": data.name,
        "split": data.evaluation_split,
        "image_encoder": image_encoder.encoder_id,
        "text_encoder": text_encoder.encoder_id,
        "concepts": len(data.concepts),
        "eval_images": evaluated,
        "train_images": len(data.train),
        "reference": {
            "source": reference,
            "train_images": len(data.train),
            "iconic_images": len(data.iconic),
        },
        "skipped": len(skipped),
        "skipped_examples": skipped[:5],
        "metrics": shopkg,
        "baselines": {"random": random_metrics, "colour_histogram": histogram_metrics},
        "seconds": round(time.perf_counter() - started, 1),
    }
