"""Small file helpers every package shares."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from foundation.settings import Settings


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks (model weights can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def private_paths(settings: Settings) -> list[Path]:
    """Where ShopKG keeps what must never be served: the data directory (secret key, metadata
    DB, graph, indexes, models) and a SQLite metadata DB file configured outside it."""
    paths = [Path(settings.data_dir)]
    url = settings.db
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        paths.append(Path(url.removeprefix("sqlite:///")))
    return [path.resolve() for path in paths]


def exposing_root(root: Path, settings: Settings) -> Path | None:
    """The first private path (see :func:`private_paths`) at or below ``root``, if any: an
    image directory that holds one would let ``/images/…`` reach the secret key."""
    resolved = root.resolve()
    for path in private_paths(settings):
        if path == resolved or resolved in path.parents:
            return path
    return None
