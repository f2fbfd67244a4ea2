"""Where the build's per-record work runs: in this process, or on a Ray cluster.

A build's stages (:mod:`jobs.build`) keep everything that reads or writes the build's state
(the metadata DB, the extraction cache, the graph store, the vector indexes) in the process
that runs the job. What they hand to an engine is the per-record work only, one batch at a
time: running the extraction pipeline on records, encoding item texts, encoding images. Both
engines run that work through the same per-batch functions below, so a record's facts and an
input's vector do not depend on where they were made.

:class:`InProcessEngine` is the default and is what the build always did. The Ray engine
(:mod:`jobs.ray_engine`, the optional ``shopkg[ray]`` extra) runs the same functions as Ray
Data ``map_batches`` over actor pools that load their models once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from catalog.schema import CatalogRecord
from extraction.facts import RecordFacts
from foundation.settings import Settings

if TYPE_CHECKING:
    from encoders.base import Encoded

Vectors = npt.NDArray[np.float32]
Chunk = tuple[tuple[str, ...], tuple[str, ...]]  # (keys, texts): see jobs.text_prefetch
RecordLoader = Callable[[list[str]], list[CatalogRecord]]


# -- the per-batch work, the same in every engine ---------------------------------------------
def extract_records(pipeline: Any, records: Sequence[CatalogRecord]) -> list[RecordFacts]:
    """The extraction pipeline's facts of each record, in order (a failed record's facts say
    why rather than raising)."""
    return list(pipeline.extract_many(records))


def encode_texts(encoder: Any, texts: Sequence[str]) -> Vectors:
    """One chunk of item texts as vectors (every text must encode)."""
    vectors: Vectors = encoder.encode(list(texts)).require_all()
    return vectors


def encode_images(encoder: Any, paths: Sequence[Path]) -> Encoded:
    """One batch of images: the vectors of the readable ones, and why the others failed."""
    encoded: Encoded = encoder.encode(list(paths))
    return encoded


# -- the seam -----------------------------------------------------------------------------------
class BuildEngine(Protocol):
    """Runs a build's per-record work and hands the results back in input order."""

    name: str
    # whether the build encodes item texts in a thread while extraction runs
    # (jobs.text_prefetch): only where both share this process's cores
    overlaps_text_encoding: bool

    def extract(
        self,
        settings: Settings,
        load: RecordLoader,
        keys: list[str],
        model: Path | None,
        batch: int,
    ) -> Iterator[tuple[list[CatalogRecord], list[RecordFacts]]]:
        """The records of ``keys`` (``load`` reads them, ``batch`` at a time) with their
        facts, a batch at a time, as each batch is done: the caller keeps each batch before
        asking for the next, so a build killed in the middle loses at most what is in flight."""
        ...

    def encode_texts(
        self, settings: Settings, encoder: Callable[[], Any], chunks: list[Chunk]
    ) -> Iterator[Vectors]:
        """The vectors of each chunk's texts, chunk by chunk. ``encoder`` gives the build's
        loaded text encoder, for an engine that encodes in this process."""
        ...

    def encode_images(
        self, settings: Settings, encoder: Any, directory: Path, batches: list[list[Path]]
    ) -> Iterator[Encoded]:
        """Each batch of images encoded by the image encoder in ``directory`` (``encoder`` is
        it, loaded in this process)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a stage's summary says about where its work ran (nothing, in process)."""
        ...

    def close(self) -> None:
        """Let go of whatever the engine started (a no-op for the in-process engine)."""
        ...


class InProcessEngine:
    """All the work in this process: one extraction pipeline, the build's own encoders."""

    name = "in-process"
    overlaps_text_encoding = True

    def extract(
        self,
        settings: Settings,
        load: RecordLoader,
        keys: list[str],
        model: Path | None,
        batch: int,
    ) -> Iterator[tuple[list[CatalogRecord], list[RecordFacts]]]:
        if not keys:
            return
        from extraction.pipeline import build_pipeline

        pipeline = build_pipeline(model_dir=model)
        for start in range(0, len(keys), batch):
            records = load(keys[start : start + batch])
            yield records, extract_records(pipeline, records)

    def encode_texts(
        self, settings: Settings, encoder: Callable[[], Any], chunks: list[Chunk]
    ) -> Iterator[Vectors]:
        for chunk in chunks:
            yield encode_texts(encoder(), chunk[1])

    def encode_images(
        self, settings: Settings, encoder: Any, directory: Path, batches: list[list[Path]]
    ) -> Iterator[Encoded]:
        # encode_stream is encode_images batch by batch, decoding the next batch in a thread
        # where a core is free beside the model's threads
        encoded: Iterator[Encoded] = encoder.encode_stream(batches)
        return encoded

    def describe(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass
