"""A concept's visual prototype (FashionKLIP): the one definition the build, search and the
image evaluation share.

The prototype of a set of image embeddings is their mean, scaled to unit length; with it go
how many images it averages and its spread, the mean cosine distance of those images to it.
The build keeps all three on the ``Concept`` node (the properties of
:data:`kg.ontology.VISUAL_PROTOTYPE`) and the vector in the ``concept_prototype`` index that
search's prototype channel reads; ``shopkg eval images`` scores photos against the prototypes
of each concept's training photos. Only numpy: importing this loads no model library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kg.ontology import VISUAL_PROTOTYPE

Vectors = npt.NDArray[np.float32]

PROTOTYPE_PROPERTIES = tuple(p.name for p in VISUAL_PROTOTYPE)
"""The ``Concept`` properties a prototype sets (and clears when a concept has no images)."""


@dataclass(frozen=True)
class VisualPrototype:
    """A concept's prototype: ``vector`` (unit length), ``image_count`` and ``spread``.

    ``similarities`` holds each image's cosine to the prototype, in the order given.
    """

    vector: Vectors
    image_count: int
    spread: float
    similarities: Vectors

    def properties(self, encoder_id: str) -> dict[str, Any]:
        """The prototype as the ``Concept`` node's properties; ``encoder_id`` made the images'
        embeddings."""
        return {
            "prototype": [float(x) for x in self.vector],
            "image_count": self.image_count,
            "spread": self.spread,
            "prototype_encoder": encoder_id,
        }


def visual_prototype(vectors: npt.ArrayLike) -> VisualPrototype:
    """The prototype of unit image embeddings (one per row, at least one row).

    The build's checksums cover the prototype's exact bytes: change nothing in this arithmetic
    without expecting every concept_prototype index to change.
    """
    matrix = np.asarray(vectors)
    if matrix.ndim != 2 or len(matrix) == 0:
        raise ValueError("a visual prototype needs at least one image vector (rows of a matrix)")
    vector = unit_vector(matrix.mean(axis=0))
    similarities = matrix @ vector
    return VisualPrototype(vector, len(matrix), float(np.mean(1.0 - similarities)), similarities)


def concept_prototypes(vectors: npt.ArrayLike, labels: npt.ArrayLike, concepts: int) -> Vectors:
    """One prototype row per concept ``0 .. concepts-1`` from labelled image embeddings; a
    concept without images gets a zero row."""
    matrix = np.asarray(vectors, dtype=np.float32)
    labels = np.asarray(labels)
    rows = np.zeros((concepts, matrix.shape[1]), dtype=np.float32)
    for concept in np.unique(labels):
        rows[concept] = visual_prototype(matrix[labels == concept]).vector
    return rows


def unit_vector(vector: npt.NDArray[Any]) -> Vectors:
    """``vector`` scaled to unit length as float32 (a zero vector stays zero)."""
    norm = float(np.linalg.norm(vector))
    return np.asarray((vector / norm if norm > 0 else vector).astype(np.float32))
