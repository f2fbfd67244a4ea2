"""Content checksums of what a build produces, to show two builds made the same thing.

The graph's checksum covers every node (label, key, properties) and every relation (type,
endpoints, properties with provenance), in a canonical order, so it does not depend on the
order the writes happened in. A vector index's covers its keys and, separately, its vectors'
exact bytes. Files (the keyword index, the item table) are hashed as bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from foundation.files import file_sha256
from kg import GraphStore


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, float):
        return round(value, 6)
    return value


NODE_PROVENANCE = ("source", "extractor", "confidence")


def graph_checksum(store: GraphStore, *, node_provenance: bool = True) -> dict[str, Any]:
    """Counts and one SHA-256 over the whole graph, independent of write order.

    A node's own provenance names the last fact that asserted it, so it depends on the
    history of writes: two builds through different histories (incremental and from scratch)
    are compared with ``node_provenance=False``; relations keep all of theirs either way.
    """
    graph = store.export_networkx()
    digest = hashlib.sha256()
    for node in sorted(graph.nodes):
        attributes = dict(graph.nodes[node])
        if not node_provenance:
            for name in NODE_PROVENANCE:
                attributes.pop(name, None)
        row = [list(node), _canonical(attributes)]
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
    edges = sorted(
        json.dumps([list(u), list(v), key, _canonical(dict(data))], sort_keys=True, default=str)
        for u, v, key, data in graph.edges(keys=True, data=True)
    )
    for edge in edges:
        digest.update(edge.encode())
    return {
        "nodes": graph.number_of_nodes(),
        "relations": graph.number_of_edges(),
        "sha256": digest.hexdigest(),
    }


def index_checksum(directory: Path) -> dict[str, Any]:
    """Count and SHA-256s of a saved vector index's keys and of its vectors, in key order.

    The vectors' hash is of their exact bytes: the same texts encoded in other batches can
    differ in the last bits, so builds through different histories compare vectors with a
    tolerance (:func:`index_vectors`) and keys by hash.
    """
    vectors = index_vectors(directory)
    key_digest, vector_digest = hashlib.sha256(), hashlib.sha256()
    for key in sorted(vectors):
        key_digest.update(key.encode() + b"\n")
        vector_digest.update(np.ascontiguousarray(vectors[key], dtype=np.float32).tobytes())
    return {
        "count": len(vectors),
        "keys_sha256": key_digest.hexdigest(),
        "vectors_sha256": vector_digest.hexdigest(),
    }


def index_vectors(directory: Path) -> dict[str, Any]:
    """A saved vector index as key → vector."""
    from retrieval.vector_index import VectorIndex

    keys, vectors = VectorIndex.load(directory).vectors()
    return dict(zip(keys, vectors, strict=True))


def build_checksums(
    index_dir: Path, store: GraphStore, *, node_provenance: bool = True
) -> dict[str, Any]:
    """The graph's checksum and each index's, for comparing two builds' outputs."""
    found: dict[str, Any] = {"graph": graph_checksum(store, node_provenance=node_provenance)}
    if index_dir.is_dir():
        for path in sorted(index_dir.iterdir()):
            if (path / "manifest.json").is_file():
                found[path.name] = index_checksum(path)
            elif path.is_file():
                found[path.name] = {"sha256": file_sha256(path)}
            elif path.is_dir():
                found[path.name] = {
                    "sha256": hashlib.sha256(
                        "".join(
                            f"{p.relative_to(path)}:{file_sha256(p)}"
                            for p in sorted(path.rglob("*"))
                            if p.is_file()
                        ).encode()
                    ).hexdigest()
                }
    return found
