"""Catalog ingestion: read JSONL/CSV, validate each record, keep hashes, quarantine the bad.

Reading yields :class:`RawRecord` (what was on a line or row, where it was, and why it could
not be parsed, if so). :func:`ingest` validates records against :class:`CatalogRecord`,
compares content hashes with the metadata database so unchanged records are skipped on a
rebuild, marks records gone from the catalog as removed, and quarantines every bad record with
the reason. The counts reconcile: ``read == new + changed + unchanged + quarantined``.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.schema import CSV_FORMS, REQUIRED_COLUMNS, CatalogRecord, explain
from foundation.db import Database, RecordStatus, SourceRecord, jobs
from foundation.db.models import utcnow
from foundation.errors import IngestError

CATALOG_SUFFIXES = (".jsonl", ".ndjson", ".csv")
MAX_LINE_BYTES = 8 << 20


@dataclass(frozen=True)
class RawRecord:
    """One record as read: its location (``file:line``), its text and its parsed object."""

    location: str
    text: str
    data: dict[str, Any] | None
    error: str | None = None


@dataclass
class IngestReport:
    """What one ingestion did; ``read`` always equals the sum of the four outcomes."""

    catalog: str
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    removed: int = 0
    missing_images: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return self.read == self.new + self.changed + self.unchanged + self.quarantined

    def summary(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog,
            "read": self.read,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "removed": self.removed,
            "missing_images": self.missing_images,
            "reasons": dict(self.reasons.most_common()),
        }


def read_catalog(path: Path) -> Iterator[RawRecord]:
    """Records of a ``.jsonl``/``.ndjson``/``.csv`` file, or of every such file in a directory."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in CATALOG_SUFFIXES)
        if not files:
            kinds = "/".join(CATALOG_SUFFIXES)
            raise IngestError(f"catalog directory {path} holds no {kinds} files")
        for file in files:
            yield from read_catalog(file)
        return
    if not path.is_file():
        raise IngestError(f"catalog {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(path)
    elif suffix == ".csv":
        yield from _read_csv(path)
    else:
        raise IngestError(
            f"catalog file {path} has an unsupported type {suffix!r}; use .jsonl or .csv"
        )


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            location = f"{path}:{number}"
            if not line.strip():
                continue
            if len(line) > MAX_LINE_BYTES:
                yield RawRecord(
                    location,
                    line[:2000].decode("utf-8", "replace"),
                    None,
                    f"line has {len(line):,} bytes; the limit is {MAX_LINE_BYTES:,}",
                )
                continue
            try:
                text = line.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                yield RawRecord(
                    location,
                    line.decode("utf-8", "replace"),
                    None,
                    f"not valid UTF-8 at byte {e.start}",
                )
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                reason = f"not valid JSON: {e.msg} at column {e.colno}"
                yield RawRecord(location, text, None, reason)
                continue
            if not isinstance(data, dict):
                yield RawRecord(
                    location,
                    text,
                    None,
                    f"a record must be a JSON object, not {type(data).__name__}",
                )
                continue
            yield RawRecord(location, text, data)


def _read_csv(path: Path) -> Iterator[RawRecord]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None:
                return
            _check_header(path, reader.fieldnames)
            for row in reader:
                location = f"{path}:{reader.line_num}"
                text = json.dumps(row, ensure_ascii=False)
                if None in row:
                    yield RawRecord(location, text, None, "row has more cells than the header")
                    continue
                try:
                    yield RawRecord(location, text, _decode_csv_row(row))
                except ValueError as e:
                    yield RawRecord(location, text, None, str(e))
    except UnicodeDecodeError as e:
        raise IngestError(f"catalog {path} is not valid UTF-8 (byte {e.start})") from e


def _check_header(path: Path, columns: Sequence[str]) -> None:
    """Refuse a CSV whose header cannot describe records (``sku,name,cost``) before reading
    any row: otherwise every row is quarantined and the job "succeeds" with no items."""
    known = set(CatalogRecord.model_fields)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in known]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"lacks the column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"has unknown column(s) {', '.join(repr(c) for c in unknown)}")
        raise IngestError(
            f"catalog {path}: the CSV header {' and '.join(problems)}; "
            f"the columns are {', '.join(CatalogRecord.model_fields)} (id and title required; "
            "see catalog/schema.py)"
        )


def _decode_csv_row(row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column, cell in row.items():
        value = (cell or "").strip()
        if not value:
            continue
        if column in ("bullets", "images", "category", "attributes", "reviews", "qa") and (
            value.startswith(("[", "{"))
        ):
            try:
                data[column] = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"column {column!r} is not valid JSON: {e.msg}") from e
        elif column in CSV_FORMS:
            data[column] = [part.strip() for part in value.split(CSV_FORMS[column].strip())]
        else:
            data[column] = value
    return data


def ingest(
    database: Database,
    catalog: str,
    records: Iterable[RawRecord],
    *,
    job_id: int | None = None,
    image_root: Path | None = None,
    remove_missing: bool = True,
    batch_size: int = 1000,
) -> IngestReport:
    """Validate and store ``records`` as catalog ``catalog``; see the module docstring.

    ``remove_missing`` marks records of this catalog that were not read this time as removed
    (a full catalog); turn it off when ingesting a partial update.
    """
    report = IngestReport(catalog)
    with database.session() as session:
        known = {
            key: (row_id, digest, status)
            for row_id, key, digest, status in session.execute(
                select(
                    SourceRecord.id,
                    SourceRecord.record_key,
                    SourceRecord.content_hash,
                    SourceRecord.status,
                ).where(SourceRecord.catalog == catalog)
            )
        }
    seen: dict[str, str] = {}  # record key → where it was first read
    pending: list[RawRecord] = []
    for raw in records:
        report.read += 1
        pending.append(raw)
        if len(pending) >= batch_size:
            _ingest_batch(database, catalog, pending, known, seen, report, job_id, image_root)
            pending = []
    if pending:
        _ingest_batch(database, catalog, pending, known, seen, report, job_id, image_root)
    with database.session() as session:
        if remove_missing:
            gone = [
                (key, row_id)
                for key, (row_id, _, status) in known.items()
                if key not in seen and status != RecordStatus.REMOVED
            ]
            for start in range(0, len(gone), batch_size):
                chunk = gone[start : start + batch_size]
                session.execute(
                    update(SourceRecord)
                    .where(SourceRecord.id.in_([row_id for _, row_id in chunk]))
                    .values(status=RecordStatus.REMOVED, last_job_id=job_id)
                )
            report.removed = len(gone)
            report.removed_keys = sorted(key for key, _ in gone)
    if not report.reconciles:  # pragma: no cover - a bug, never bad input
        raise IngestError(f"ingestion counts do not reconcile: {report.summary()}")
    return report


def _ingest_batch(
    database: Database,
    catalog: str,
    batch: list[RawRecord],
    known: dict[str, tuple[int, str, str]],
    seen: dict[str, str],
    report: IngestReport,
    job_id: int | None,
    image_root: Path | None,
) -> None:
    now = utcnow()
    unchanged: list[int] = []  # rows only seen again: one UPDATE for the batch, not one each
    with database.session() as session:
        for raw in batch:
            reason, record = _validate(raw)
            key = _key_of(raw, record)
            if record is not None and key in seen:
                reason, record = f"duplicate id {key!r}; first read at {seen[key]}", None
            elif key is not None and key not in seen:
                seen[key] = raw.location
            if record is None:
                _quarantine(session, report, catalog, raw, key, reason or "invalid", job_id)
                if key in known and reason is not None and not reason.startswith("duplicate"):
                    session.execute(
                        update(SourceRecord)
                        .where(SourceRecord.id == known[key][0])
                        .values(status=RecordStatus.QUARANTINED, last_seen=now, last_job_id=job_id)
                    )
                continue
            assert key is not None
            if image_root is not None:
                _check_images(session, report, catalog, record, image_root, job_id)
            digest = record.content_hash()
            previous = known.get(key)
            if previous is None:
                session.add(
                    SourceRecord(
                        catalog=catalog,
                        record_key=key,
                        raw=record.model_dump(mode="json"),
                        content_hash=digest,
                        status=RecordStatus.ACTIVE,
                        first_seen=now,
                        last_seen=now,
                        last_job_id=job_id,
                    )
                )
                report.new += 1
                report.changed_keys.append(key)
            elif previous[1] == digest and previous[2] == RecordStatus.ACTIVE:
                report.unchanged += 1
                unchanged.append(previous[0])
            else:
                session.execute(
                    update(SourceRecord)
                    .where(SourceRecord.id == previous[0])
                    .values(
                        raw=record.model_dump(mode="json"),
                        content_hash=digest,
                        status=RecordStatus.ACTIVE,
                        last_seen=now,
                        last_job_id=job_id,
                    )
                )
                report.changed += 1
                report.changed_keys.append(key)
        for start in range(0, len(unchanged), 1000):  # well under SQLite's bound parameters
            rows = unchanged[start : start + 1000]
            session.execute(
                update(SourceRecord).where(SourceRecord.id.in_(rows)).values(last_seen=now)
            )


def _validate(raw: RawRecord) -> tuple[str | None, CatalogRecord | None]:
    if raw.error is not None or raw.data is None:
        return raw.error or "unreadable record", None
    try:
        return None, CatalogRecord.model_validate(raw.data)
    except ValidationError as e:
        return explain(e), None


def _key_of(raw: RawRecord, record: CatalogRecord | None) -> str | None:
    if record is not None:
        return record.id
    if raw.data is not None:
        value = raw.data.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:400]
    return None


def _quarantine(
    session: Session,
    report: IngestReport,
    catalog: str,
    raw: RawRecord,
    key: str | None,
    reason: str,
    job_id: int | None,
) -> None:
    report.quarantined += 1
    report.reasons[_reason_kind(reason)] += 1
    jobs.quarantine(
        session,
        job_id=job_id,
        catalog=catalog,
        location=raw.location,
        stage_name="ingest",
        reason=reason,
        raw=raw.text,
        record_key=key,
    )


def _check_images(
    session: Session,
    report: IngestReport,
    catalog: str,
    record: CatalogRecord,
    root: Path,
    job_id: int | None,
) -> None:
    for relative in record.images:
        if not (root / relative).is_file():
            report.missing_images += 1
            report.reasons["image file not found"] += 1
            jobs.quarantine(
                session,
                job_id=job_id,
                catalog=catalog,
                location=str(root / relative),
                stage_name="ingest",
                reason=f"image file not found: {relative}",
                raw=relative,
                record_key=record.id,
            )


def _reason_kind(reason: str) -> str:
    """The reason without the record's particulars, for counting."""
    head = reason.split(";")[0]
    if head.startswith("duplicate id"):
        return "duplicate id"
    head = re.sub(r"\s+at (?:line \d+ )?(?:column|byte) \d+", "", head)
    return re.sub(r"'[^']*'", "…", head)[:120]


def load_records(database: Database, catalog: str, keys: Iterable[str]) -> Iterator[CatalogRecord]:
    """The stored, validated records of ``catalog`` with these keys (for later stages)."""
    wanted = list(keys)
    with database.session() as session:
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            query = select(SourceRecord.raw).where(
                SourceRecord.catalog == catalog, SourceRecord.record_key.in_(chunk)
            )
            for raw in session.scalars(query):
                yield CatalogRecord.model_validate(raw)
