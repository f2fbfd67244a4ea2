"""Attribute values a photo shows (AliMe MKG's multimodal values), in the shared space.

The text of many items leaves out what their photo shows: the colour of a tea tin, the
pattern of a shirt whose title says neither. The items whose text does state a value of an
attribute (colour, pattern) teach ShopKG what those values look like in this catalog's photos:
each known value gets a *visual prototype* (the mean image vector of the items stating it)
and a *text vector* (the value's name through the text encoder the image tower is aligned
with). A photo is matched against both; two weights and a temperature (one logistic model)
turn the two similarities into a probability over the attribute's values, fitted on the
stating items with each item left out of its own prototype, so the confidence it gives is
calibrated on photos it did not shape. The threshold a value must reach to become a KG fact
is the lowest at which those held-out predictions reach the target precision.

Numpy and a few torch steps only; :mod:`jobs.image_values` runs it over a build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from foundation.errors import ShopKGError

Matrix = npt.NDArray[np.float32]
MIN_EXAMPLES = 3  # photos a value needs before its prototype is trusted
RIDGE = 1e-4  # on the similarity weights (typical fitted weights are 2-30)


@dataclass(frozen=True)
class ValueScorer:
    """Photo → one of an attribute's known values, with a calibrated confidence.

    A photo is described in one or more spaces (ShopKG's shared image-text space, and a
    colour histogram); each value has a prototype in each space, and in the shared space also
    its name's text vector. The logit of a value is a weighted sum of those similarities.
    """

    attribute: str
    values: list[str]
    text_vectors: Matrix | None  # (V, d) unit rows in the first (shared) space; None: unaligned
    prototypes: list[Matrix]  # per space, (V, d_space) unit rows
    weights: tuple[float, ...]  # text similarity, then one per space
    threshold: float  # confidence a value needs to be written (> 1: never)
    report: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, spaces: Sequence[Matrix]) -> Matrix:
        """``(N, V)`` probabilities of each value for photos described by ``spaces`` (unit
        rows, the spaces in the order the scorer was fitted on)."""
        similarities = [] if self.text_vectors is None else [spaces[0] @ self.text_vectors.T]
        similarities += [x @ p.T for x, p in zip(spaces, self.prototypes, strict=True)]
        return _softmax(_logits(similarities, self.weights))

    def predict(self, spaces: Sequence[Matrix]) -> tuple[list[str], npt.NDArray[np.float32]]:
        """The most probable value of each photo and its probability."""
        probabilities = self.probabilities(spaces)
        best = probabilities.argmax(axis=1)
        return [self.values[i] for i in best], probabilities[np.arange(len(best)), best]


def _logits(
    similarities: Sequence[npt.NDArray[Any]], weights: Sequence[float]
) -> npt.NDArray[np.float64]:
    total = np.zeros(similarities[0].shape, dtype=np.float64)
    for weight, similarity in zip(weights, similarities, strict=True):
        total += weight * similarity
    return total


def _softmax(logits: npt.NDArray[np.float64]) -> Matrix:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: Matrix = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return result


def _unit(rows: npt.NDArray[Any]) -> Matrix:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    result: Matrix = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def _held_out_prototypes(x: Matrix, y: npt.NDArray[np.int64], values: int) -> tuple[Matrix, Matrix]:
    """The values' prototypes in one space, and each photo's similarity to them with itself
    left out of its own value's prototype."""
    sums = np.zeros((values, x.shape[1]), dtype=np.float64)
    np.add.at(sums, y, x)
    prototypes = _unit(sums)
    similarity = x @ prototypes.T
    similarity[np.arange(len(y)), y] = np.einsum("ij,ij->i", x, _unit(sums[y] - x))
    return prototypes, similarity


def fit_value_scorer(
    attribute: str,
    values: Sequence[str],
    text_vectors: Matrix | None,
    spaces: Sequence[Matrix],
    labels: Sequence[int] | np.ndarray,
    target_precision: float = 0.9,
    space_names: Sequence[str] = ("prototype",),
) -> ValueScorer:
    """Fit a scorer on the photos of items that state a value: photo ``i`` (row ``i`` of
    each space in ``spaces``, unit rows; the first is the shared image-text space) shows
    ``values[labels[i]]``; ``text_vectors`` are the values' names in that shared space (None
    when the image encoder is not aligned with the text encoder). Values with fewer than
    :data:`MIN_EXAMPLES` photos are dropped (no trustworthy prototype); at least two must
    remain. Deterministic."""
    import torch

    label_array = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(label_array, minlength=len(values))
    keep = np.flatnonzero(counts >= MIN_EXAMPLES)
    if len(keep) < 2:
        raise ShopKGError(
            f"attribute {attribute!r}: fewer than two values have {MIN_EXAMPLES} photos each"
        )
    remap = np.full(len(values), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    chosen = remap[label_array] >= 0
    y = remap[label_array[chosen]]
    kept_values = [values[int(i)] for i in keep]
    xs = [np.asarray(space[chosen], dtype=np.float32) for space in spaces]
    texts = None if text_vectors is None else _unit(np.asarray(text_vectors)[keep])
    prototypes: list[Matrix] = []
    similarities = [] if texts is None else [xs[0] @ texts.T]
    for x in xs:
        prototype, similarity = _held_out_prototypes(x, y, len(keep))
        prototypes.append(prototype)
        similarities.append(similarity)

    torch.manual_seed(0)
    stacked = torch.from_numpy(np.stack(similarities).astype(np.float32))
    target = torch.from_numpy(y)
    # weights through softplus: looking more like a value never counts against it (a free
    # sign lets a few dozen photos fit a spurious negative weight)
    raw = torch.full((len(similarities),), 2.0, requires_grad=True)
    optimizer = torch.optim.LBFGS([raw], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        weights = torch.nn.functional.softplus(raw)
        logits = (weights[:, None, None] * stacked).sum(dim=0)
        # a little ridge: a few dozen separable photos would otherwise drive the weights
        # (and every confidence) to infinity
        loss = torch.nn.functional.cross_entropy(logits, target) + RIDGE * weights.square().sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    fitted = tuple(float(w) for w in torch.nn.functional.softplus(raw.detach()))
    probabilities = _softmax(_logits(similarities, fitted))
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(y)), predicted]
    correct = predicted == y
    threshold, at = choose_threshold(confidence, correct, target_precision)
    names = [*([] if texts is None else ["text"]), *space_names]
    report = {
        "attribute": attribute,
        "values": len(kept_values),
        "photos": len(y),
        "held_out_accuracy": round(float(correct.mean()), 4),
        "majority_accuracy": round(float(np.bincount(y).max() / len(y)), 4),
        **{
            f"{name}_only_accuracy": round(float((s.argmax(axis=1) == y).mean()), 4)
            for name, s in zip(names, similarities, strict=True)
        },
        "target_precision": target_precision,
        "threshold": round(threshold, 4),
        "precision_at_threshold": at["precision"],
        "coverage_at_threshold": at["coverage"],
        "calibration_error": round(expected_calibration_error(confidence, correct), 4),
        "weights": {name: round(w, 3) for name, w in zip(names, fitted, strict=True)},
    }
    return ValueScorer(attribute, kept_values, texts, prototypes, fitted, threshold, report)


def choose_threshold(
    confidence: npt.NDArray[Any], correct: npt.NDArray[np.bool_], target_precision: float
) -> tuple[float, dict[str, float]]:
    """The lowest confidence at which the predictions at or above it are right at least
    ``target_precision`` of the time (above 1: none qualifies), with that precision and the
    share of predictions it keeps."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    qualifying = np.flatnonzero(precision >= target_precision)
    if len(qualifying) == 0:
        return 1.01, {"precision": 0.0, "coverage": 0.0}
    last = int(qualifying[-1])
    threshold = float(confidence[order[last]])
    kept = confidence >= threshold
    return threshold, {
        "precision": round(float(correct[kept].mean()), 4),
        "coverage": round(float(kept.mean()), 4),
    }


def expected_calibration_error(
    confidence: npt.NDArray[Any], correct: npt.NDArray[np.bool_], bins: int = 10
) -> float:
    """Mean |confidence - accuracy| over equal-width confidence bins, weighted by size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(error)
