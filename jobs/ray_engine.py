"""The build's per-record work on Ray (``shopkg build --engine ray``; the ``shopkg[ray]`` extra).

The job itself stays where it is: the process that runs ``shopkg build`` (the *driver*) holds
the metadata DB, the extraction cache, the graph store and the vector indexes, runs the
catalog-level steps (concept mining, entity resolution, prototypes) as the reduce steps they
are, writes the graph in batches as its one writer, and builds the indexes from the vectors it
gathers. Ray runs what is per record, as Ray Data ``map_batches`` over actor pools that load
their model once per actor: the extraction pipeline (spaCy and the MiniLM tagger), the text
encoder and the image encoder, on GPU actors (fp16, as the encoders run on CUDA) when the
cluster has GPUs and on CPU actors otherwise.

Each row of a Ray dataset is one batch of work cut exactly as the in-process engine cuts it,
and the actors call the same per-batch functions (:mod:`jobs.engine`), so a Ray build makes
the same facts and vectors as an in-process one. Results come back in input order and the
stage keeps each batch as it arrives (the extraction cache commits it), so a driver killed in
the middle loses only what was in flight: run the same command again and the job resumes.

Nothing here reaches the network on its own: a local cluster (no ``--ray-address``) is started
on this machine without the dashboard and with usage statistics off. On a real cluster every
node needs ShopKG installed (``pip install 'shopkg[ray]'``, the same version as the driver)
and the catalog's image directory at the same path (a shared file system), and the models
ShopKG ships come with the package.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import SecretStr

from catalog.schema import CatalogRecord
from extraction.facts import RecordFacts
from foundation.errors import ConfigError, require
from foundation.settings import Settings
from jobs.engine import Chunk, RecordLoader, Vectors, encode_images, encode_texts, extract_records

if TYPE_CHECKING:
    from encoders.base import Encoded

log = logging.getLogger(__name__)

# what a local cluster must never do on a user's machine: phone home, serve a dashboard
QUIET_RAY = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_USAGE_STATS_PROMPT_ENABLED": "0"}


@dataclass(frozen=True)
class RayOptions:
    """Which Ray to use: ``address`` (``auto``, ``ray://HOST:10001``; None starts a local
    cluster of ``local_cpus`` CPUs, default this machine's) and ``workers`` (actors per
    stage; default one per CPU of the cluster, one per GPU for the encoders)."""

    address: str | None = None
    workers: int | None = None
    local_cpus: int | None = None


class RayEngine:
    """Per-record work as Ray Data ``map_batches`` over actor pools (see the module's text)."""

    name = "ray"
    overlaps_text_encoding = False  # the actors have the cores

    def __init__(self, options: RayOptions | None = None) -> None:
        self.options = options or RayOptions()
        if self.options.workers is not None and self.options.workers < 1:
            raise ConfigError(f"--ray-workers must be at least 1, not {self.options.workers}")
        self._ray: Any = None
        self._started = False  # this engine started the (local) cluster and shuts it down
        self._pool = 0  # actors of the last pool
        self._seconds = 0.0  # the driver's wait on Ray since the last describe()

    # -- the cluster ----------------------------------------------------------------------
    def connect(self) -> Any:
        """Join the cluster (or start a local one) on first use; returns the ``ray`` module."""
        if self._ray is not None:
            return self._ray
        for name, value in QUIET_RAY.items():
            os.environ.setdefault(name, value)
        require("ray", "ray")
        require("ray.data", "ray")
        import ray
        import ray.data

        if not ray.is_initialized():
            common: dict[str, Any] = {"namespace": "shopkg", "log_to_driver": False}
            if self.options.address:
                ray.init(address=self.options.address, **common)
            else:
                cpus = self.options.local_cpus or os.cpu_count() or 1
                ray.init(
                    num_cpus=max(cpus, self.options.workers or 1),
                    num_gpus=0,
                    include_dashboard=False,
                    configure_logging=False,
                    **common,
                )
            self._started = True
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # the build reports progress
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_options.preserve_order = True  # results in input order
        self._ray = ray
        return ray

    def close(self) -> None:
        ray, self._ray = self._ray, None
        if ray is not None and self._started:
            ray.shutdown()
        self._started = False

    def workers(self, *, gpu: bool = False) -> tuple[int, float]:
        """Actors per pool and the GPUs each takes: one per GPU for an encoder when the
        cluster has GPUs, else ``--ray-workers`` (default one per CPU)."""
        resources = self.connect().cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpu and gpus:
            return (min(self.options.workers or gpus, gpus), 1.0)
        return (self.options.workers or max(1, int(resources.get("CPU", 1))), 0.0)

    def describe(self) -> dict[str, Any]:
        """What a stage's summary says about where its work ran (the actors of its last pool;
        none when the stage had nothing for Ray)."""
        workers, self._pool = self._pool, 0
        seconds, self._seconds = self._seconds, 0.0
        # how long the driver waited on Ray (actors' start and model loading included): the
        # rest of the stage's time is the driver's own (reduce steps, writes, indexes)
        return {"engine": self.name, "workers": workers, "ray_wait_s": round(seconds, 1)}

    def _map(
        self,
        rows: list[dict[str, Any]],
        worker: type,
        arguments: dict[str, Any],
        *,
        gpu: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """``worker`` (an actor class: loads its model in ``__init__``, maps a batch of rows
        in ``__call__``) over ``rows``, one row per call; the output rows in input order."""
        if not rows:
            return
        ray = self.connect()
        size, gpus = self.workers(gpu=gpu)
        size = self._pool = min(size, len(rows))  # an actor with no row would only load
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            worker,
            fn_constructor_kwargs=arguments,
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=size),
            num_cpus=1,
            num_gpus=gpus,
        )
        started = time.perf_counter()
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            rows_out = _rows(batch)
            self._seconds += time.perf_counter() - started
            yield from rows_out  # what the driver does with a batch is not waiting on Ray
            started = time.perf_counter()

    # -- the work -------------------------------------------------------------------------
    def extract(
        self,
        settings: Settings,
        load: RecordLoader,
        keys: list[str],
        model: Path | None,
        batch: int,
    ) -> Iterator[tuple[list[CatalogRecord], list[RecordFacts]]]:
        if not keys:
            return
        records: dict[str, CatalogRecord] = {}
        rows = []
        for start in range(0, len(keys), batch):
            loaded = load(keys[start : start + batch])
            records.update((record.id, record) for record in loaded)
            rows.append({"records": json.dumps([r.model_dump(mode="json") for r in loaded])})
        arguments = {"model": str(model.resolve()) if model is not None else None}
        for row in self._map(rows, ExtractWorker, arguments):
            facts = [RecordFacts.from_dict(item) for item in json.loads(row["facts"])]
            yield [records[key] for key in json.loads(row["keys"])], facts

    def encode_texts(
        self, settings: Settings, encoder: Callable[[], Any], chunks: list[Chunk]
    ) -> Iterator[Vectors]:
        rows = [{"texts": json.dumps(list(chunk[1]))} for chunk in chunks]
        arguments = {"settings": _for_workers(settings)}
        for row in self._map(rows, TextWorker, arguments, gpu=True):
            yield _vectors(row)

    def encode_images(
        self, settings: Settings, encoder: Any, directory: Path, batches: list[list[Path]]
    ) -> Iterator[Encoded]:
        from encoders.base import Encoded, Skipped

        rows = [{"paths": json.dumps([str(path) for path in paths])} for paths in batches]
        arguments = {"settings": _for_workers(settings), "directory": str(directory.resolve())}
        for row in self._map(rows, ImageWorker, arguments, gpu=True):
            skipped = [Skipped(position, reason) for position, reason in json.loads(row["skipped"])]
            yield Encoded(_vectors(row), json.loads(row["positions"]), skipped)


def _for_workers(settings: Settings) -> Settings:
    """The settings the actors load their models with: no secrets travel to the cluster."""
    return settings.model_copy(
        update={"secret_key": SecretStr(""), "neo4j_password": SecretStr("")}
    )


def _vectors(row: dict[str, Any]) -> Vectors:
    flat = np.frombuffer(row["vectors"], dtype=np.float32)
    return flat.reshape(int(row["count"]), int(row["dimension"])).copy()


def _vector_row(vectors: Vectors) -> dict[str, Any]:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    return {"vectors": array.tobytes(), "count": array.shape[0], "dimension": array.shape[1]}


def _rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """A Ray Data batch (``numpy`` format: column → array) as rows."""
    columns = list(batch)
    count = len(batch[columns[0]]) if columns else 0
    return [{name: batch[name][i] for name in columns} for i in range(count)]


def _batch(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as a Ray Data batch (column → values)."""
    return {name: [row[name] for row in rows] for name in (rows[0] if rows else {})}


# -- the actors: each loads its model once, then maps batches --------------------------------
class ExtractWorker:
    """The extraction pipeline (spaCy and the attribute tagger) in one actor."""

    def __init__(self, model: str | None) -> None:
        from extraction.pipeline import build_pipeline

        self.pipeline = build_pipeline(model_dir=Path(model) if model else None)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out = []
        for row in _rows(batch):
            records = [CatalogRecord.model_validate(raw) for raw in json.loads(row["records"])]
            facts = extract_records(self.pipeline, records)
            out.append(
                {
                    "keys": json.dumps([record.id for record in records]),
                    "facts": json.dumps([f.to_dict() for f in facts], default=str),
                }
            )
        return _batch(out)


class TextWorker:
    """The build's text encoder (MiniLM) in one actor."""

    def __init__(self, settings: Settings) -> None:
        from encoders.factory import text_encoder

        self.encoder = text_encoder(settings)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        return _batch(
            [
                _vector_row(encode_texts(self.encoder, json.loads(row["texts"])))
                for row in _rows(batch)
            ]
        )


class ImageWorker:
    """The build's image encoder (ShopKG's tower or a CLIP checkpoint) in one actor."""

    def __init__(self, settings: Settings, directory: str) -> None:
        from encoders.factory import image_encoder

        self.encoder = image_encoder(settings, directory)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out = []
        for row in _rows(batch):
            encoded = encode_images(self.encoder, [Path(p) for p in json.loads(row["paths"])])
            out.append(
                {
                    **_vector_row(encoded.vectors),
                    "positions": json.dumps(list(encoded.positions)),
                    "skipped": json.dumps([[s.position, s.reason] for s in encoded.skipped]),
                }
            )
        return _batch(out)
