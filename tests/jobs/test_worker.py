"""The worker runs the build jobs queued from the dashboard, oldest first."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from catalog.demo.generate import write_catalog
from foundation.db import Database, JobStatus, jobs
from foundation.errors import JobError
from foundation.settings import load_settings
from jobs.build import BuildPlan, run_build
from jobs.worker import next_job, run_queued
from kg import NodeRef, open_store

pytestmark = pytest.mark.slow


def _queue(database: Database, old_job: int) -> int:
    """What the dashboard's re-run does: a pending copy of the job."""
    with database.session() as session:
        old = jobs.get_job(session, old_job)
        parameters = {**old.parameters, "rerun_of": old.id, "requested_by": "admin"}
        return jobs.create_job(session, old.kind, parameters, [s.name for s in old.stages]).id


def test_the_worker_runs_queued_jobs_and_records_a_bad_one_as_failed(tmp_path: Path) -> None:
    write_catalog(tmp_path / "demo", 12, 0, image_limit=0)
    catalog = tmp_path / "demo" / "catalog.jsonl"
    settings = load_settings(data_dir=tmp_path / "var")
    plan = BuildPlan(catalog, "demo", None, generated=True)
    first = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    database = Database(settings.db).connect()
    try:
        queued = _queue(database, first.job_id)
        with database.session() as session:  # a job whose catalog has since gone away
            broken = jobs.create_job(
                session,
                "build",
                {**plan.parameters(), "catalog": str(tmp_path / "gone.jsonl"), "requested_by": "x"},
                [s.name for s in jobs.get_job(session, first.job_id).stages],
            ).id
        assert next_job(database) == queued
        assert next_job(database, skip={queued}) == broken

        lines = catalog.read_text(encoding="utf-8").splitlines()
        record = json.loads(lines[0])
        record["title"] = "Renamed by the merchant"
        catalog.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n", encoding="utf-8")

        ran = list(run_queued(settings, once=True, stream=io.StringIO()))
        assert [line["job"] for line in ran] == [queued, broken]
        assert ran[0]["status"] == "succeeded"
        assert ran[1]["status"] == "failed" and "gone.jsonl" in ran[1]["error"]
        with database.session() as session:
            done = jobs.get_job(session, queued)
            assert done.status == JobStatus.SUCCEEDED
            assert done.summary["ingest"]["changed"] == 1
            failed = jobs.get_job(session, broken)
            assert failed.status == JobStatus.FAILED and "gone.jsonl" in (failed.error or "")
        assert next_job(database) is None
        assert list(run_queued(settings, once=True, stream=io.StringIO())) == []
        with open_store(settings) as store:
            item = store.get_node(NodeRef("Item", record["id"]))
            assert item is not None and item.properties["name"] == "Renamed by the merchant"
        with pytest.raises(JobError, match="only queued jobs"):
            run_build(settings, plan, stream=io.StringIO(), interactive=False, job_id=queued)
    finally:
        database.close()
