"""The job runner: stages in order, progress and checkpoints in the DB, resume after a crash."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from foundation.db import BuildJob, Database, JobStatus, jobs
from foundation.errors import JobError
from jobs.runner import JobInterrupted, JobRunner, StageContext


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}").connect()
    database.upgrade()
    return database


class Counting:
    """Processes ``items`` numbers, resuming after the last checkpointed one."""

    def __init__(self, name: str, items: int, fail_at: int | None = None) -> None:
        self.name = name
        self.items = items
        self.fail_at = fail_at
        self.seen: list[int] = []

    def run(self, context: StageContext) -> dict[str, Any]:
        start = int(context.checkpoint.get("next", 0))
        context.progress.start(self.items)
        for i in range(start, self.items):
            if i == self.fail_at:
                raise RuntimeError(f"item {i} broke")
            self.seen.append(i)
            context.progress.advance(1, checkpoint={"next": i + 1})
        return {"processed": context.progress.done, "before": sorted(context.results)}


def _runner(db: Database, tmp_path: Path, out: io.StringIO | None = None) -> JobRunner:
    return JobRunner(
        db, tmp_path / "locks", stream=out or io.StringIO(), interactive=False, save_every=0
    )


def test_stages_run_in_order_and_are_recorded(db: Database, tmp_path: Path) -> None:
    out = io.StringIO()
    result = _runner(db, tmp_path, out).run(
        "build", {"catalog": "x"}, [Counting("ingest", 5), Counting("extract", 3)]
    )
    assert result.status == JobStatus.SUCCEEDED
    assert not result.resumed
    assert result.stages == {
        "ingest": {"processed": 5, "before": []},
        "extract": {"processed": 3, "before": ["ingest"]},
    }
    with db.session() as session:
        job = jobs.get_job(session, result.job_id)
        assert job.status == JobStatus.SUCCEEDED
        assert [(s.name, s.status, s.done, s.total) for s in job.stages] == [
            ("ingest", "succeeded", 5, 5),
            ("extract", "succeeded", 3, 3),
        ]
        assert job.summary["extract"] == {"processed": 3, "before": ["ingest"]}
    assert "[ingest] 5/5 (done 5, skipped 0, failed 0)" in out.getvalue()


def test_a_failed_job_resumes_at_its_checkpoint(db: Database, tmp_path: Path) -> None:
    first, broken = Counting("ingest", 4), Counting("extract", 10, fail_at=6)
    with pytest.raises(RuntimeError, match="item 6 broke"):
        _runner(db, tmp_path).run("build", {"catalog": "x"}, [first, broken])
    with db.session() as session:
        job = session.scalars(select(BuildJob)).one()
        assert job.status == JobStatus.FAILED
        assert job.error == "RuntimeError: item 6 broke"
        failed_id = job.id
    again_first, again = Counting("ingest", 4), Counting("extract", 10)
    result = _runner(db, tmp_path).run("build", {"catalog": "x"}, [again_first, again])
    assert result.resumed and result.job_id == failed_id
    assert again_first.seen == []  # finished before: skipped
    assert again.seen == [6, 7, 8, 9]  # resumed after the last checkpoint
    assert result.stages["extract"]["processed"] == 10
    assert result.stages["ingest"] == {"processed": 4, "before": []}


class RedoesAll:
    """Like the images stage: keeps no checkpoint, so a rerun counts all its work again."""

    name = "images"

    def __init__(self, items: int, fail_at: int | None = None) -> None:
        self.items = items
        self.fail_at = fail_at

    def run(self, context: StageContext) -> dict[str, Any]:
        context.progress.start(self.items)
        for i in range(self.items):
            if i == self.fail_at:
                raise RuntimeError(f"image {i} broke")
            context.progress.advance(1 if i % 5 else 0, failed=0 if i % 5 else 1)
        return {"done": context.progress.done, "failed": context.progress.failed}


def test_a_resumed_stage_never_counts_past_its_total(db: Database, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="image 7 broke"):
        _runner(db, tmp_path).run("build", {}, [RedoesAll(10, fail_at=7)])
    out = io.StringIO()
    result = _runner(db, tmp_path, out).run("build", {}, [RedoesAll(10)])
    assert result.resumed
    assert result.stages["images"] == {"done": 8, "failed": 2}
    assert "[images] 10/10 (done 8, skipped 0, failed 2)" in out.getvalue()
    with db.session() as session:
        stage = jobs.get_job(session, result.job_id).stages[0]
        assert (stage.done, stage.failed, stage.total) == (8, 2, 10)


def test_other_parameters_start_a_new_job(db: Database, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        _runner(db, tmp_path).run("build", {"catalog": "x"}, [Counting("a", 3, fail_at=1)])
    result = _runner(db, tmp_path).run("build", {"catalog": "y"}, [Counting("a", 3)])
    assert not result.resumed


def test_interruption_is_recorded_and_resumable(db: Database, tmp_path: Path) -> None:
    class Interrupted(Counting):
        def run(self, context: StageContext) -> dict[str, Any]:
            context.progress.start(None)
            context.progress.checkpoint({"next": 2})
            raise JobInterrupted("SIGINT")

    with pytest.raises(JobInterrupted):
        _runner(db, tmp_path).run("build", {}, [Interrupted("a", 3)])
    with db.session() as session:
        job = session.scalars(select(BuildJob)).one()
        assert job.status == JobStatus.INTERRUPTED
        assert "run the same command again" in (job.error or "")
    resumed = Counting("a", 3)
    assert _runner(db, tmp_path).run("build", {}, [resumed]).resumed
    assert resumed.seen == [2]


def test_only_one_job_runs_per_data_directory(db: Database, tmp_path: Path) -> None:
    class Nested(Counting):
        def run(self, context: StageContext) -> dict[str, Any]:
            _runner(db, tmp_path).run("other", {}, [Counting("b", 1)])
            return {}

    with pytest.raises(JobError, match="another ShopKG job is running"):
        _runner(db, tmp_path).run("build", {}, [Nested("a", 1)])


SCRIPT = textwrap.dedent(
    """
    import io, sys, time
    from pathlib import Path
    from jobs.runner import JobRunner
    from foundation.db import Database

    root = Path(sys.argv[1])
    class Slow:
        name = "write"
        def run(self, context):
            context.progress.start(200)
            for i in range(int(context.checkpoint.get("next", 0)), 200):
                (root / "out" / f"{i}.txt").write_text(str(i))  # idempotent write
                context.progress.advance(1, checkpoint={"next": i + 1})
                time.sleep(0.005)
            return {"written": context.progress.done}
    db = Database(f"sqlite:///{root / 'meta.db'}").connect()
    result = JobRunner(db, root / "locks", stream=io.StringIO(), save_every=0).run(
        "build", {"n": 200}, [Slow()])
    print(result.job_id, result.resumed, result.stages["write"]["written"])
    """
)


@pytest.mark.slow
def test_a_job_killed_with_sigkill_resumes_to_the_same_result(db: Database, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env)
    deadline = time.monotonic() + 60
    while len(list((tmp_path / "out").iterdir())) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written_before = len(list((tmp_path / "out").iterdir()))
    assert 0 < written_before < 200
    with db.session() as session:
        assert session.scalars(select(BuildJob)).one().status == JobStatus.RUNNING
    rerun = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    job_id, resumed, written = rerun.stdout.split()
    assert resumed == "True"
    assert written == "200"  # counts saved with each checkpoint: none lost, none twice
    assert sorted(int(p.stem) for p in (tmp_path / "out").iterdir()) == list(range(200))
    with db.session() as session:
        job = jobs.get_job(session, int(job_id))
        assert job.status == JobStatus.SUCCEEDED
        assert job.stages[0].done == 200
