"""The photo → attribute value scorer: prototypes, text and a calibrated threshold."""

from __future__ import annotations

import numpy as np
import pytest

from encoders.image_values import (
    MIN_EXAMPLES,
    choose_threshold,
    expected_calibration_error,
    fit_value_scorer,
)
from foundation.errors import ShopKGError


def _unit(rows: np.ndarray) -> np.ndarray:
    unit: np.ndarray = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    return unit


def _photos(n: int, values: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((values, 32))
    labels = np.arange(n) % values
    return _unit(centres[labels] + noise * rng.standard_normal((n, 32))), labels


def test_the_scorer_tells_values_apart_from_their_photos_and_names_the_held_out_accuracy() -> None:
    photos, labels = _photos(120, 4, noise=0.6)
    texts = _unit(np.random.default_rng(1).standard_normal((4, 32)))  # names carry nothing
    scorer = fit_value_scorer("color", ["red", "blue", "green", "navy"], texts, [photos], labels)
    assert scorer.report["held_out_accuracy"] > 0.9 > scorer.report["majority_accuracy"]
    assert all(w >= 0 for w in scorer.weights)  # looking like a value never counts against it
    fresh, fresh_labels = _photos(40, 4, noise=0.6, seed=0)
    predicted, confidence = scorer.predict([fresh])
    right = np.mean([p == scorer.values[y] for p, y in zip(predicted, fresh_labels, strict=True)])
    assert right > 0.9 and ((confidence >= 0) & (confidence <= 1)).all()


def test_on_noise_the_scorer_keeps_a_threshold_that_writes_nothing_rather_than_guesses() -> None:
    rng = np.random.default_rng(2)
    photos = _unit(rng.standard_normal((90, 32)))
    labels = np.arange(90) % 3
    texts = _unit(rng.standard_normal((3, 32)))
    scorer = fit_value_scorer("pattern", ["solid", "striped", "dots"], texts, [photos], labels)
    assert scorer.report["held_out_accuracy"] < 0.6
    predicted, confidence = scorer.predict([photos])
    written = confidence >= scorer.threshold
    if written.any():  # whatever passes is right at the target rate on these photos
        right = np.array([p == scorer.values[y] for p, y in zip(predicted, labels, strict=True)])
        assert right[written].mean() >= 0.6


def test_values_with_too_few_photos_are_dropped_and_two_are_needed() -> None:
    photos, labels = _photos(30, 2, noise=0.3)
    extra = np.concatenate([photos, photos[:1]])
    labels3 = np.concatenate([labels, [2]])  # one photo of a third value
    texts = _unit(np.ones((3, 32)))
    scorer = fit_value_scorer("color", ["a", "b", "c"], texts, [extra], labels3)
    assert scorer.values == ["a", "b"]
    with pytest.raises(ShopKGError, match=f"{MIN_EXAMPLES} photos"):
        fit_value_scorer("color", ["a", "b"], texts[:2], [photos[:4]], [0, 0, 0, 1])


def test_the_threshold_is_the_lowest_confidence_that_keeps_the_target_precision() -> None:
    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True, False])
    threshold, at = choose_threshold(confidence, correct, 0.8)
    assert threshold == 0.6 and at == {"precision": 0.8, "coverage": round(5 / 6, 4)}
    assert choose_threshold(confidence, np.zeros(6, dtype=bool), 0.5)[0] > 1  # none qualifies
    assert expected_calibration_error(np.array([0.75, 0.75]), np.array([True, False])) == 0.25
