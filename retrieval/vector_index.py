"""FAISS vector indexes, one per collection, keyed by KG keys and bound to one encoder.

Small collections use exact search (``IndexFlatIP`` on unit vectors = cosine); once a
collection reaches ``IndexConfig.exact_below`` vectors it is rebuilt as HNSW, which keeps
recall@10 high at a fraction of the latency. Every index records the ``encoder_id`` of the
model that made its vectors and refuses vectors, queries or files from another one.

Removal: flat indexes drop rows at once; HNSW cannot, so removed rows become tombstones that
searches skip (a FAISS ID selector) and the graph is rebuilt when they pass a quarter of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
import numpy.typing as npt

from foundation.artifacts import CONCEPT_PROTOTYPE, IMAGE, ITEM_IMAGE, ITEM_TEXT
from foundation.errors import VectorIndexError
from retrieval.index_files import MANIFEST, read_index_files, write_index_files

COLLECTIONS = (ITEM_TEXT, ITEM_IMAGE, IMAGE, "concept", CONCEPT_PROTOTYPE)
IndexKind = Literal["flat", "hnsw"]
METRIC = "inner_product"


@dataclass(frozen=True)
class IndexConfig:
    """When to switch from exact to HNSW search, and how HNSW is tuned.

    ``kind`` ``"auto"`` starts exact and turns into HNSW at ``exact_below`` vectors;
    ``"flat"`` or ``"hnsw"`` fix the kind (benchmarks, or collections known to be large).
    """

    kind: Literal["auto", "flat", "hnsw"] = "auto"
    exact_below: int = 20_000
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 96
    rebuild_deleted_fraction: float = 0.25
    use_gpu: bool = True


@dataclass(frozen=True)
class Hit:
    """One search result: the KG key of a vector and its cosine similarity to the query."""

    key: str
    score: float


def gpu_available() -> bool:
    """True when the installed FAISS is a GPU build and sees a device."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


class VectorIndex:
    """A collection's vectors under string keys. The constructor does no I/O."""

    def __init__(
        self, collection: str, encoder_id: str, dimension: int, config: IndexConfig | None = None
    ) -> None:
        if collection not in COLLECTIONS:
            raise VectorIndexError(
                f"unknown collection {collection!r}; use one of {', '.join(COLLECTIONS)}"
            )
        if dimension < 1:
            raise VectorIndexError(f"dimension must be positive, got {dimension}")
        self.collection = collection
        self.encoder_id = encoder_id
        self.dimension = dimension
        self.config = config or IndexConfig()
        self.kind: IndexKind = "flat"
        self._index: Any = faiss.IndexFlatIP(dimension)
        self._keys: list[str | None] = []  # FAISS position -> key; None = tombstone
        self._positions: dict[str, int] = {}
        self._selector: Any = None
        self._gpu_index: Any = None
        self._gpu_resources: Any = None
        if self.config.kind == "hnsw":
            self._rebuild("hnsw")

    # --- encoder binding -------------------------------------------------------------------

    def check_encoder(self, encoder_id: str | None) -> None:
        """Refuse vectors made by an encoder other than the one this index was built with."""
        if encoder_id is not None and encoder_id != self.encoder_id:
            raise VectorIndexError(
                f"the {self.collection} index holds vectors of encoder {self.encoder_id!r}, not "
                f"{encoder_id!r}; re-encode with the index's encoder or rebuild the index"
            )

    def _prepare(self, vectors: npt.ArrayLike, what: str) -> npt.NDArray[np.float32]:
        array = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
        if array.ndim != 2 or array.shape[1] != self.dimension:
            raise VectorIndexError(
                f"{what} have shape {array.shape}, the {self.collection} index expects "
                f"(n, {self.dimension}); were they made by another encoder?"
            )
        if not np.isfinite(array).all():
            raise VectorIndexError(f"{what} contain NaN or infinite values")
        faiss.normalize_L2(array)
        return array

    # --- writing ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    def add(
        self, keys: Sequence[str], vectors: npt.ArrayLike, encoder_id: str | None = None
    ) -> None:
        """Add new keys; a key already present is an error (use :meth:`update`)."""
        self.check_encoder(encoder_id)
        array = self._prepare(vectors, "vectors to add")
        if len(keys) != len(array):
            raise VectorIndexError(f"{len(keys)} keys for {len(array)} vectors")
        if len(set(keys)) != len(keys):
            raise VectorIndexError("the same key appears twice in one add()")
        present = [key for key in keys if key in self._positions]
        if present:
            raise VectorIndexError(
                f"{len(present)} key(s) already indexed, e.g. {present[0]!r}; use update()"
            )
        start = len(self._keys)
        self._index.add(array)
        self._keys.extend(keys)
        self._positions.update((key, start + i) for i, key in enumerate(keys))
        self._gpu_index = None  # tombstones are unchanged, so the selector still holds
        if (
            self.config.kind == "auto"
            and self.kind == "flat"
            and len(self) >= self.config.exact_below
        ):
            self._rebuild("hnsw")

    def update(
        self, keys: Sequence[str], vectors: npt.ArrayLike, encoder_id: str | None = None
    ) -> None:
        """Replace the vectors of ``keys`` (adding those not yet present)."""
        self.check_encoder(encoder_id)
        array = self._prepare(vectors, "vectors to update")  # validate before removing
        if len(keys) != len(array) or len(set(keys)) != len(keys):
            raise VectorIndexError("update() needs one vector per key and each key once")
        self.remove([key for key in keys if key in self._positions])
        self.add(keys, vectors, encoder_id)

    def remove(self, keys: Sequence[str]) -> int:
        """Remove ``keys``; unknown keys are ignored. Returns how many were removed."""
        gone = [self._positions.pop(key) for key in dict.fromkeys(keys) if key in self._positions]
        if not gone:
            return 0
        for position in gone:
            self._keys[position] = None
        if self.kind == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(gone, dtype=np.int64)))
            self._keys = [key for key in self._keys if key is not None]
            self._positions = {key: i for i, key in enumerate(self._keys) if key is not None}
        elif self._deleted_count() > self.config.rebuild_deleted_fraction * len(self._keys):
            self._rebuild("hnsw")
        self._changed()
        return len(gone)

    def _deleted_count(self) -> int:
        return len(self._keys) - len(self._positions)

    def _changed(self) -> None:
        self._gpu_index = None
        deleted = [i for i, key in enumerate(self._keys) if key is None]
        self._selector = (
            faiss.IDSelectorNot(faiss.IDSelectorBatch(np.asarray(deleted, dtype=np.int64)))
            if deleted
            else None
        )

    def live_keys(self) -> list[str]:
        """All live keys, in index order (without copying the vectors)."""
        return [key for key in self._keys if key is not None]

    def vector(self, key: str) -> npt.NDArray[np.float32] | None:
        """``key``'s (unit) vector, or None when the index does not hold it."""
        position = self._positions.get(key)
        if position is None:
            return None
        storage = self._index if self.kind == "flat" else faiss.downcast_index(self._index.storage)
        return np.asarray(storage.reconstruct(position), dtype=np.float32)

    def vectors(self) -> tuple[list[str], npt.NDArray[np.float32]]:
        """All live keys and their (unit) vectors, in index order."""
        storage = self._index if self.kind == "flat" else faiss.downcast_index(self._index.storage)
        every = storage.reconstruct_n(0, len(self._keys)) if self._keys else np.zeros((0, 0))
        live = [i for i, key in enumerate(self._keys) if key is not None]
        keys = [key for key in self._keys if key is not None]
        return keys, np.ascontiguousarray(every[live], dtype=np.float32).reshape(-1, self.dimension)

    def _rebuild(self, kind: IndexKind) -> None:
        keys, array = self.vectors()
        index: Any
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(
                self.dimension, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT
            )
            index.hnsw.efConstruction = self.config.ef_construction
            index.hnsw.efSearch = self.config.ef_search
        else:
            index = faiss.IndexFlatIP(self.dimension)
        if len(array):
            index.add(array)
        self._index, self.kind = index, kind
        self._keys = list(keys)
        self._positions = {key: i for i, key in enumerate(keys)}
        self._changed()

    # --- reading ---------------------------------------------------------------------------

    def search(
        self, queries: npt.ArrayLike, k: int = 10, encoder_id: str | None = None
    ) -> list[list[Hit]]:
        """The ``k`` most similar keys for each query row, best first."""
        self.check_encoder(encoder_id)
        array = self._prepare(queries, "queries")
        if k < 1:
            raise VectorIndexError(f"k must be at least 1, got {k}")
        k = min(k, len(self))
        if k == 0:
            return [[] for _ in range(len(array))]
        scores, positions = self._search(array, k)
        keys = self._keys
        return [  # Python lists: indexing numpy scalars one by one costs ~10x more
            [
                Hit(key, score)
                for score, position in zip(row_scores, row_positions, strict=True)
                if position >= 0 and (key := keys[position]) is not None
            ]
            for row_scores, row_positions in zip(
                np.asarray(scores, dtype=np.float64).tolist(),
                np.asarray(positions).tolist(),
                strict=True,
            )
        ]

    def _search(self, array: npt.NDArray[np.float32], k: int) -> tuple[Any, Any]:
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.config.ef_search, k)
            )
            if self._selector is not None:
                params.sel = self._selector
            found: tuple[Any, Any] = self._index.search(array, k, params=params)
            return found
        if self.config.use_gpu and gpu_available():  # pragma: no cover - needs a GPU build
            if self._gpu_index is None:
                # the resources must outlive the GPU index, so they are kept beside it
                self._gpu_resources = faiss.StandardGpuResources()
                self._gpu_index = faiss.index_cpu_to_gpu(self._gpu_resources, 0, self._index)
            found = self._gpu_index.search(array, k)
            return found
        found = self._index.search(array, k)
        return found

    # --- persistence -----------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "encoder_id": self.encoder_id,
            "dimension": self.dimension,
            "metric": METRIC,
            "kind": self.kind,
            "count": len(self),
            "config": {
                "kind": self.config.kind,
                "exact_below": self.config.exact_below,
                "hnsw_m": self.config.hnsw_m,
                "ef_construction": self.config.ef_construction,
                "ef_search": self.config.ef_search,
            },
        }

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Write the index to ``directory``; returns the manifest written."""
        data = faiss.serialize_index(self._index).tobytes()
        return write_index_files(Path(directory), data, self._keys, self.manifest())

    @staticmethod
    def exists(directory: str | Path) -> bool:
        """Whether a whole index was saved in ``directory`` (its manifest is written last)."""
        return (Path(directory) / MANIFEST).is_file()

    @classmethod
    def load(
        cls,
        directory: str | Path,
        encoder_id: str | None = None,
        config: IndexConfig | None = None,
    ) -> VectorIndex:
        """Read and verify a saved index; with ``encoder_id``, refuse one from another encoder."""
        manifest, data, keys = read_index_files(Path(directory))
        try:
            index = cls(
                manifest["collection"],
                manifest["encoder_id"],
                int(manifest["dimension"]),
                config or IndexConfig(**manifest.get("config", {})),
            )
            kind = manifest["kind"]
        except (KeyError, TypeError, ValueError) as e:
            raise VectorIndexError(f"manifest in {directory} is incomplete: {e}") from e
        index.check_encoder(encoder_id)
        try:
            faiss_index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as e:
            raise VectorIndexError(f"cannot read the FAISS index in {directory}: {e}") from e
        live = sum(key is not None for key in keys)
        if (
            faiss_index.d != index.dimension
            or faiss_index.ntotal != len(keys)
            or (live != manifest.get("count") or kind not in ("flat", "hnsw"))
        ):
            raise VectorIndexError(
                f"the index in {directory} does not match its manifest (dimension, count or "
                "kind); rebuild the index"
            )
        index._index, index.kind, index._keys = faiss_index, kind, keys
        index._positions = {key: i for i, key in enumerate(keys) if key is not None}
        index._changed()
        return index
