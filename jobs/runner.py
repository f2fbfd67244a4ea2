"""Running batch jobs as checkpointed stages recorded in the metadata database.

A job is a list of :class:`Stage` objects run in order. Each stage reports progress through a
:class:`Progress` (a progress bar on a terminal, plain lines otherwise) and may save a
checkpoint; both are written to the job's ``JobStage`` row. When a job dies (Ctrl-C, SIGTERM,
SIGKILL, an exception), running it again with the same kind and parameters resumes it: stages
that finished are skipped and the interrupted stage runs again with its last checkpoint, so
stages must write idempotently. One job runs at a time per data directory (a lock file).
"""

from __future__ import annotations

import fcntl
import json
import logging
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Protocol

from sqlalchemy import select

from foundation.db import BuildJob, Database, JobStatus, jobs
from foundation.errors import JobError

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 2.0


class JobInterrupted(BaseException):
    """Raised inside a job when it is asked to stop (Ctrl-C or SIGTERM)."""


class Stage(Protocol):
    """One step of a job. ``run`` returns the stage's summary counts."""

    name: str

    def run(self, context: StageContext) -> dict[str, Any]: ...


@dataclass
class StageContext:
    """What a stage gets: the job's parameters, its checkpoint and a progress reporter."""

    job_id: int
    parameters: dict[str, Any]
    checkpoint: dict[str, Any]
    progress: Progress
    results: dict[str, dict[str, Any]]  # summaries of the stages before this one


@dataclass
class JobResult:
    job_id: int
    status: str
    resumed: bool
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0


class Progress:
    """Counts a stage's work; shows it and saves it (with the checkpoint) every few seconds."""

    def __init__(
        self,
        database: Database,
        job_id: int,
        stage: str,
        stream: IO[str],
        interactive: bool,
        *,
        save_every: float = CHECKPOINT_EVERY_S,
        counts: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        self._database = database
        self._job_id = job_id
        self._stage = stage
        self._stream = stream
        self._interactive = interactive
        self._bar: Any = None
        self._pending = {"done": 0, "skipped": 0, "failed": 0}
        self._checkpoint: dict[str, Any] | None = None
        self._checkpointed = False
        self._save_every = save_every
        self._last_save = time.monotonic()
        self._last_line = time.monotonic()
        self.total: int | None = None
        # a resumed stage starts from the counts saved with its checkpoint
        self.done, self.skipped, self.failed = counts

    def start(self, total: int | None, *, counts: tuple[int, int, int] | None = None) -> None:
        """Say how much work there is: all of the stage's work, what earlier runs did included,
        so the counts never pass it. A stage that can tell what is already done (rather than
        trusting the counts saved with its checkpoint) passes ``counts`` to set them."""
        self.total = total
        if counts is not None:
            self.done, self.skipped, self.failed = counts
        self._pending = {"done": 0, "skipped": 0, "failed": 0}
        with self._database.session() as session:
            jobs.start_stage(
                jobs.get_job(session, self._job_id),
                self._stage,
                total,
                (self.done, self.skipped, self.failed),
            )
        if self._interactive:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=self.done + self.skipped + self.failed,
                desc=self._stage,
                unit="rec",
                file=self._stream,
            )

    def advance(
        self,
        done: int = 0,
        *,
        skipped: int = 0,
        failed: int = 0,
        checkpoint: dict[str, Any] | None = None,
    ) -> None:
        """Count work; a resumable stage passes its checkpoint here, so both are saved together.

        Once a stage has given a checkpoint, counts are saved only with one: a crash between
        the two would otherwise count the redone work twice.
        """
        if checkpoint is not None:
            self._checkpoint = checkpoint
            self._checkpointed = True
        self.done += done
        self.skipped += skipped
        self.failed += failed
        self._pending["done"] += done
        self._pending["skipped"] += skipped
        self._pending["failed"] += failed
        if self._bar is not None:
            self._bar.update(done + skipped + failed)
        now = time.monotonic()
        if not self._interactive and now - self._last_line >= 10:
            self._last_line = now
            self._line()
        due = now - self._last_save >= self._save_every
        if due and (checkpoint is not None or not self._checkpointed):
            self.save()

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Remember where a stage that counts nothing is; saved with the next write."""
        self._checkpoint = state
        self._checkpointed = True
        if time.monotonic() - self._last_save >= self._save_every:
            self.save()

    def save(self) -> None:
        with self._database.session() as session:
            jobs.advance_stage(
                jobs.get_job(session, self._job_id),
                self._stage,
                checkpoint=self._checkpoint,
                **self._pending,
            )
        self._pending = {"done": 0, "skipped": 0, "failed": 0}
        self._last_save = time.monotonic()

    def close(self) -> None:
        self.save()
        if self._bar is not None:
            self._bar.close()
        else:
            self._line()

    def _line(self) -> None:
        total = f"/{self.total}" if self.total is not None else ""
        self._stream.write(
            f"[{self._stage}] {self.done + self.skipped + self.failed}{total} "
            f"(done {self.done}, skipped {self.skipped}, failed {self.failed})\n"
        )
        self._stream.flush()


class JobRunner:
    """Runs (or resumes) a job of ``kind`` with ``parameters`` through ``stages``."""

    def __init__(
        self,
        database: Database,
        lock_dir: Path,
        *,
        stream: IO[str] | None = None,
        interactive: bool | None = None,
        save_every: float = CHECKPOINT_EVERY_S,
    ) -> None:
        self.database = database
        self.lock_dir = lock_dir
        self.save_every = save_every
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive

    def run(
        self,
        kind: str,
        parameters: dict[str, Any],
        stages: Sequence[Stage],
        *,
        job_id: int | None = None,
    ) -> JobResult:
        """Run the job; ``job_id`` names a queued (pending) job to run, whose own parameters
        are then used, instead of finding or creating one for ``parameters``."""
        names = [stage.name for stage in stages]
        started = time.monotonic()
        with self._lock(kind), _stop_on_sigterm():
            if job_id is None:
                job_id, resumed = self._job_to_run(kind, parameters, names)
            else:
                parameters, resumed = self._queued(job_id, kind, names)
            result = JobResult(job_id, JobStatus.RUNNING, resumed)
            try:
                for stage in stages:
                    result.stages[stage.name] = self._run_stage(job_id, parameters, stage, result)
            except JobInterrupted:
                self._fail(job_id, "interrupted; run the same command again to resume", True)
                result.status = JobStatus.INTERRUPTED
                raise
            except Exception as e:
                self._fail(job_id, f"{type(e).__name__}: {e}", False)
                result.status = JobStatus.FAILED
                raise
            with self.database.session() as session:
                job = jobs.get_job(session, job_id)
                jobs.finish_job(job, dict(job.summary))
            result.status = JobStatus.SUCCEEDED
            result.seconds = time.monotonic() - started
            return result

    def _run_stage(
        self, job_id: int, parameters: dict[str, Any], stage: Stage, result: JobResult
    ) -> dict[str, Any]:
        with self.database.session() as session:
            job = jobs.get_job(session, job_id)
            row = jobs.stage(job, stage.name)
            if row.status == JobStatus.SUCCEEDED:
                self.stream.write(f"[{stage.name}] done in an earlier run; skipped\n")
                return dict(job.summary.get(stage.name, {}))
            checkpoint = dict(row.checkpoint or {})
            # a stage resumes its counts only with its checkpoint: one without a checkpoint
            # does all its work again, and counting it on top would pass the total
            if not checkpoint:
                row.done = row.skipped = row.failed = 0
            counts = (row.done, row.skipped, row.failed)
        progress = Progress(
            self.database,
            job_id,
            stage.name,
            self.stream,
            self.interactive,
            save_every=self.save_every,
            counts=counts,
        )
        context = StageContext(job_id, parameters, checkpoint, progress, dict(result.stages))
        try:
            summary = stage.run(context)
        finally:
            progress.close()
        with self.database.session() as session:
            job = jobs.get_job(session, job_id)
            jobs.finish_stage(job, stage.name)
            # stage summaries are kept on the job as they finish, so a resumed run has them
            job.summary = {**job.summary, stage.name: summary}
        return summary

    def _job_to_run(
        self, kind: str, parameters: dict[str, Any], names: list[str]
    ) -> tuple[int, bool]:
        key = json.dumps(parameters, sort_keys=True, default=str)
        with self.database.session() as session:
            unfinished = session.scalars(
                select(BuildJob)
                .where(
                    BuildJob.kind == kind,
                    BuildJob.status.in_(
                        [JobStatus.RUNNING, JobStatus.INTERRUPTED, JobStatus.FAILED]
                    ),
                )
                .order_by(BuildJob.id.desc())
                .limit(1)
            ).first()
            same = (
                unfinished is not None
                and json.dumps(unfinished.parameters, sort_keys=True, default=str) == key
                and [s.name for s in unfinished.stages] == names
            )
            if unfinished is not None and same:
                # we hold the lock, so a job still marked running died without saying so
                jobs.start_job(unfinished)
                self.stream.write(f"resuming job {unfinished.id} ({kind})\n")
                return unfinished.id, True
            job = jobs.create_job(session, kind, json.loads(key), names)
            jobs.start_job(job)
            return job.id, False

    def _queued(self, job_id: int, kind: str, names: list[str]) -> tuple[dict[str, Any], bool]:
        with self.database.session() as session:
            job = jobs.get_job(session, job_id)
            if job.kind != kind or [s.name for s in job.stages] != names:
                raise JobError(
                    f"job {job_id} is a {job.kind!r} job with stages "
                    f"{[s.name for s in job.stages]}, not {kind!r} with {names}"
                )
            # a queued job that was started and died (we hold the lock) resumes
            resumable = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INTERRUPTED)
            if job.status not in resumable:
                raise JobError(f"job {job_id} is {job.status}; only queued jobs can be started")
            resumed = job.status != JobStatus.PENDING
            jobs.start_job(job)
            self.stream.write(f"{'resuming' if resumed else 'running'} job {job_id} ({kind})\n")
            return dict(job.parameters), resumed

    def _fail(self, job_id: int, error: str, interrupted: bool) -> None:
        with self.database.session() as session:
            jobs.fail_job(jobs.get_job(session, job_id), error, interrupted=interrupted)

    @contextmanager
    def _lock(self, kind: str) -> Iterator[None]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        path = self.lock_dir / "jobs.lock"
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise JobError(
                    f"another ShopKG job is running on {self.lock_dir} (lock {path}); "
                    "wait for it or stop it first"
                ) from e
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`JobInterrupted` while a job runs."""

    def _handler(signum: int, _frame: FrameType | None) -> None:
        raise JobInterrupted(signal.Signals(signum).name)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for sig in previous:
            signal.signal(sig, _handler)
    except ValueError:  # not the main thread: leave signals alone
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
