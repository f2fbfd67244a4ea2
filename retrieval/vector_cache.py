"""Text vectors kept on disk, shared by every server process over one published build.

Answering a question about an item encodes the item's evidence (its facts, bullets,
description sentences, reviews, Q&A): a few dozen texts, most of them new the first time
the item is asked about. With ``shopkg serve --workers N`` each worker would encode them
again, and a restarted server all of them anew. :class:`DiskVectorCache` keeps them in a
SQLite file beside the published build (WAL, so workers read while one writes), keyed by a
digest of the encoder's id and the text: a worker asks it for what its memory lacks before
encoding, and adds what it encoded. A vector from another encoder can never be returned
(the key holds the encoder id), and a file that cannot be used is skipped, not fatal.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)
SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"
LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...)


class DiskVectorCache:
    """Vectors of ``dimension`` float32 values by text, for the encoder ``encoder_id``."""

    def __init__(self, path: Path, encoder_id: str, dimension: int) -> None:
        self.path = path
        self.encoder_id = encoder_id
        self.dimension = dimension
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is None and not self._broken:
            try:
                connection = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(SCHEMA)
                connection.commit()
                self._connection = connection
            except sqlite3.Error as e:
                log.warning("text vectors are not shared on disk (%s): %s", self.path, e)
                self._broken = True
        return self._connection

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.encoder_id}\0{text}".encode()).digest()[:16]

    def get_many(self, texts: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        """The vectors the file holds for ``texts`` (those it lacks are left out)."""
        keys = {self._key(text): text for text in dict.fromkeys(texts)}
        found: dict[str, npt.NDArray[np.float32]] = {}
        with self._lock:
            connection = self._connect()
            if connection is None or not keys:
                return found
            wanted = list(keys)
            try:
                for start in range(0, len(wanted), LOOKUP_CHUNK):
                    chunk = wanted[start : start + LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = connection.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({marks})",  # noqa: S608 - only ? marks
                        chunk,
                    ).fetchall()
                    for key, blob in rows:
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape == (self.dimension,):
                            found[keys[key]] = vector.copy()
            except sqlite3.Error as e:
                log.warning("reading shared text vectors failed: %s", e)
        return found

    def put_many(self, vectors: Mapping[str, npt.NDArray[np.float32]]) -> None:
        """Add vectors (a text already there keeps its vector)."""
        rows = [
            (self._key(text), np.asarray(vector, dtype=np.float32).tobytes())
            for text, vector in vectors.items()
        ]
        with self._lock:
            connection = self._connect()
            if connection is None or not rows:
                return
            try:
                connection.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", rows)
                connection.commit()
            except sqlite3.Error as e:  # busy with another worker's write: keep them in memory
                log.warning("sharing text vectors failed: %s", e)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
