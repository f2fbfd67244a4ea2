"""Recording batch jobs: stages with progress counters and checkpoints, quarantined records.

The job runner writes through these functions so the CLI, the admin dashboard and a resumed
run all read the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundation.db.models import BuildJob, JobStage, JobStatus, QuarantinedRecord, as_utc, utcnow
from foundation.errors import JobError, NotFoundError

MAX_RAW_CHARS = 100_000


def create_job(
    session: Session, kind: str, parameters: dict[str, Any], stages: Sequence[str]
) -> BuildJob:
    """A new pending job with its stages in order."""
    if len(set(stages)) != len(stages):
        raise JobError(f"job {kind!r} names a stage twice: {list(stages)}")
    job = BuildJob(kind=kind, parameters=parameters, status=JobStatus.PENDING)
    job.stages = [JobStage(name=name, position=i) for i, name in enumerate(stages)]
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> BuildJob:
    job = session.get(BuildJob, job_id)
    if job is None:
        raise NotFoundError(f"no build job {job_id}")
    return job


def start_job(job: BuildJob) -> None:
    job.status = JobStatus.RUNNING
    job.started_at = job.started_at or utcnow()
    job.heartbeat_at = utcnow()
    job.error = None


def finish_job(job: BuildJob, summary: dict[str, Any] | None = None) -> None:
    job.status = JobStatus.SUCCEEDED
    job.finished_at = utcnow()
    job.summary = summary or {}


def fail_job(job: BuildJob, error: str, *, interrupted: bool = False) -> None:
    job.status = JobStatus.INTERRUPTED if interrupted else JobStatus.FAILED
    job.finished_at = utcnow()
    job.error = error


def stage(job: BuildJob, name: str) -> JobStage:
    for candidate in job.stages:
        if candidate.name == name:
            return candidate
    raise JobError(f"job {job.id} has no stage {name!r}; stages: {[s.name for s in job.stages]}")


def start_stage(
    job: BuildJob,
    name: str,
    total: int | None = None,
    counts: tuple[int, int, int] | None = None,
) -> JobStage:
    """Mark a stage running; ``counts`` (done, skipped, failed) replace its counters."""
    current = stage(job, name)
    current.status = JobStatus.RUNNING
    current.started_at = current.started_at or utcnow()
    if total is not None:
        current.total = total
    if counts is not None:
        current.done, current.skipped, current.failed = counts
    job.heartbeat_at = utcnow()
    return current


def advance_stage(
    job: BuildJob,
    name: str,
    *,
    done: int = 0,
    skipped: int = 0,
    failed: int = 0,
    checkpoint: dict[str, Any] | None = None,
) -> JobStage:
    """Add to a stage's counters and, when given, replace its checkpoint."""
    current = stage(job, name)
    current.done += done
    current.skipped += skipped
    current.failed += failed
    if checkpoint is not None:
        current.checkpoint = checkpoint
    job.heartbeat_at = utcnow()
    return current


def finish_stage(job: BuildJob, name: str) -> JobStage:
    current = stage(job, name)
    current.status = JobStatus.SUCCEEDED
    current.finished_at = utcnow()
    if current.started_at is not None:
        current.seconds = (as_utc(current.finished_at) - as_utc(current.started_at)).total_seconds()
    return current


def quarantine(
    session: Session,
    *,
    job_id: int | None,
    catalog: str,
    location: str,
    stage_name: str,
    reason: str,
    raw: str,
    record_key: str | None = None,
) -> QuarantinedRecord:
    """Put a bad record aside with the reason; very long raw text is cut (and says so)."""
    if len(raw) > MAX_RAW_CHARS:
        raw = raw[:MAX_RAW_CHARS] + f"… [cut: {len(raw)} characters in all]"
    record = QuarantinedRecord(
        job_id=job_id,
        catalog=catalog,
        record_key=record_key,
        location=location,
        stage=stage_name,
        reason=reason,
        raw=raw,
    )
    session.add(record)
    return record


def quarantined(session: Session, job_id: int, *, limit: int = 1000) -> list[QuarantinedRecord]:
    query = (
        select(QuarantinedRecord)
        .where(QuarantinedRecord.job_id == job_id)
        .order_by(QuarantinedRecord.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def quarantine_count(session: Session, job_id: int) -> int:
    query = (
        select(func.count())
        .select_from(QuarantinedRecord)
        .where(QuarantinedRecord.job_id == job_id)
    )
    return int(session.scalar(query) or 0)


def recent_jobs(session: Session, *, limit: int = 20, kind: str | None = None) -> list[BuildJob]:
    query = select(BuildJob).order_by(BuildJob.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(BuildJob.kind == kind)
    return list(session.scalars(query))
