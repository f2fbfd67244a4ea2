"""A file of catalog records read back one at a time: what a published build's cards show.

``records.jsonl`` holds one record per line; ``records.index.json`` maps each record's key to
its byte range, so a server reads one record with one ``pread`` (~50 us) instead of parsing
the file, and a card never shows a record newer than the search it came from.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from catalog.schema import CatalogRecord

RECORDS_KEPT = 1024  # records a reader keeps parsed


def index_path(path: Path) -> Path:
    return path.with_suffix(".index.json")


def write_records(path: Path, records: Iterable[CatalogRecord]) -> int:
    """Write ``records`` to ``path`` and their byte ranges beside it; returns how many."""
    ranges: dict[str, list[int]] = {}
    offset = 0
    with path.open("wb") as f:
        for record in records:
            line = record.model_dump_json().encode("utf-8")
            f.write(line + b"\n")
            ranges[record.id] = [offset, len(line)]
            offset += len(line) + 1
    index_path(path).write_text(json.dumps(ranges), encoding="utf-8")
    return len(ranges)


class RecordFile:
    """key → the catalog record as written, read from the file on demand (cached)."""

    def __init__(self, path: Path) -> None:
        with index_path(path).open(encoding="utf-8") as f:
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
