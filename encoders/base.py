"""The small seam every encoder implements: batches in, L2-normalized float32 vectors out.

An encoder never raises on one bad item of a batch: it encodes what it can and reports the
rest as :class:`Skipped` with a reason, so a catalog build counts bad images instead of dying
on the first truncated JPEG. Each encoder also says what it is (:class:`EncoderManifest`), and
vector indexes store that ``encoder_id`` so they can refuse vectors from another model.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from encoders.images import ImageSource, Skipped, load_batch
from foundation.errors import EncoderError

__all__ = ["ImageSource", "Skipped"]  # defined beside the image decoder, re-exported here

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class EncoderManifest:
    """What an encoder is: model name, version and output dimension.

    ``encoder_id`` (``name@version/dimension``) is what vector indexes record.
    """

    name: str
    version: str
    dimension: int
    modality: str  # "text" or "image"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def encoder_id(self) -> str:
        return f"{self.name}@{self.version}/{self.dimension}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "dimension": self.dimension,
            "modality": self.modality,
            "encoder_id": self.encoder_id,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass(frozen=True)
class Encoded:
    """The result of encoding a batch.

    ``vectors[i]`` belongs to input ``positions[i]``; inputs that could not be encoded are in
    ``skipped`` and have no row.
    """

    vectors: Vectors
    positions: list[int]
    skipped: list[Skipped]

    @property
    def count(self) -> int:
        return len(self.positions)

    def full(self, total: int) -> Vectors:
        """All ``total`` rows in input order, zero vectors where an item was skipped."""
        out = np.zeros((total, self.vectors.shape[1]), dtype=np.float32)
        if self.positions:
            out[np.asarray(self.positions)] = self.vectors
        return out

    def require_all(self) -> Vectors:
        """The vectors, or an :class:`EncoderError` naming the first skipped input."""
        if self.skipped:
            first = self.skipped[0]
            raise EncoderError(
                f"{len(self.skipped)} input(s) could not be encoded; first at position "
                f"{first.position}: {first.reason}"
            )
        return self.vectors


def l2_normalize(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.maximum(norms, 1e-12), dtype=np.float32)


def empty_encoded(dimension: int, skipped: Sequence[Skipped] = ()) -> Encoded:
    return Encoded(np.zeros((0, dimension), dtype=np.float32), [], list(skipped))


class _Encoder(abc.ABC):
    @property
    @abc.abstractmethod
    def manifest(self) -> EncoderManifest:
        """What this encoder is; available once loaded."""

    @property
    def dimension(self) -> int:
        return self.manifest.dimension

    @property
    def encoder_id(self) -> str:
        return self.manifest.encoder_id


class TextEncoder(_Encoder):
    """Texts → unit vectors. Empty or non-string texts are skipped, not encoded."""

    @abc.abstractmethod
    def _encode_texts(self, texts: list[str]) -> Vectors:
        """Encode non-empty texts; rows need not be normalized yet."""

    def encode(self, texts: Sequence[str]) -> Encoded:
        return self._encode_kept(texts, self._encode_texts)

    def encode_batch(self, texts: Sequence[str]) -> Encoded:
        """Like :meth:`encode`, for texts gathered from several callers: an encoder with a
        faster path for many texts than for one (bf16 batches) may take it from two on."""
        return self.encode(texts)

    def _encode_kept(self, texts: Sequence[str], encode: Callable[[list[str]], Vectors]) -> Encoded:
        kept: list[int] = []
        skipped: list[Skipped] = []
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                skipped.append(Skipped(position, f"not a string: {type(text).__name__}"))
            elif not text.strip():
                skipped.append(Skipped(position, "empty text"))
            else:
                kept.append(position)
        if not kept:
            return empty_encoded(self.dimension, skipped)
        vectors = l2_normalize(encode([texts[i].strip() for i in kept]))
        return Encoded(vectors, kept, skipped)


class ImageEncoder(_Encoder):
    """Images → unit vectors. Unreadable images are skipped with the reason.

    An encoder says its input size and how it turns decoded ``(N, size, size, 3)`` uint8
    pixels into vectors; decoding (PIL: open, convert, resize, crop) is shared, and
    :meth:`encode_stream` runs it for the next batch in a thread while the model encodes this
    one (PIL releases the GIL while it decodes and resizes).
    """

    @property
    @abc.abstractmethod
    def input_size(self) -> int:
        """The side of the square images the model takes."""

    @abc.abstractmethod
    def _encode_pixels(self, pixels: npt.NDArray[np.uint8]) -> Vectors:
        """Unit vectors of decoded ``(N, size, size, 3)`` uint8 images (N > 0)."""

    def decode(self, images: Sequence[ImageSource]) -> DecodedImages:
        return DecodedImages(*load_batch(images, self.input_size))

    def encode_decoded(self, decoded: DecodedImages) -> Encoded:
        if not decoded.kept:
            return empty_encoded(self.dimension, decoded.skipped)
        return Encoded(self._encode_pixels(decoded.pixels), decoded.kept, decoded.skipped)

    def encode(self, images: Sequence[ImageSource]) -> Encoded:
        """Encode a batch of paths, bytes or PIL images."""
        return self.encode_decoded(self.decode(images))

    def encode_stream(self, batches: Iterable[Sequence[ImageSource]]) -> Iterator[Encoded]:
        """:meth:`encode` of each batch in turn; where a core is free beside the model's
        threads, the next batch is decoded in a worker thread while this one is encoded. On
        a machine whose cores the model's threads already fill (2 cores, 2 threads) that
        thread only takes turns with them: measured there, overlapping ran at 0.79x of
        decoding in line (``bench/encode_bench.py``), so it decodes in line."""
        from concurrent.futures import Future, ThreadPoolExecutor

        if not spare_core():
            yield from (self.encode(batch) for batch in batches)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="shopkg-decode") as pool:
            pending: Future[DecodedImages] | None = None
            for batch in batches:
                upcoming = pool.submit(self.decode, batch)
                if pending is not None:
                    yield self.encode_decoded(pending.result())
                pending = upcoming
            if pending is not None:
                yield self.encode_decoded(pending.result())


def spare_core() -> bool:
    """Whether this process may use more cores than torch's intra-op threads fill."""
    import os

    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (usable or 1) > torch.get_num_threads()


@dataclass(frozen=True)
class DecodedImages:
    """A decoded batch: the readable images' pixels, their positions, and the skipped."""

    pixels: npt.NDArray[np.uint8]
    kept: list[int]
    skipped: list[Skipped]
