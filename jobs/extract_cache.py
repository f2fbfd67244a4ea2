"""What makes the extract stage incremental: each record's pipeline facts, and what was written.

The spaCy pipeline is the expensive part of a build. Its output for a record depends only on
the record and the pipeline, so it is kept per record, keyed by the record's content hash and
the pipeline's fingerprint (its code, config and trained model files): a rebuild runs the
pipeline on new and changed records only and reads the others back.

Catalog-level mining (concepts, entity resolution, dictionary entries) still sees every record,
so a change anywhere can change another record's final facts (a concept appears or goes, a
name merges). The final facts of each record are therefore digested, and a record is written
to the KG only when its digest differs from the one last written to that graph store. This
also makes the stage resumable: after a crash the digests say what already reached the KG.

The cache is one SQLite file in the data directory, next to the graph and the indexes it
describes; deleting it costs one full extraction and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from extraction.facts import RecordFacts
from foundation.files import file_sha256

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    catalog TEXT NOT NULL,
    record_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (catalog, record_key)
);
CREATE TABLE IF NOT EXISTS written (
    graph TEXT NOT NULL,
    catalog TEXT NOT NULL,
    record_key TEXT NOT NULL,
    digest TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    PRIMARY KEY (graph, catalog, record_key)
);
"""


# the digest of a record whose batch is being written to the graph: a write-ahead mark that
# says "maybe in the graph" until the batch commits and its real digest replaces it
PENDING = "pending"


def pipeline_fingerprint(model_dir: Path | None) -> str:
    """A hash of what decides the pipeline's output: the extraction package (code, config,
    lexicons) and the trained tagger's files."""
    import extraction

    digest = hashlib.sha256()
    roots = [Path(extraction.__file__).parent]
    if model_dir is not None and model_dir.is_dir():
        roots.append(model_dir)
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(root)).encode())
                digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def facts_digest(facts: RecordFacts) -> str:
    """A digest of a record's final facts: equal digests, equal writes."""
    text = json.dumps(facts.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ExtractionCache:
    """Pipeline facts per record of ``catalog``, and the digests written to ``graph``."""

    def __init__(self, path: Path, catalog: str, graph: str, fingerprint: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.catalog = catalog
        self.fingerprint = fingerprint
        self.graph = graph
        self._db = sqlite3.connect(path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ExtractionCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pipeline facts ------------------------------------------------------------------
    def fresh(self, hashes: dict[str, str]) -> dict[str, tuple[int, bool]]:
        """Records of ``hashes`` (key → content hash) whose cached facts are up to date, with
        the job that extracted them and whether their extraction failed."""
        found: dict[str, tuple[int, bool]] = {}
        rows = self._db.execute(
            "SELECT record_key, content_hash, job_id, failed FROM facts "
            "WHERE catalog = ? AND fingerprint = ?",
            (self.catalog, self.fingerprint),
        )
        for key, content_hash, job_id, failed in rows:
            if hashes.get(key) == content_hash:
                found[key] = (int(job_id), bool(failed))
        return found

    def load(self, keys: Iterable[str]) -> dict[str, RecordFacts]:
        """The cached, up-to-date facts of these records (those that have them)."""
        wanted = set(keys)
        rows = self._db.execute(
            "SELECT record_key, payload FROM facts WHERE catalog = ? AND fingerprint = ?",
            (self.catalog, self.fingerprint),
        )
        return {
            key: RecordFacts.from_dict(json.loads(zlib.decompress(payload)))
            for key, payload in rows
            if key in wanted
        }

    def store(self, items: Sequence[tuple[str, str, RecordFacts]], job_id: int) -> None:
        """Keep ``(record key, content hash, facts)`` rows, committed together."""
        rows = [
            (
                self.catalog,
                key,
                content_hash,
                self.fingerprint,
                job_id,
                facts.error is not None,
                zlib.compress(json.dumps(facts.to_dict(), default=str).encode("utf-8")),
            )
            for key, content_hash, facts in items
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    # -- what reached the graph ------------------------------------------------------------
    def written(self) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT record_key, digest FROM written WHERE graph = ? AND catalog = ?",
            (self.graph, self.catalog),
        )
        return dict(rows.fetchall())

    def mark_written(self, digests: dict[str, str], job_id: int) -> None:
        rows = [(self.graph, self.catalog, key, d, job_id) for key, d in digests.items()]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO written VALUES (?, ?, ?, ?, ?)", rows)

    def written_by(self, job_id: int) -> set[str]:
        """Records job ``job_id`` wrote to the graph (their other facts were replaced too)."""
        rows = self._db.execute(
            "SELECT record_key FROM written WHERE graph = ? AND catalog = ? AND job_id = ?",
            (self.graph, self.catalog, job_id),
        )
        return {key for (key,) in rows}

    def forget_written(self) -> None:
        """Say nothing was written (a forced rebuild, or a graph store that was emptied)."""
        with self._db:
            self._db.execute(
                "DELETE FROM written WHERE graph = ? AND catalog = ?", (self.graph, self.catalog)
            )

    def remove(self, keys: Iterable[str]) -> None:
        """Drop records that left the catalog."""
        rows = [(self.catalog, key) for key in keys]
        with self._db:
            self._db.executemany("DELETE FROM facts WHERE catalog = ? AND record_key = ?", rows)
            self._db.executemany(
                "DELETE FROM written WHERE graph = ? AND catalog = ? AND record_key = ?",
                [(self.graph, *row) for row in rows],
            )

    def summary(self) -> dict[str, Any]:
        (count,) = self._db.execute(
            "SELECT count(*) FROM facts WHERE catalog = ?", (self.catalog,)
        ).fetchone()
        return {"path": str(self.path), "records": count}
