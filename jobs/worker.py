"""Running queued jobs: what the admin dashboard's "re-run" button asks for.

The dashboard (and ``POST /api/v1/admin/jobs/<id>/rerun``) records a new *pending* job with
the old one's parameters. ``shopkg worker`` runs pending build jobs, oldest first, and resumes
a queued job that was started and died. One job runs at a time per data directory (the
runner's lock), so a worker and a ``shopkg build`` never overlap.

With the embedded Kùzu store the graph is one process's at a time: stop ``shopkg serve``
while the worker builds, or run the worker between serving sessions (``--once`` from cron).
With Neo4j and PostgreSQL the worker runs beside the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator
from typing import IO, Any

from sqlalchemy import select

from foundation.db import BuildJob, Database, JobStatus, jobs
from foundation.settings import Settings
from jobs.build import BuildPlan, run_build
from jobs.runner import JobInterrupted

log = logging.getLogger(__name__)


def next_job(database: Database, skip: Collection[int] = ()) -> int | None:
    """The queued build job to run next (not one of ``skip``): one a worker started and lost
    first, then the oldest pending one."""
    with database.session() as session:
        unfinished = session.scalars(
            select(BuildJob)
            .where(
                BuildJob.kind == "build",
                BuildJob.status.in_([JobStatus.RUNNING, JobStatus.INTERRUPTED]),
            )
            .order_by(BuildJob.id)
        ).all()
        for job in unfinished:
            queued = "requested_by" in (job.parameters or {})  # not a `shopkg build`
            if queued and job.id not in skip:
                return int(job.id)
        pending = session.scalars(
            select(BuildJob.id)
            .where(BuildJob.kind == "build", BuildJob.status == JobStatus.PENDING)
            .order_by(BuildJob.id)
        ).all()
        return next((int(i) for i in pending if i not in skip), None)


def run_queued(
    settings: Settings,
    *,
    once: bool = False,
    interval: float = 5.0,
    stream: IO[str] | None = None,
    max_jobs: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Run queued jobs until none is left (``once``) or forever, polling every ``interval``
    seconds; yields one line per job run. A job that fails is recorded as failed and the
    worker goes on with the next."""
    database = Database(settings.db).connect()
    database.upgrade()
    ran = 0
    tried: set[int] = set()  # each job once per look at the queue: a lost one may be running
    try:
        while max_jobs is None or ran < max_jobs:
            job_id = next_job(database, skip=tried)
            if job_id is None:
                if once:
                    break
                time.sleep(interval)
                tried.clear()
                continue
            tried.add(job_id)
            with database.session() as session:
                parameters = dict(jobs.get_job(session, job_id).parameters)
            try:
                plan = BuildPlan.from_parameters(parameters)
                result = run_build(
                    settings,
                    plan,
                    stream=stream,
                    interactive=False,
                    force=bool(parameters.get("force")),
                    job_id=job_id,
                )
                line: dict[str, Any] = {"job": job_id, "status": str(result.status)}
            except JobInterrupted:
                raise
            except Exception as e:  # recorded on the job by the runner; the next job runs
                log.warning("job %s failed: %s", job_id, e)
                _fail_if_pending(database, job_id, e)
                line = {"job": job_id, "status": "failed", "error": str(e)}
            ran += 1
            yield line
    finally:
        database.close()


def _fail_if_pending(database: Database, job_id: int, error: Exception) -> None:
    """A pending job that could not even start (its parameters are unusable) must not be
    picked again and again. A running one is left alone: another worker may hold it."""
    with database.session() as session:
        job = jobs.get_job(session, job_id)
        if job.status == JobStatus.PENDING:
            jobs.fail_job(job, f"{type(error).__name__}: {error}")
