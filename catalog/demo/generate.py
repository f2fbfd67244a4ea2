"""The demo catalog generator: a synthetic, seeded e-commerce catalog from 1 to 1M+ items.

Everything it writes is generated: the products, brands, prices, reviews, questions and
images are made up (see :data:`GENERATED_NOTICE`, which the web app and README show). It feeds
``shopkg demo`` and the benchmarks, and because the generator decides each item's facts before
writing them, it also returns the ground truth (:class:`catalog.demo.truth.Truth`) that
evaluations of extraction and search are scored against.

Item ``i`` depends only on ``(seed, i)``: it is drawn from its own random generator, so item 17
is the same in a catalog of 100 items and of 1,000,000, and a large catalog can be written in
shards (``start``). Records are streamed to ``catalog.jsonl``; nothing holds the whole
catalog in memory. The output is byte-identical for the same seed and count on the same
Python and Pillow versions.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.demo import GENERATED_NOTICE
from catalog.demo.items import DemoItem, image_paths, item_id, make_item
from catalog.demo.products import DEPARTMENTS
from catalog.demo.truth import Truth, read_truth
from foundation.errors import JobError

__all__ = [
    "GENERATED_NOTICE",
    "DemoItem",
    "DemoSummary",
    "Truth",
    "generate",
    "image_paths",
    "is_demo_catalog",
    "item_id",
    "make_item",
    "read_truth",
    "write_catalog",
]

GENERATOR = "shopkg.demo_catalog.v1"


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_catalog` wrote, and how fast."""

    out: Path
    items: int
    images: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        rate = self.items / self.seconds if self.seconds > 0 else None
        return {
            "out": str(self.out),
            "items": self.items,
            "images": self.images,
            "seconds": round(self.seconds, 2),
            "records_per_s": round(rate) if rate else None,
        }


def _check_counts(items: int, start: int) -> None:
    if items < 1 or start < 0:
        raise JobError(
            f"a demo catalog needs at least 1 item from a start of 0 or more "
            f"(got items={items}, start={start})"
        )


def generate(
    items: int, seed: int = 0, *, start: int = 0, image_limit: int = 0
) -> Iterator[DemoItem]:
    """Items ``start`` … ``start + items - 1``, lazily; those below ``image_limit`` list images.

    The default lists no images, so records stand on their own; :func:`write_catalog` draws
    the images it lists.
    """
    _check_counts(items, start)
    for index in range(start, start + items):
        yield make_item(index, seed, with_images=index < image_limit)


CHUNK = 1000
# one encoder each: json.dumps with options builds a new encoder per call
_encode_record = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_truth = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class _Chunk:
    """Items ``start`` … ``stop - 1`` of a catalog being written, as a worker renders them."""

    start: int
    stop: int
    seed: int
    image_limit: int
    truth: bool
    image_dir: Path


def _render(chunk: _Chunk) -> tuple[str, str, int]:
    """A chunk's catalog lines and truth lines, drawing its images; returns how many drew."""
    lines: list[str] = []
    truths: list[str] = []
    drawn = 0
    draw = None
    if chunk.start < chunk.image_limit:
        from catalog.demo.images import draw_item_images

        draw = draw_item_images
    for record, truth in generate(
        chunk.stop - chunk.start, chunk.seed, start=chunk.start, image_limit=chunk.image_limit
    ):
        lines.append(_encode_record(record))
        if chunk.truth:
            truths.append(_encode_truth(truth.to_json()))
        if draw is not None and "images" in record:
            drawn += draw(truth, record["images"], chunk.image_dir)
    return "\n".join(lines) + "\n", "".join(f"{line}\n" for line in truths), drawn


def write_catalog(
    out: Path,
    items: int,
    seed: int = 0,
    *,
    image_limit: int | None = None,
    truth: bool = False,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Write ``catalog.jsonl``, ``images/`` and ``manifest.json`` (and ``truth.jsonl``) to ``out``.

    ``image_limit`` draws images for the first that many items only (``None``: all, ``0``:
    none), as drawing is what makes a large catalog slow. ``workers`` > 1 renders chunks of
    1,000 items in that many processes; the output is the same bytes either way. Files are
    written under a temporary name and renamed when complete, so a catalog that is there is
    whole. ``progress`` is called with the number of items written so far after each chunk.
    """
    _check_counts(items, 0)
    if workers < 1:
        raise JobError(f"workers must be 1 or more, not {workers}")
    limit = items if image_limit is None else max(0, min(image_limit, items))
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    chunks = (
        _Chunk(start, min(start + CHUNK, items), seed, limit, truth, out / "images")
        for start in range(0, items, CHUNK)
    )
    drawn = 0
    catalog_tmp, truth_tmp = out / "catalog.jsonl.tmp", out / "truth.jsonl.tmp"
    with ExitStack() as stack:
        catalog_file = stack.enter_context(catalog_tmp.open("w", encoding="utf-8", newline="\n"))
        truth_file = (
            stack.enter_context(truth_tmp.open("w", encoding="utf-8", newline="\n"))
            if truth
            else None
        )
        if workers > 1:
            # spawn, not fork: the caller may hold threads or open database connections
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(workers))
            rendered: Iterator[tuple[str, str, int]] = pool.imap(_render, chunks)
        else:
            rendered = map(_render, chunks)
        done = 0
        for lines, truth_lines, chunk_drawn in rendered:
            catalog_file.write(lines)
            if truth_file is not None:
                truth_file.write(truth_lines)
            drawn += chunk_drawn
            done = min(done + CHUNK, items)
            if progress is not None:
                progress(done)
    catalog_tmp.replace(out / "catalog.jsonl")
    if truth:
        truth_tmp.replace(out / "truth.jsonl")
    manifest = {
        "generator": GENERATOR,
        "notice": GENERATED_NOTICE,
        "seed": seed,
        "items": items,
        "images": drawn,
        "image_limit": limit,
        "departments": [department.name for department in DEPARTMENTS],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return DemoSummary(out, items, drawn, time.perf_counter() - began)


def is_demo_catalog(directory: Path) -> bool:
    """Whether ``directory`` holds a catalog this generator wrote (so the UI shows the notice)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("generator") == GENERATOR
