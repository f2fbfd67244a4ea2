"""Admin API for the jobs dashboard: builds with per-stage progress, quarantined records, and
re-run requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundation.db import BuildJob, JobStage, QuarantinedRecord, accounts, jobs
from webapp.api import api_admin, registry
from webapp.api.schemas import (
    JobOut,
    JobsPage,
    JobsQuery,
    PageQuery,
    QuarantinedOut,
    QuarantinePage,
    RerunOut,
    StageOut,
)
from webapp.services import services

RAW_SHOWN = 2_000
RERUN_HOOK = "SHOPKG_RERUN_HOOK"


def _stage_out(stage: JobStage) -> StageOut:
    progress = None
    if stage.total:
        progress = min(1.0, (stage.done + stage.skipped + stage.failed) / stage.total)
    elif stage.status == "succeeded":
        progress = 1.0
    return StageOut(
        name=stage.name,
        position=stage.position,
        status=stage.status,
        total=stage.total,
        done=stage.done,
        skipped=stage.skipped,
        failed=stage.failed,
        seconds=stage.seconds,
        progress=progress,
    )


def job_out(session: Session, job: BuildJob) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        parameters=job.parameters,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        seconds=job.seconds,
        error=job.error,
        summary=job.summary,
        stages=[_stage_out(s) for s in job.stages],
        quarantined=jobs.quarantine_count(session, job.id),
    )


@registry.route(
    api_admin, "/jobs", "GET", summary="Build jobs, newest first", tag="jobs",
    response=JobsPage, query=JobsQuery, admin=True,
)  # fmt: skip
def list_jobs(actor: str, query: JobsQuery) -> JobsPage:
    where = [BuildJob.status == query.status] if query.status else []
    with services().database.session() as db:
        total = int(db.scalar(select(func.count()).select_from(BuildJob).where(*where)) or 0)
        rows = db.scalars(
            select(BuildJob)
            .where(*where)
            .order_by(BuildJob.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        found = [job_out(db, job) for job in rows]
    end = query.offset + len(found)
    return JobsPage(
        jobs=found,
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_offset=end if end < total else None,
    )


def _job_id(raw: str) -> int:
    from foundation.errors import NotFoundError

    # ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise NotFoundError(f"no build job {raw!r}")
    return int(raw)


@registry.route(
    api_admin, "/jobs/<job_id>", "GET", summary="One build job with its stages", tag="jobs",
    response=JobOut, admin=True, errors=(404,),
)  # fmt: skip
def get_job(actor: str, job_id: str) -> JobOut:
    with services().database.session() as db:
        return job_out(db, jobs.get_job(db, _job_id(job_id)))


@registry.route(
    api_admin, "/jobs/<job_id>/quarantine", "GET", summary="Records a job put aside, with reasons",
    tag="jobs", response=QuarantinePage, query=PageQuery, admin=True, errors=(404,),
)  # fmt: skip
def quarantine(actor: str, job_id: str, query: PageQuery) -> QuarantinePage:
    number = _job_id(job_id)
    with services().database.session() as db:
        jobs.get_job(db, number)
        total = jobs.quarantine_count(db, number)
        rows = db.scalars(
            select(QuarantinedRecord)
            .where(QuarantinedRecord.job_id == number)
            .order_by(QuarantinedRecord.id)
            .offset(query.offset)
            .limit(query.limit)
        )
        records = [
            QuarantinedOut(
                id=r.id,
                catalog=r.catalog,
                record_key=r.record_key,
                location=r.location,
                stage=r.stage,
                reason=r.reason,
                raw=r.raw if len(r.raw) <= RAW_SHOWN else r.raw[:RAW_SHOWN] + "…",
                created_at=r.created_at,
            )
            for r in rows
        ]
    end = query.offset + len(records)
    return QuarantinePage(
        job_id=number,
        records=records,
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_offset=end if end < total else None,
    )


@registry.route(
    api_admin, "/jobs/<job_id>/rerun", "POST", summary="Queue a re-run of a job", tag="jobs",
    response=RerunOut, admin=True, status=202, errors=(404,),
)  # fmt: skip
def rerun(actor: str, job_id: str) -> RerunOut:
    """Records a new pending job with the same kind, parameters and stages (a queued request
    that the job runner picks up); calls the app's ``SHOPKG_RERUN_HOOK(job_id)`` when set."""
    number = _job_id(job_id)
    with services().database.session() as db:
        old = jobs.get_job(db, number)
        parameters: dict[str, Any] = {**old.parameters, "rerun_of": old.id, "requested_by": actor}
        new = jobs.create_job(db, old.kind, parameters, [s.name for s in old.stages])
        entry = accounts.record_audit(
            db, actor, "rerun_job", "build_job", str(old.id), {"new_job": new.id}
        )
        db.flush()
        out, audit_id = job_out(db, new), entry.id
    hook: Callable[[int], object] | None = current_app.config.get(RERUN_HOOK)
    if hook is not None:
        hook(out.id)
        note = f"job {out.id} was queued and handed to the runner"
    else:
        note = f"job {out.id} was queued as pending; the job runner picks it up"
    return RerunOut(job=out, rerun_of=number, audit_id=audit_id, note=note)
