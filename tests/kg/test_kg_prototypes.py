"""A concept's visual prototype: one definition for the build, search and the image eval."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from kg import SHOPKG_ONTOLOGY
from kg.prototypes import (
    PROTOTYPE_PROPERTIES,
    concept_prototypes,
    unit_vector,
    visual_prototype,
)


def _unit_rows(rows: int, dimension: int = 8, seed: int = 0) -> npt.NDArray[np.float32]:
    vectors = np.random.default_rng(seed).normal(size=(rows, dimension)).astype(np.float32)
    return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.float32)


def test_a_prototype_is_the_unit_mean_with_its_count_and_spread() -> None:
    images = np.array([[1, 0], [0.6, 0.8]], np.float32)
    prototype = visual_prototype(images)
    assert np.allclose(prototype.vector, np.array([0.8, 0.4]) / np.linalg.norm([0.8, 0.4]))
    assert prototype.vector.dtype == np.float32
    assert prototype.image_count == 2
    assert np.allclose(prototype.similarities, images @ prototype.vector)
    assert prototype.spread == pytest.approx(float(np.mean(1 - prototype.similarities)))


def test_the_prototype_bytes_are_the_ones_builds_always_wrote() -> None:
    images = _unit_rows(7)
    mean = images.mean(axis=0)
    before = (mean / float(np.linalg.norm(mean))).astype(np.float32)  # the build's old formula
    assert visual_prototype(images).vector.tobytes() == before.tobytes()


def test_a_prototype_needs_an_image() -> None:
    with pytest.raises(ValueError, match="at least one image"):
        visual_prototype(np.zeros((0, 4), np.float32))


def test_its_properties_are_the_concepts_prototype_properties() -> None:
    concept = SHOPKG_ONTOLOGY.node("Concept").all_properties
    assert set(PROTOTYPE_PROPERTIES) <= set(concept)
    properties = visual_prototype(_unit_rows(3)).properties("tower@1")
    assert set(properties) == set(PROTOTYPE_PROPERTIES)
    assert properties["prototype_encoder"] == "tower@1"
    assert properties["image_count"] == 3
    assert all(isinstance(x, float) for x in properties["prototype"])


def test_concept_prototypes_give_each_concept_its_prototype_and_none_a_zero_row() -> None:
    images = _unit_rows(5)
    labels = np.array([2, 0, 2, 2, 0])
    rows = concept_prototypes(images, labels, 4)
    assert rows.shape == (4, 8)
    assert rows[0].tobytes() == visual_prototype(images[[1, 4]]).vector.tobytes()
    assert rows[2].tobytes() == visual_prototype(images[[0, 2, 3]]).vector.tobytes()
    assert not rows[1].any() and not rows[3].any()


def test_a_zero_vector_stays_zero() -> None:
    assert not unit_vector(np.zeros(3)).any()
