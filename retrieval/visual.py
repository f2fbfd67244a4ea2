"""The image side of text search: item images and concept prototypes in the text space.

ShopKG's image tower is trained LiT-style against the frozen text encoder and records that
encoder's id (``text_encoder_id`` in its config), so its vectors live in the text space: a
query's text vector can search the ``item_image`` index (each item's mean image vector) and
the ``concept_prototype`` index (each concept's visual prototype, :mod:`kg.prototypes`). An image
encoder aligned with another text encoder, or with none (a CLIP checkpoint has its own text
tower and its own space), gives no such channels: :meth:`ImageSpace.aligned_with` says so and
the searcher leaves them off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.artifacts import CONCEPT_PROTOTYPE, ITEM_IMAGE, IndexLayout
from foundation.errors import ShopKGError
from retrieval.vector_index import VectorIndex

if TYPE_CHECKING:
    from encoders.base import ImageEncoder, TextEncoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageSpace:
    """The image encoder's identity and the indexes it made (either may be missing)."""

    encoder_id: str  # the image encoder's id, recorded by its indexes
    text_encoder_id: str  # the text encoder it was aligned with; "" when none
    dimension: int
    item_image: VectorIndex | None = None
    concept_prototype: VectorIndex | None = None

    @classmethod
    def of_encoder(
        cls,
        encoder: ImageEncoder,
        item_image: VectorIndex | None = None,
        concept_prototype: VectorIndex | None = None,
    ) -> ImageSpace:
        """The space of a loaded :class:`~encoders.base.ImageEncoder` and its indexes."""
        manifest = encoder.manifest
        return cls(
            manifest.encoder_id,
            str(manifest.extra.get("text_encoder_id") or ""),
            manifest.dimension,
            item_image,
            concept_prototype,
        )

    def aligned_with(self, text_encoder: TextEncoder | None) -> bool:
        """True when query vectors of ``text_encoder`` can search these image indexes."""
        if text_encoder is None or not self.text_encoder_id:
            return False
        same_id = self.text_encoder_id == text_encoder.encoder_id
        return same_id and self.dimension == text_encoder.dimension

    def why_not(self, text_encoder: TextEncoder | None) -> str:
        """Why :meth:`aligned_with` is false, in words (empty when it is true)."""
        if self.aligned_with(text_encoder):
            return ""
        if text_encoder is None:
            return "no text encoder is loaded"
        if not self.text_encoder_id:
            return (
                f"the image encoder {self.encoder_id!r} records no text encoder it was aligned "
                "with (a CLIP checkpoint has its own text space)"
            )
        return (
            f"the image encoder {self.encoder_id!r} was aligned with {self.text_encoder_id!r}, "
            f"search encodes queries with {text_encoder.encoder_id!r}"
        )


def load_image_space(encoder: ImageEncoder, index_dir: Path) -> ImageSpace:
    """The encoder's space with whichever of its indexes the build wrote under ``index_dir``."""
    found: dict[str, VectorIndex | None] = {}
    layout = IndexLayout(index_dir)
    for collection in (ITEM_IMAGE, CONCEPT_PROTOTYPE):
        directory = layout.vectors(collection)
        found[collection] = None
        if not VectorIndex.exists(directory):
            continue
        try:
            found[collection] = VectorIndex.load(directory, encoder.encoder_id)
        except ShopKGError as e:
            log.warning("the %s index is not used: %s", collection, e)
    return ImageSpace.of_encoder(encoder, found[ITEM_IMAGE], found[CONCEPT_PROTOTYPE])
