"""Published builds: what ``shopkg serve`` answers from, apart from what builds write.

Kùzu lets one process open a database for writing, and while any process has it open (even
read-only) no other may write it. A server holding the build's graph therefore made every
build while serving fail. Instead, a build that succeeds publishes a snapshot of what it made
into ``<data_dir>/serving/build-<job>/``:

- ``graph/`` — a copy of the Kùzu database (checkpointed first), which the server opens
  read-only; with Neo4j there is no copy and the server reads the live graph;
- ``indexes/`` — a copy of the index directory (vectors, BM25, item table, postings);
- ``records.jsonl`` and ``records.index.json`` — the catalog records the cards show, with
  each record's byte range, so a card never shows a record newer than the search it came
  from (the metadata DB holds the next build's records as soon as it ingests them);
- ``build.json`` — the job and its parameters.

Then ``<data_dir>/serving/current`` names it (written whole, atomically). The web app checks
that name every few seconds and swaps in an assistant over the new snapshot (see
``webapp.services``). The newest :data:`KEEP` snapshots are kept; older ones are deleted (a
server still reading one keeps its open files until it swaps).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalog.schema import CatalogRecord
from foundation.errors import GraphStoreError, JobError
from foundation.settings import Settings

SERVING_DIR = "serving"
log = logging.getLogger(__name__)
POINTER = "current"
KEEP = 3
# Kùzu's page cache for a served graph (its default is most of the machine's memory, filled
# as pages are read: a server's memory grew with every item shown); pages past it are read
# again from the OS's file cache
SERVE_BUFFER_POOL_BYTES = 64 << 20
# catalog records a served build keeps parsed (one is read again from its offset in ~50 us)
RECORDS_KEPT = 1024


@dataclass(frozen=True)
class Published:
    """One published build, as read from its directory."""

    directory: Path
    job_id: int
    parameters: dict[str, Any]
    graph: str | None  # the graph URI to read when not the copy in ``graph/`` (Neo4j)

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def index_dir(self) -> Path:
        return self.directory / "indexes"

    @property
    def graph_dir(self) -> Path:
        return self.directory / "graph"

    def open_graph(self, settings: Settings) -> Any:
        """The published graph, opened read-only (a Kùzu copy), or the live Neo4j graph."""
        if self.graph is not None:
            from kg import open_store

            return open_store(settings, graph=self.graph).open()
        from kg.kuzu_store import KuzuStore

        def kuzu(pool: int) -> Any:
            return KuzuStore(
                self.graph_dir, batch_size=settings.batch_size, read_only=True,
                buffer_pool_bytes=pool,
            ).open()  # fmt: skip

        try:
            return kuzu(SERVE_BUFFER_POOL_BYTES)
        except GraphStoreError as e:  # a graph too big to open with that little cache
            log.warning("the served graph needs Kùzu's default page cache: %s", e)
            return kuzu(0)

    def records(self) -> PublishedRecords:
        return PublishedRecords(self.directory / "records.jsonl")


class PublishedRecords:
    """key → the catalog record as published, read from the file on demand (cached)."""

    def __init__(self, path: Path) -> None:
        with path.with_suffix(".index.json").open(encoding="utf-8") as f:
            self._ranges: dict[str, list[int]] = json.load(f)
        self._fd = os.open(path, os.O_RDONLY)
        self._lock = threading.Lock()
        self._cached = lru_cache(maxsize=RECORDS_KEPT)(self._read)

    def __call__(self, key: str) -> CatalogRecord | None:
        return self._cached(key)

    def __len__(self) -> int:
        return len(self._ranges)

    def _read(self, key: str) -> CatalogRecord | None:
        found = self._ranges.get(key)
        with self._lock:
            if found is None or self._fd < 0:
                return None
            line = os.pread(self._fd, found[1], found[0])
        return CatalogRecord.model_validate_json(line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def serving_dir(settings: Settings) -> Path:
    return settings.data_dir / SERVING_DIR


def current(settings: Settings) -> Published | None:
    """The build the server should answer from, or None when none was published yet."""
    root = serving_dir(settings)
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    directory = root / name
    try:
        meta = json.loads((directory / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise JobError(f"the published build {directory} cannot be read: {e}") from e
    return Published(directory, int(meta["job"]), dict(meta["parameters"]), meta.get("graph"))


def current_name(settings: Settings) -> str | None:
    """Just the name of the current published build (one small read, for polling)."""
    try:
        return (serving_dir(settings) / POINTER).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def publish(
    settings: Settings,
    store: Any,
    records: Iterable[CatalogRecord],
    job_id: int,
    parameters: dict[str, Any],
) -> Published:
    """Snapshot what build ``job_id`` made (``store`` is its open graph) and make it current."""
    root = serving_dir(settings)
    directory = root / f"build-{job_id}"
    partial = root / f".build-{job_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    graph: str | None = None
    if store.backend == "kuzu":
        store.copy_to(partial / "graph")
    else:
        graph = settings.graph
    if settings.index_dir.is_dir():
        shutil.copytree(settings.index_dir, partial / "indexes")
    _write_records(partial / "records.jsonl", records)
    meta = {"job": job_id, "parameters": parameters, "graph": graph}
    (partial / "build.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    pointer = root / f".{POINTER}.tmp"
    pointer.write_text(directory.name + "\n", encoding="utf-8")
    pointer.replace(root / POINTER)
    _prune(root, keep=directory.name)
    return Published(directory, job_id, parameters, graph)


def _write_records(path: Path, records: Iterable[CatalogRecord]) -> None:
    ranges: dict[str, list[int]] = {}
    offset = 0
    with path.open("wb") as f:
        for record in records:
            line = record.model_dump_json().encode("utf-8")
            f.write(line + b"\n")
            ranges[record.id] = [offset, len(line)]
            offset += len(line) + 1
    path.with_suffix(".index.json").write_text(json.dumps(ranges), encoding="utf-8")


def _prune(root: Path, keep: str) -> None:
    """Delete all but the newest :data:`KEEP` snapshots (never ``keep``)."""

    def job_of(path: Path) -> int:
        return int(path.name.removeprefix("build-"))

    snapshots = sorted(
        (p for p in root.glob("build-*") if _is_job_number(p.name.removeprefix("build-"))),
        key=job_of,
        reverse=True,
    )
    for old in snapshots[KEEP:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _is_job_number(text: str) -> bool:
    return text.isascii() and text.isdigit()
