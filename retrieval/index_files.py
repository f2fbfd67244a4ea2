"""On-disk layout of a vector index: FAISS data, key list and a checksummed manifest.

A saved index is a directory::

    manifest.json   collection, encoder id, dimension, metric, kind, count, sha256 of each file
    index.faiss     the FAISS index (always the CPU form)
    keys.json       position -> KG key (null where a vector was removed)

The manifest is written last and every file is checked against it on load, so a half-written
or tampered index is refused instead of answering with wrong keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from foundation.errors import VectorIndexError
from foundation.files import file_sha256 as sha256_of

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
KEYS_FILE = "keys.json"


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_index_files(
    directory: Path, index_bytes: bytes, keys: list[str | None], manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write the data files, then the manifest naming their checksums; returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / MANIFEST
    if stale.exists():
        stale.unlink()  # a crash below leaves no manifest, so the index reads as missing
    _write_atomic(directory / INDEX_FILE, index_bytes)
    _write_atomic(directory / KEYS_FILE, json.dumps(keys, separators=(",", ":")).encode())
    full = {
        "format_version": FORMAT_VERSION,
        **manifest,
        "files": {name: sha256_of(directory / name) for name in (INDEX_FILE, KEYS_FILE)},
    }
    _write_atomic(directory / MANIFEST, (json.dumps(full, indent=2) + "\n").encode())
    return full


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise VectorIndexError(
            f"no vector index at {directory} ({MANIFEST} is missing); build it again"
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VectorIndexError(f"{path} is corrupt ({e}); rebuild the index") from e
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise VectorIndexError(
            f"{path} is not a ShopKG vector index manifest of format {FORMAT_VERSION}; "
            "rebuild the index"
        )
    return manifest


def read_index_files(directory: Path) -> tuple[dict[str, Any], bytes, list[str | None]]:
    """Read and verify a saved index: manifest, FAISS bytes and keys."""
    manifest = read_manifest(directory)
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != {INDEX_FILE, KEYS_FILE}:
        raise VectorIndexError(f"{directory / MANIFEST} lists no file checksums; rebuild it")
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            raise VectorIndexError(f"vector index file {path} is missing; rebuild the index")
        actual = sha256_of(path)
        if actual != expected:
            raise VectorIndexError(
                f"vector index file {path} has sha256 {actual[:12]}…, the manifest says "
                f"{str(expected)[:12]}…; the file is corrupt or was changed: rebuild the index"
            )
    try:
        keys = json.loads((directory / KEYS_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VectorIndexError(f"{directory / KEYS_FILE} is corrupt: {e}") from e
    return manifest, (directory / INDEX_FILE).read_bytes(), keys
