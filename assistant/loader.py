"""Assembling the assistant from what ``shopkg build`` left in the data directory."""

from __future__ import annotations

import gc
import logging
import os
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from assistant.service import EVIDENCE_VECTORS, Assistant
from catalog.records_file import RecordFile
from catalog.schema import CatalogRecord
from foundation.artifacts import IndexLayout, PublishedBuild, last_build
from foundation.db import Database, RecordStatus, SourceRecord, overrides
from foundation.db.overrides import Override
from foundation.errors import GraphStoreError, JobError, ShopKGError
from foundation.settings import Settings

log = logging.getLogger(__name__)
# Kùzu's page cache for a served graph (its default is most of the machine's memory, filled
# as pages are read: a server's memory grew with every item shown); pages past it are read
# again from the OS's file cache
SERVE_BUFFER_POOL_BYTES = 64 << 20


def build_assistant(settings: Settings, published: PublishedBuild | None = None) -> Assistant:
    """The assistant over a published build (``shopkg serve``: its graph copy opened
    read-only, its indexes and records), else over the data directory as the last build
    left it; clear errors when there is none."""
    from encoders.batching import BatchingTextEncoder
    from encoders.factory import text_encoder
    from kg import open_store
    from retrieval.evidence import EvidenceRanker, FusionModel, load_fusion
    from retrieval.graph_postings import load_postings
    from retrieval.injection import EntryGlossary
    from retrieval.keyword import KeywordIndex, load_items
    from retrieval.qa_train import CachedEmbedder
    from retrieval.query import EntityDictionary
    from retrieval.search import HybridSearcher
    from retrieval.vector_cache import DiskVectorCache
    from retrieval.vector_index import VectorIndex
    from retrieval.visual import load_image_space

    manifest = published.manifest if published is not None else last_build(settings)
    if manifest is None:
        raise JobError(
            f"no build has finished in {settings.data_dir} yet; run `shopkg build` first"
        )
    layout = published.indexes if published is not None else IndexLayout(settings.index_dir)
    items = load_items(layout.items)
    encode_in_one_thread_with_all_cores(settings.web_workers)
    keyword = KeywordIndex.load(layout.keyword)
    # concurrent requests' texts share forward passes (encoders/batching.py)
    encoder = BatchingTextEncoder(text_encoder(settings))
    dense = VectorIndex.load(layout.item_text, encoder.encoder_id)
    store = open_published_graph(published, settings) if published else open_store(settings).open()
    try:
        dictionary = EntityDictionary.from_store(store)
        lookup: Any
        database: Database | None = None
        if published is not None:
            lookup = RecordFile(published.records_path)
        else:
            database = Database(settings.db).connect()
            lookup = record_lookup(database)
    except BaseException:
        store.close()
        raise
    try:
        fusion: FusionModel | None = load_fusion(settings.models_dir)
    except ShopKGError as e:
        log.warning("question answering ranks by dense similarity only: %s", e)
        fusion = None
    if fusion is not None and not fusion.beats_dense:
        log.info(
            "question answering ranks by dense similarity: the trained evidence ranker did "
            "not beat it on product-QA files it never saw"
        )
        fusion = None
    image_encoder = _image_encoder(settings, layout)
    searcher = HybridSearcher(
        items,
        keyword,
        dense,
        encoder,
        store,
        dictionary,
        injector=_injector(settings, encoder.encoder_id),
        glossary=EntryGlossary(store),
        images=(
            load_image_space(image_encoder, layout.root) if image_encoder is not None else None
        ),
        postings=load_postings(layout.root),
    )
    shared = (
        DiskVectorCache(published.evidence_vectors, encoder.encoder_id, encoder.dimension)
        if published is not None
        else None
    )
    embedder = CachedEmbedder(encoder, capacity=EVIDENCE_VECTORS, shared=shared)
    ranker = EvidenceRanker(embedder, fusion)
    assistant = Assistant(
        searcher,
        lookup,
        ranker,
        image_root=manifest.image_root,
        generated_catalog=manifest.generated,
        image_search=_image_search(layout, image_encoder),
    )
    # the admins' overrides (made since the build, and before) live in the metadata DB
    overrides_db = database or Database(settings.db).connect()
    try:
        for override in _active_overrides(overrides_db):
            assistant.apply_override(override)
    finally:
        if overrides_db is not database:
            overrides_db.close()
    freeze_loaded_objects()
    return assistant


def close_assistant(assistant: Any) -> None:
    """Close what :func:`build_assistant` opened for ``assistant`` (its graph store and a
    published build's records file)."""
    stop_warming = getattr(assistant, "stop_warming", None)
    if stop_warming is not None:
        stop_warming()  # its background reads need the store
    searcher = getattr(assistant, "searcher", None)
    store = getattr(searcher, "store", None)
    if store is not None:
        store.close()
    encoder = getattr(searcher, "text_encoder", None)
    if encoder is not None and hasattr(encoder, "close"):
        encoder.close()
    ranker = getattr(assistant, "ranker", None)
    shared = getattr(getattr(ranker, "embedder", None), "shared", None)
    if shared is not None:
        shared.close()
    records = getattr(assistant, "records", None)
    if isinstance(records, RecordFile):
        records.close()


def serve_queries_single_threaded() -> None:
    """One torch thread per encoding: the assistant encodes one short query at a time, where
    intra-op threads gain little and, on a busy machine, spin against each other (MiniLM,
    one query, 2 shared cores at load 5: median 525 ms with 2 threads, 39 ms with 1;
    bench/search_bench.py). Concurrent requests still run in parallel, one per thread."""
    import torch

    torch.set_num_threads(1)


def encode_in_one_thread_with_all_cores(workers: int = 1, most: int = 2) -> None:
    """A server process encodes in one thread (encoders/batching.py: every request's texts
    go through it), so that thread may use this process's share of the cores, up to
    ``most``, for its batches: on this 2-core machine under 50 clients, 2 threads gave 97
    requests/s against 84 with 1 (bench/web_load.py's mix run in-process). With several
    worker processes each gets ``cores // workers`` (at least 1): two processes of two
    spinning OpenMP threads each on two cores served 31 requests/s."""
    import torch

    share = (os.cpu_count() or 1) // max(1, workers)
    torch.set_num_threads(max(1, min(most, share)))


def freeze_loaded_objects() -> None:
    """Keep the garbage collector off what was just loaded (item table, postings, indexes,
    dictionary: millions of objects that live as long as the server). Otherwise every full
    collection, triggered by the objects a few searches allocate, walks all of them: a
    search that happened to trigger one took 0.4-0.5 s instead of ~50 ms on 20k items."""
    gc.collect()
    gc.freeze()


def _injector(settings: Settings, encoder_id: str) -> Any:
    """The trained knowledge-injection module, else None (search appends entry names)."""
    from retrieval.injection import load_injector

    try:
        return load_injector(settings.models_dir, encoder_id)
    except ShopKGError as e:
        log.warning("search appends KG entry names instead of the trained injection: %s", e)
        return None


def open_published_graph(published: PublishedBuild, settings: Settings) -> Any:
    """The published graph, opened read-only (a Kùzu copy), or the live Neo4j graph."""
    from kg import open_store

    if published.manifest.graph is not None:
        return open_store(settings, graph=published.manifest.graph).open()
    from kg.kuzu_store import KuzuStore

    def kuzu(pool: int) -> Any:
        return KuzuStore(
            published.graph_dir, batch_size=settings.batch_size, read_only=True,
            buffer_pool_bytes=pool,
        ).open()  # fmt: skip

    try:
        return kuzu(SERVE_BUFFER_POOL_BYTES)
    except GraphStoreError as e:  # a graph too big to open with that little cache
        log.warning("the served graph needs Kùzu's default page cache: %s", e)
        return kuzu(0)


def _image_encoder(settings: Settings, layout: IndexLayout) -> Any:
    """The configured image encoder when there is one and the build made an index with it."""
    from encoders.factory import image_encoder, image_encoder_dir
    from retrieval.vector_index import VectorIndex

    directory = image_encoder_dir(settings)
    if directory is None or not VectorIndex.exists(layout.item_image):
        return None

    try:
        return image_encoder(settings, directory)
    except ShopKGError as e:
        log.warning("photo search and the image search channels are off: %s", e)
        return None


def _image_search(layout: IndexLayout, encoder: Any) -> tuple[Any, Any] | None:
    """The image encoder and item-image index (photo search), when the build made them."""
    from retrieval.vector_index import VectorIndex

    if encoder is None:
        return None
    try:
        return encoder, VectorIndex.load(layout.item_image, encoder.encoder_id)
    except ShopKGError as e:
        log.warning("photo search is off: %s", e)
        return None


def _active_overrides(database: Database) -> list[Override]:
    with database.session() as session:
        return overrides.active_overrides(session)


def record_lookup(database: Database) -> Any:
    """key → the item's catalog record (cached; the build replaces the assistant anyway)."""

    @lru_cache(maxsize=4096)
    def lookup(key: str) -> CatalogRecord | None:
        with database.session() as session:
            raw = session.scalars(
                select(SourceRecord.raw)
                .where(SourceRecord.record_key == key, SourceRecord.status == RecordStatus.ACTIVE)
                .order_by(SourceRecord.last_seen.desc())
                .limit(1)
            ).first()
        return CatalogRecord.model_validate(raw) if raw is not None else None

    return lookup
