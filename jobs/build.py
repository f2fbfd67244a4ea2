"""``shopkg build``: catalog → metadata DB → extraction → KG → encoders → indexes → prototypes.

Each step is a :class:`~jobs.runner.Stage` of one job, so a build is recorded with per-stage
counts, resumes after a crash (stages checkpoint; every write is idempotent: upserts keyed by
natural keys, indexes rewritten whole) and is incremental: ingestion skips unchanged records,
and when nothing changed the later stages have nothing to do. Records gone from the catalog
leave the KG and the indexes.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from catalog.schema import CatalogRecord, item_text
from extraction.facts import RecordFacts
from extraction.value_taggers import extractor_dir
from foundation.artifacts import ITEM_TEXT, BuildManifest, index_layout
from foundation.db import Database, RecordStatus, SourceRecord
from foundation.errors import ConfigError, JobError
from foundation.files import exposing_root
from foundation.settings import Settings
from jobs.engine import BuildEngine, InProcessEngine
from jobs.extract_cache import PENDING, ExtractionCache, facts_digest, pipeline_fingerprint
from jobs.image_values import ImageValuesStage
from jobs.images import ImageStage
from jobs.overrides import BuildOverrides, OverrideStage
from jobs.publish import publish
from jobs.runner import JobResult, JobRunner, Stage, StageContext
from jobs.text_prefetch import Chunk, TextPrefetch, chunks

if TYPE_CHECKING:
    from extraction.corpus import CatalogFacts

WRITE_BATCH = 1000
CACHE_BATCH = 100  # records extracted between two commits of the extraction cache
CACHE_FILE = "extraction-cache.sqlite"


@dataclass(frozen=True)
class BuildPlan:
    """What to build from: a catalog file or directory (or a public data set's layout)."""

    catalog: Path
    name: str
    images: Path | None = None
    data_format: str = "catalog"
    generated: bool = False  # the demo catalog: the UI says its data is generated

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> BuildPlan:
        """The plan a job's parameters describe (the inverse of :meth:`parameters`)."""
        try:
            images = parameters.get("images")
            return cls(
                catalog=Path(parameters["catalog"]),
                name=str(parameters["name"]),
                images=Path(images) if images else None,
                data_format=str(parameters.get("format", "catalog")),
                generated=bool(parameters.get("generated", False)),
            )
        except KeyError as e:
            raise JobError(f"build job parameters lack {e.args[0]!r}: {parameters}") from e

    def parameters(self) -> dict[str, Any]:
        return {
            "catalog": str(self.catalog.resolve()),
            "name": self.name,
            "images": str(self.images.resolve()) if self.images else None,
            "format": self.data_format,
            "generated": self.generated,
        }


DATE_STAMP = re.compile(r"[-_.]?\d{4}-?\d{2}-?\d{2}(?:[T_-]?\d{2}-?\d{2}(?:-?\d{2})?)?$", re.ASCII)


def catalog_name(
    database: Database, catalog: Path, data_format: str, given: str | None
) -> tuple[str, str | None]:
    """The catalog's name (its records' identity) and a note to print when it was guessed.

    ``given`` (``--name`` or the ``catalog_name`` setting) wins. A public data set is named
    after its format. Otherwise the file's stem without a date stamp; but when the data
    directory holds exactly one catalog, a file of another name is taken as a new export of
    that one (said in the note), and when it holds several, one must be named.
    """
    if given:
        return given, None
    if data_format != "catalog":
        return data_format, None
    stem = catalog.name if catalog.is_dir() else catalog.stem
    guessed = DATE_STAMP.sub("", stem) or stem
    with database.session() as session:
        known = sorted(
            session.scalars(
                select(SourceRecord.catalog)
                .where(SourceRecord.status != RecordStatus.REMOVED)
                .distinct()
            )
        )
    if not known or guessed in known:
        return guessed, None
    if len(known) == 1:
        note = (
            f"note: {catalog.name} is taken as a new export of catalog {known[0]!r}, the only "
            f"one in this data directory (records gone from it are removed); to build it as "
            f"a separate catalog, pass --name"
        )
        return known[0], note
    raise JobError(
        f"this data directory holds the catalogs {', '.join(map(repr, known))} and none is "
        f"named {guessed!r}: say which one {catalog.name} is with --name NAME (or the "
        "catalog_name setting)"
    )


class BuildContext:
    """What the stages share: settings, the metadata DB, and lazily opened heavy parts."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        plan: BuildPlan,
        engine: BuildEngine | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.plan = plan
        self.engine: BuildEngine = engine or InProcessEngine()  # where per-record work runs
        self._text_encoder: Any = None
        self._text_encoder_lock = threading.Lock()
        self._prefetch: TextPrefetch | None = None
        self._planned_text_work: TextWork | None = None  # set by the prefetch thread
        self._records: list[CatalogRecord] | None = None
        self._records_lock = threading.Lock()  # the prefetch thread reads them too
        self._store: Any = None
        self.overrides = BuildOverrides(database)  # admin overrides (jobs/overrides.py)

    def text_encoder(self) -> Any:
        with self._text_encoder_lock:  # the prefetch thread may load it
            if self._text_encoder is None:
                from encoders.factory import text_encoder

                self._text_encoder = text_encoder(self.settings)
            return self._text_encoder

    def text_work(self, job_id: int) -> TextWork:
        """What the text index stage has to do: its index, the records, and the keys to
        remove and to (re-)encode, in the order it encodes them."""
        from retrieval.vector_index import VectorIndex

        directory = index_layout(self.settings).item_text
        encoder = self.text_encoder()
        index = (
            VectorIndex.load(directory, encoder.encoder_id)
            if VectorIndex.exists(directory)
            else VectorIndex(ITEM_TEXT, encoder.encoder_id, encoder.dimension)
        )
        records = {record.id: record for record in self.indexed_records()}
        stale = [key for key in index.live_keys() if key not in records]
        todo = [key for key in records if key not in index]
        touched = {*self.keys_touched(job_id, RecordStatus.ACTIVE), *self.overrides.reencode()}
        todo += [key for key in sorted(touched) if key in index and key in records]
        return TextWork(directory, index, records, stale, todo)

    def start_text_prefetch(self, job_id: int) -> None:
        """Encode the text index stage's chunks in the background (see jobs.text_prefetch)."""
        self.take_text_prefetch()
        if not self.engine.overlaps_text_encoding:
            return  # the engine's workers encode the texts in the text index stage
        from encoders.device import resolve_device

        if resolve_device(self.settings.device) != "cpu":
            return  # a GPU encodes the texts faster than extraction could hide

        def plan() -> list[Chunk]:
            work = self._planned_text_work = self.text_work(job_id)
            return chunks(work.todo, [item_text(work.records[key]) for key in work.todo])

        self._prefetch = TextPrefetch(self.text_encoder, plan).start()

    def take_text_prefetch(self) -> tuple[dict[Chunk, Any], TextWork | None]:
        """Stop the background encoding: the chunks it finished, by (keys, texts), and the
        text index stage's work as it planned it (None when it did not get that far)."""
        prefetch, self._prefetch = self._prefetch, None
        done = prefetch.take() if prefetch is not None else {}
        work, self._planned_text_work = self._planned_text_work, None
        return done, work

    def open_graph(self) -> Any:
        """Open the graph store and hold it for the whole build. Done before anything is
        written: a build that cannot have the graph (Kùzu: another process holds it) must
        fail before ingestion saves a catalog whose graph and indexes it cannot make."""
        if self._store is None:
            from kg import open_store

            self._store = open_store(self.settings).open()
        return self._store

    def store(self) -> Any:
        """The build's graph store (held open by the build; stages do not close it)."""
        return self.open_graph()

    def close_graph(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def active_records(self) -> list[CatalogRecord]:
        """The catalog's active records, in key order: read once per build after ingestion
        (only ingestion changes them; each later stage reading 100k records again cost
        ~100k validations)."""
        with self._records_lock:
            if self._records is None:
                self._records = self._read_active_records()
            return self._records

    def indexed_records(self) -> list[CatalogRecord]:
        """The active records as the indexes hold them: admin overrides applied."""
        return self.overrides.indexed(self.active_records())

    def forget_records(self) -> None:
        """Ingestion is changing the records: the next reading is a fresh one."""
        with self._records_lock:
            self._records = None

    def _read_active_records(self) -> list[CatalogRecord]:
        with self.database.session() as session:
            raws = session.scalars(
                select(SourceRecord.raw)
                .where(
                    SourceRecord.catalog == self.plan.name,
                    SourceRecord.status == RecordStatus.ACTIVE,
                )
                .order_by(SourceRecord.record_key)
            ).all()
        return [CatalogRecord.model_validate(raw) for raw in raws]

    def active_hashes(self) -> dict[str, str]:
        """Record key → content hash of the catalog's active records, in key order."""
        with self.database.session() as session:
            rows = session.execute(
                select(SourceRecord.record_key, SourceRecord.content_hash)
                .where(
                    SourceRecord.catalog == self.plan.name,
                    SourceRecord.status == RecordStatus.ACTIVE,
                )
                .order_by(SourceRecord.record_key)
            ).all()
        return dict(rows)

    def records(self, keys: list[str]) -> list[CatalogRecord]:
        """The stored records with these keys, in the order given."""
        from catalog.ingest import load_records

        found = {r.id: r for r in load_records(self.database, self.plan.name, keys)}
        return [found[key] for key in keys]

    def rewritten(self, job_id: int) -> set[str]:
        """Records whose KG facts job ``job_id`` replaced (new, changed, or changed by
        catalog-level mining): later stages put back what they add to those records."""
        cache_file = self.settings.data_dir / CACHE_FILE
        if not cache_file.is_file():
            return set()
        with ExtractionCache(cache_file, self.plan.name, self.settings.graph) as cache:
            return cache.written_by(job_id)

    def keys_touched(self, job_id: int, status: RecordStatus) -> list[str]:
        """Records this job (re)loaded (``ACTIVE``) or found gone (``REMOVED``)."""
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(SourceRecord.record_key)
                    .where(
                        SourceRecord.catalog == self.plan.name,
                        SourceRecord.last_job_id == job_id,
                        SourceRecord.status == status,
                    )
                    .order_by(SourceRecord.record_key)
                )
            )


class IngestStage:
    name = "ingest"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        from catalog.ingest import ingest, read_catalog
        from catalog.readers import read_dataset

        plan = self.build.plan
        if plan.data_format == "catalog":
            records = read_catalog(plan.catalog)
        else:
            records = read_dataset(plan.catalog, plan.data_format)
        context.progress.start(None)
        self.build.forget_records()
        report = ingest(
            self.build.database,
            plan.name,
            records,
            job_id=context.job_id,
            image_root=plan.images,
            batch_size=self.build.settings.batch_size,
        )
        context.progress.advance(
            report.new + report.changed, skipped=report.unchanged, failed=report.quarantined
        )
        return report.summary()


class ExtractStage:
    """Extraction over the catalog, written to the KG; removed records leave the KG.

    Incremental (see :mod:`jobs.extract_cache`): the pipeline runs on records that are new,
    changed, or were extracted by another pipeline version; the others' facts come from the
    cache. Catalog-level mining runs over all of them, and only records whose final facts
    differ from what the graph holds are rewritten (their old facts replaced). A crash loses
    at most the last uncommitted batch of either kind.
    """

    name = "extract"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        self.build.start_text_prefetch(context.job_id)
        try:
            return self._run(context)
        except BaseException:
            self.build.take_text_prefetch()  # the job stops here: so does the encoding
            raise

    def _run(self, context: StageContext) -> dict[str, Any]:
        from extraction.corpus import mine_catalog

        settings = self.build.settings
        force = bool(context.parameters.get("force"))
        model = extractor_dir(settings.models_dir)
        hashes = self.build.active_hashes()
        removed = self.build.keys_touched(context.job_id, RecordStatus.REMOVED)
        cache = ExtractionCache(
            settings.data_dir / CACHE_FILE,
            self.build.plan.name,
            settings.graph,
            pipeline_fingerprint(model),
        )
        store = self.build.store()
        try:
            if force:  # everything again, bar what this job did before a crash
                fresh = {k: v for k, v in cache.fresh(hashes).items() if v[0] == context.job_id}
                if not fresh:
                    cache.forget_written()
            else:
                fresh = cache.fresh(hashes)
                if cache.written() and not store.stats().nodes.get("Item"):
                    cache.forget_written()  # the graph store was emptied or replaced
            # records extracted by this job before a crash count as done, not skipped
            mine = [failed for job, failed in fresh.values() if job == context.job_id]
            context.progress.start(
                len(hashes),
                counts=(mine.count(False), len(fresh) - len(mine), mine.count(True)),
            )
            stale = [key for key in hashes if key not in fresh]
            self.build.overrides.reopen_removed(cache, context.job_id)
            written = cache.written()  # extraction below leaves this table alone
            everything = {*hashes, _corpus_key(self.build.plan.name)}
            done = {key for key, digest in written.items() if digest != PENDING}
            if not stale and not removed and everything <= done:
                return {"records": 0, "note": "nothing changed"}
            self._extract(context, cache, stale, hashes, model)
            cached = cache.load(hashes)
            facts = mine_catalog([cached[key] for key in hashes], self.build.plan.name)
            outcome = self._write(context, store, cache, written, facts, removed)
            stats = store.stats()
        finally:
            cache.close()
        return {
            **self.build.engine.describe(),
            "records": len(hashes),
            "extracted": len(stale),
            "reused": len(hashes) - len(stale),
            "failed": facts.report.failed,
            "reasons": dict(facts.report.reasons),
            "merges": len(facts.merges),
            **outcome,
            "nodes": dict(stats.nodes),
            "relations": dict(stats.relations),
        }

    def _extract(
        self,
        context: StageContext,
        cache: ExtractionCache,
        keys: list[str],
        hashes: dict[str, str],
        model: Path | None,
    ) -> None:
        """Run the pipeline on ``keys`` and cache what it gives, a batch at a time."""
        engine = self.build.engine
        batches = engine.extract(self.build.settings, self.build.records, keys, model, CACHE_BATCH)
        for records, extracted in batches:
            cache.store(
                [(r.id, hashes[r.id], f) for r, f in zip(records, extracted, strict=True)],
                context.job_id,
            )
            failed = sum(1 for f in extracted if f.error is not None)
            context.progress.advance(len(extracted) - failed, failed=failed)

    def _write(
        self,
        context: StageContext,
        store: Any,
        cache: ExtractionCache,
        written: dict[str, str],
        facts: CatalogFacts,
        removed: list[str],
    ) -> dict[str, int]:
        """Write what differs from the graph (``written``: record → digest it holds): the
        catalog's facts, then changed records."""
        from extraction.kg_writer import KGWriter

        corpus = facts.corpus
        corpus_key = _corpus_key(self.build.plan.name)
        corpus_digest = facts_digest(corpus)
        corpus_changed = written.get(corpus_key) != corpus_digest
        digests = {f.source_record: facts_digest(f) for f in facts.records}
        todo = [
            f for f in facts.records if written.get(f.source_record) != digests[f.source_record]
        ]
        # a record the graph never got has nothing to replace: deleting "its" facts would
        # cost a scan of the graph for nothing. Without any record of what was written (a
        # deleted cache beside a filled graph) every record is replaced, to be safe.
        unknown = not written and bool(store.stats().nodes.get("Item"))
        writer = KGWriter(store)
        for item in facts.records:  # relations resolve nodes by the key fields seen so far
            for node in item.nodes:
                writer.key_fields(node)
        # records' facts point at catalog-level nodes (concepts) and entries point at the
        # records' nodes: corpus nodes first, then the records, then the corpus relations
        if corpus_changed:
            nodes_only = RecordFacts(corpus.source_record, nodes=corpus.nodes)
            writer.write([nodes_only], replace=[corpus.source_record])
        for start in range(0, len(todo), WRITE_BATCH):
            batch = todo[start : start + WRITE_BATCH]
            replace = [i.source_record for i in batch if unknown or i.source_record in written]
            # write-ahead: a crash after the KG commit and before the digests below leaves
            # these records marked, so a rerun replaces them rather than taking them as new
            cache.mark_written({item.source_record: PENDING for item in batch}, context.job_id)
            new = [i.source_record for i in batch if not unknown and i.source_record not in written]
            writer.write(batch, replace=replace, new=new)
            cache.mark_written(
                {item.source_record: digests[item.source_record] for item in batch},
                context.job_id,
            )
        if corpus_changed:  # its facts were deleted above: nothing of it is stored
            corpus_facts = RecordFacts(corpus.source_record, relations=corpus.relations)
            writer.write([corpus_facts], new=[corpus.source_record])
            cache.mark_written({corpus_key: corpus_digest}, context.job_id)
        store.delete_facts(sources=removed)
        for key in removed:
            item_ref = store.ref("Item", key=key)
            if store.get_node(item_ref) is not None:
                store.delete_node(item_ref)
        cache.remove(removed)
        return {
            "written": len(todo),
            "catalog_facts_written": int(corpus_changed),
            "removed_from_kg": len(removed),
        }


def _corpus_key(catalog: str) -> str:
    return f"catalog:{catalog}"


@dataclass
class TextWork:
    directory: Path
    index: Any  # retrieval.vector_index.VectorIndex
    records: dict[str, CatalogRecord]
    stale: list[str]
    todo: list[str]


class TextIndexStage:
    """The item-text vector index: encoded titles and key values, updated in place. The
    chunks encoded while extraction ran (:mod:`jobs.text_prefetch`) are taken as they are."""

    name = "text_index"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        prefetched, planned = self.build.take_text_prefetch()
        encoder = self.build.text_encoder()
        # nothing writes the index or the records between extraction and here: the
        # prefetch's reading of them (index, records, keys to encode) is this stage's
        work = planned or self.build.text_work(context.job_id)
        index = work.index
        index.remove(work.stale)
        context.progress.start(len(work.todo))
        texts = [item_text(work.records[key]) for key in work.todo]
        ahead = 0
        todo = chunks(work.todo, texts)
        engine = self.build.engine
        missing = [chunk for chunk in todo if chunk not in prefetched]
        encoded = engine.encode_texts(self.build.settings, self.build.text_encoder, missing)
        for chunk in todo:
            vectors = prefetched.get(chunk)
            if vectors is None:
                vectors = next(encoded)
            else:
                ahead += len(chunk[0])
            index.update(list(chunk[0]), vectors, encoder.encoder_id)
            context.progress.advance(len(chunk[0]))
        index.save(work.directory)
        return {
            **engine.describe(),
            "encoded": len(work.todo),
            "precision": encoder.precision,  # bf16 batches on a CPU with AMX, see encoders
            "encoded_during_extraction": ahead,
            "removed": len(work.stale),
            "count": len(index),
        }


class KeywordStage:
    """The BM25 index over item text, the item table search reads hits from, and the graph
    channel's postings (each KG node's linked items, see :mod:`retrieval.graph_postings`)."""

    name = "keyword_index"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        from retrieval.keyword import KeywordIndex, item_row

        records = self.build.indexed_records()
        context.progress.start(len(records))
        index = KeywordIndex.build([(r.id, keyword_text(r)) for r in records])
        layout = index_layout(self.build.settings)
        index.save(layout.keyword)
        rows = [item_row(record) for record in records]
        path = layout.items
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(path)
        # the graph channel's item lists per KG node, so search need not ask the store
        from retrieval.graph_postings import compute_postings, save_postings

        postings = compute_postings(self.build.store())
        save_postings(postings, self.build.settings.index_dir)
        context.progress.advance(len(records))
        return {"items": len(records), "graph_postings": sum(map(len, postings.values()))}


def keyword_text(record: CatalogRecord) -> str:
    """Everything a shopper's words might match: title, text, attributes, category, brand."""
    attributes = " ".join(
        f"{name} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for name, v in record.attributes.items()
    )
    return " ".join(
        [
            record.title,
            record.title,  # the title counts twice
            record.brand or "",
            " ".join(record.category),
            attributes,
            record.description,
            " ".join(record.bullets),
        ]
    )


def check_image_root(settings: Settings, images: Path | None) -> None:
    """Refuse an image directory that holds the data directory (or the metadata DB): the web
    app serves catalog images from it, and must never be a way to reach the secret key."""
    if images is None:
        return
    exposed = exposing_root(images, settings)
    if exposed is not None:
        raise ConfigError(
            f"the image directory {images.resolve()} contains ShopKG's private data at "
            f"{exposed}; keep the images in a directory of their own, or move the data "
            "directory (SHOPKG_DATA_DIR) outside it"
        )


ENGINES = ("in-process", "ray")


def make_engine(
    name: str, *, address: str | None = None, workers: int | None = None
) -> BuildEngine:
    """The engine called ``name``: ``in-process`` or ``ray`` (``address``: a Ray cluster,
    ``auto`` or ``ray://HOST:10001``, default a local one; ``workers``: actors per stage)."""
    if name == "in-process":
        return InProcessEngine()
    if name == "ray":
        from jobs.ray_engine import RayEngine, RayOptions

        return RayEngine(RayOptions(address=address, workers=workers))
    raise ConfigError(f"unknown build engine {name!r}; use one of {', '.join(ENGINES)}")


def run_build(
    settings: Settings,
    plan: BuildPlan,
    *,
    stream: Any = None,
    interactive: bool | None = None,
    force: bool = False,
    job_id: int | None = None,
    engine: BuildEngine | None = None,
) -> JobResult:
    """Run (or resume) the build of ``plan``; returns what each stage did. ``job_id`` runs
    that queued job (see :mod:`jobs.worker`). ``engine`` runs the per-record work (default
    in this process, see :mod:`jobs.engine`); the build closes it when it ends. The engine is
    not one of the job's parameters: a job begun on one engine resumes on either."""
    check_image_root(settings, plan.images)
    database = Database(settings.db).connect()
    build = BuildContext(settings, database, plan, engine)
    try:
        build.open_graph()  # before anything is saved: see BuildContext.open_graph
    except BaseException:
        database.close()
        build.engine.close()
        raise
    database.upgrade()
    stages: list[Stage] = [
        IngestStage(build),
        ExtractStage(build),
        OverrideStage(build),
        TextIndexStage(build),
        ImageStage(build),
        ImageValuesStage(build),
        KeywordStage(build),
    ]
    runner = JobRunner(database, settings.data_dir, stream=stream, interactive=interactive)
    parameters = plan.parameters()
    if force:
        parameters["force"] = True
    try:
        result = runner.run("build", parameters, stages, job_id=job_id)
        manifest = BuildManifest.of_job(result.job_id, parameters)
        manifest.write(settings.data_dir)
        publish(settings, build.store(), build.active_records(), manifest)
        return result
    finally:
        build.take_text_prefetch()
        build.engine.close()
        build.close_graph()
        database.close()
