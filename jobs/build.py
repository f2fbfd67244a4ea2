"""``shopkg build``: catalog → metadata DB → extraction → KG → encoders → indexes → prototypes.

Each step is a :class:`~jobs.runner.Stage` of one job, so a build is recorded with per-stage
counts, resumes after a crash (stages checkpoint; every write is idempotent: upserts keyed by
natural keys, indexes rewritten whole) and is incremental: ingestion skips unchanged records,
and when nothing changed the later stages have nothing to do. Records gone from the catalog
leave the KG and the indexes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from extraction.catalog import CatalogRecord
from extraction.facts import RecordFacts
from jobs.images import ImageStage
from jobs.runner import JobResult, JobRunner, Stage, StageContext
from shopkg.db import Database, RecordStatus, SourceRecord
from shopkg.settings import Settings

WRITE_BATCH = 200


@dataclass(frozen=True)
class BuildPlan:
    """What to build from: a catalog file or directory (or a public data set's layout)."""

    catalog: Path
    name: str
    images: Path | None = None
    data_format: str = "catalog"
    generated: bool = False  # the demo catalog: the UI says its data is generated

    def parameters(self) -> dict[str, Any]:
        return {
            "catalog": str(self.catalog.resolve()),
            "name": self.name,
            "images": str(self.images.resolve()) if self.images else None,
            "format": self.data_format,
            "generated": self.generated,
        }


class BuildContext:
    """What the stages share: settings, the metadata DB, and lazily opened heavy parts."""

    def __init__(self, settings: Settings, database: Database, plan: BuildPlan) -> None:
        self.settings = settings
        self.database = database
        self.plan = plan
        self._text_encoder: Any = None

    def text_encoder(self) -> Any:
        if self._text_encoder is None:
            from encoders.sentence import SentenceTransformerTextEncoder

            self._text_encoder = SentenceTransformerTextEncoder(
                self.settings.text_encoder, device=self.settings.device
            ).load()
        return self._text_encoder

    def store(self) -> Any:
        from kg import open_store

        return open_store(self.settings).open()

    def active_records(self) -> list[CatalogRecord]:
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
        from extraction.ingest import ingest, read_catalog
        from extraction.readers import read_dataset

        plan = self.build.plan
        if plan.data_format == "catalog":
            records = read_catalog(plan.catalog)
        else:
            records = read_dataset(plan.catalog, plan.data_format)
        context.progress.start(None)
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


def _changed(context: StageContext) -> bool:
    ingest = context.results.get("ingest", {})
    return bool(ingest.get("new") or ingest.get("changed") or ingest.get("removed"))


class ExtractStage:
    """Extraction over the catalog, written to the KG; removed records leave the KG.

    Catalog-level facts (concepts, entries, merges) need every record, so when anything
    changed the whole catalog is re-extracted; the writes replace each record's old facts.
    """

    name = "extract"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        if not _changed(context) and "force" not in context.parameters:
            context.progress.start(0)
            return {"records": 0, "note": "nothing changed"}
        from extraction.corpus import extract_catalog
        from extraction.kg_writer import KGWriter
        from extraction.pipeline import build_pipeline

        records = self.build.active_records()
        model_dir = self.build.settings.models_dir / "extractor"
        pipeline = build_pipeline(model_dir=model_dir if model_dir.is_dir() else None)
        context.progress.start(len(records))
        facts = extract_catalog(records, pipeline, self.build.plan.name)
        written_batches = int(context.checkpoint.get("batches", 0))
        corpus = facts.corpus
        # records' facts point at catalog-level nodes (concepts) and entries point at the
        # records' nodes: corpus nodes first, then the records, then the corpus relations
        corpus_nodes = RecordFacts(corpus.source_record, nodes=corpus.nodes)
        corpus_relations = RecordFacts(corpus.source_record, relations=corpus.relations)
        store = self.build.store()
        try:
            writer = KGWriter(store)
            writer.write([corpus_nodes], replace=[corpus.source_record])
            batches = [
                facts.records[start : start + WRITE_BATCH]
                for start in range(0, len(facts.records), WRITE_BATCH)
            ]
            for number, batch in enumerate(batches):
                if number < written_batches:  # written before a crash: the writes are known
                    for item in batch:
                        for node in item.nodes:
                            writer.key_fields(node)
                    continue
                writer.write(batch, replace=[item.source_record for item in batch])
                context.progress.advance(
                    sum(1 for item in batch if item.error is None),
                    failed=sum(1 for item in batch if item.error is not None),
                    checkpoint={"batches": number + 1},
                )
            writer.write([corpus_relations])
            removed = self.build.keys_touched(context.job_id, RecordStatus.REMOVED)
            for key in removed:
                store.delete_facts(source=key)
                item_ref = store.ref("Item", key=key)
                if store.get_node(item_ref) is not None:
                    store.delete_node(item_ref)
            stats = store.stats()
        finally:
            store.close()
        return {
            "records": len(records),
            "failed": facts.report.failed,
            "reasons": dict(facts.report.reasons),
            "merges": len(facts.merges),
            "removed_from_kg": len(removed),
            "nodes": dict(stats.nodes),
            "relations": dict(stats.relations),
        }


def item_text(record: CatalogRecord) -> str:
    """What the dense text channel encodes for an item: title, category, brand, key values."""
    parts = [record.title]
    if record.category:
        parts.append(" > ".join(record.category))
    if record.brand:
        parts.append(record.brand)
    values = [
        f"{name}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for name, v in list(record.attributes.items())[:8]
    ]
    parts.extend(values)
    # the description stays with the keyword channel: short texts encode several times faster
    return ". ".join(parts)


class TextIndexStage:
    """The item-text vector index: encoded titles and key values, updated in place."""

    name = "text_index"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        from retrieval.vector_index import VectorIndex

        directory = self.build.settings.index_dir / "item_text"
        encoder = self.build.text_encoder()
        index = (
            VectorIndex.load(directory, encoder.encoder_id)
            if (directory / "manifest.json").is_file()
            else VectorIndex("item_text", encoder.encoder_id, encoder.dimension)
        )
        records = {record.id: record for record in self.build.active_records()}
        stale = [key for key in index.vectors()[0] if key not in records]
        index.remove(stale)
        todo = [key for key in records if key not in index]
        todo += [
            key
            for key in self.build.keys_touched(context.job_id, RecordStatus.ACTIVE)
            if key in index
        ]
        context.progress.start(len(todo))
        batch = 256
        for start in range(0, len(todo), batch):
            keys = todo[start : start + batch]
            vectors = encoder.encode([item_text(records[k]) for k in keys]).require_all()
            index.update(keys, vectors, encoder.encoder_id)
            context.progress.advance(len(keys))
        index.save(directory)
        return {"encoded": len(todo), "removed": len(stale), "count": len(index)}


class KeywordStage:
    """The BM25 index over item text and the item table search reads hits from."""

    name = "keyword_index"

    def __init__(self, build: BuildContext) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        from retrieval.keyword import KeywordIndex, item_row

        records = self.build.active_records()
        context.progress.start(len(records))
        index = KeywordIndex.build([(r.id, keyword_text(r)) for r in records])
        directory = self.build.settings.index_dir / "keyword"
        index.save(directory)
        rows = [item_row(record) for record in records]
        path = self.build.settings.index_dir / "items.jsonl"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(path)
        context.progress.advance(len(records))
        return {"items": len(records)}


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


def run_build(
    settings: Settings,
    plan: BuildPlan,
    *,
    stream: Any = None,
    interactive: bool | None = None,
    force: bool = False,
) -> JobResult:
    """Run (or resume) the build of ``plan``; returns what each stage did."""
    database = Database(settings.db).connect()
    database.upgrade()
    build = BuildContext(settings, database, plan)
    stages: list[Stage] = [
        IngestStage(build),
        ExtractStage(build),
        TextIndexStage(build),
        ImageStage(build),
        KeywordStage(build),
    ]
    runner = JobRunner(database, settings.data_dir, stream=stream, interactive=interactive)
    parameters = plan.parameters()
    if force:
        parameters["force"] = True
    try:
        return runner.run("build", parameters, stages)
    finally:
        database.close()
