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
  from (the metadata DB holds the next build's records as soon as it ingests them;
  :mod:`catalog.records_file`);
- ``build.json`` — the build's manifest.

The layout and the manifest are described in :mod:`foundation.artifacts`; this module writes
them.

Then ``<data_dir>/serving/current`` names it (written whole, atomically). The web app checks
that name every few seconds and swaps in an assistant over the new snapshot (see
``webapp.services``). The newest :data:`KEEP` snapshots are kept; older ones are deleted (a
server still reading one keeps its open files until it swaps).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from catalog.records_file import write_records
from catalog.schema import CatalogRecord
from foundation.artifacts import (
    SNAPSHOT_PREFIX,
    BuildManifest,
    PublishedBuild,
    point_at,
    serving_dir,
    snapshot_dir,
)
from foundation.settings import Settings

KEEP = 3


def publish(
    settings: Settings,
    store: Any,
    records: Iterable[CatalogRecord],
    manifest: BuildManifest,
) -> PublishedBuild:
    """Snapshot what the build of ``manifest`` made (``store`` is its open graph) and make
    it current."""
    root = serving_dir(settings)
    directory = snapshot_dir(settings, manifest.job)
    partial = root / f".{directory.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if store.backend == "kuzu":
        store.copy_to(partial / "graph")
    else:
        manifest = manifest.model_copy(update={"graph": settings.graph})
    published = PublishedBuild(directory, manifest)
    if settings.index_dir.is_dir():
        shutil.copytree(settings.index_dir, partial / published.indexes.root.name)
    write_records(partial / published.records_path.name, records)
    manifest.write(partial)
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    point_at(settings, directory)
    _prune(root, keep=directory.name)
    return published


def _prune(root: Path, keep: str) -> None:
    """Delete all but the newest :data:`KEEP` snapshots (never ``keep``)."""

    def job_of(path: Path) -> int:
        return int(path.name.removeprefix(SNAPSHOT_PREFIX))

    snapshots = sorted(
        (
            p
            for p in root.glob(f"{SNAPSHOT_PREFIX}*")
            if _is_job_number(p.name.removeprefix(SNAPSHOT_PREFIX))
        ),
        key=job_of,
        reverse=True,
    )
    for old in snapshots[KEEP:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _is_job_number(text: str) -> bool:
    return text.isascii() and text.isdigit()
