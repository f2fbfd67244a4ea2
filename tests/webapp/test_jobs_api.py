"""The jobs dashboard's API: jobs with stage progress, quarantined records, re-run requests."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from foundation.db import Database, accounts, jobs


def _make_jobs(database: Database) -> tuple[int, int]:
    with database.session() as db:
        done = jobs.create_job(db, "build", {"catalog": "demo.jsonl"}, ["ingest", "extract"])
        jobs.start_job(done)
        jobs.start_stage(done, "ingest", total=10)
        jobs.advance_stage(done, "ingest", done=8, failed=2)
        jobs.finish_stage(done, "ingest")
        jobs.finish_job(done, {"items": 8})
        for i in range(3):
            jobs.quarantine(
                db,
                job_id=done.id,
                catalog="demo",
                location=f"demo.jsonl:{i + 1}",
                stage_name="ingest",
                reason="price is not a number",
                raw='{"title": "<b>bad</b>"}' + "x" * (3000 if i == 0 else 0),
            )
        running = jobs.create_job(db, "build", {"catalog": "more.jsonl"}, ["ingest"])
        jobs.start_job(running)
        jobs.start_stage(running, "ingest", total=4)
        jobs.advance_stage(running, "ingest", done=1)
        return done.id, running.id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_jobs_list_with_stage_progress(client: FlaskClient, database: Database, token: str) -> None:
    done_id, running_id = _make_jobs(database)
    page = client.get("/api/v1/admin/jobs", headers=_bearer(token)).get_json()
    assert [j["id"] for j in page["jobs"]] == [running_id, done_id]
    running, done = page["jobs"]
    assert running["status"] == "running"
    assert running["stages"][0]["progress"] == 0.25
    assert done["stages"][0]["progress"] == 1.0
    assert done["stages"][1]["progress"] is None
    assert done["quarantined"] == 3
    assert done["summary"] == {"items": 8}
    first = client.get("/api/v1/admin/jobs?limit=1", headers=_bearer(token)).get_json()
    assert first["total"] == 2 and first["next_offset"] == 1
    only = client.get("/api/v1/admin/jobs?status=succeeded", headers=_bearer(token)).get_json()
    assert [j["id"] for j in only["jobs"]] == [done_id]
    one = client.get(f"/api/v1/admin/jobs/{done_id}", headers=_bearer(token)).get_json()
    assert one["kind"] == "build"
    assert client.get("/api/v1/admin/jobs/999", headers=_bearer(token)).status_code == 404
    assert client.get("/api/v1/admin/jobs/abc", headers=_bearer(token)).status_code == 404
    for odd in ("%C2%B2", "%D9%A3", "%EF%BC%91"):  # "²", Arabic-Indic 3, fullwidth 1
        for path in (f"/api/v1/admin/jobs/{odd}", f"/api/v1/admin/jobs/{odd}/quarantine"):
            assert client.get(path, headers=_bearer(token)).status_code == 404, path


def test_quarantined_records_with_reasons(
    client: FlaskClient, database: Database, token: str
) -> None:
    done_id, _ = _make_jobs(database)
    url = f"/api/v1/admin/jobs/{done_id}/quarantine"
    page = client.get(f"{url}?limit=2", headers=_bearer(token)).get_json()
    assert page["total"] == 3 and page["next_offset"] == 2
    first = page["records"][0]
    assert first["reason"] == "price is not a number"
    assert first["location"] == "demo.jsonl:1"
    assert len(first["raw"]) == 2001  # cut for the dashboard
    rest = client.get(f"{url}?limit=2&offset=2", headers=_bearer(token)).get_json()
    assert [r["location"] for r in rest["records"]] == ["demo.jsonl:3"]


def test_rerun_queues_a_pending_job_and_audits_it(
    editable_app: Flask, database: Database, token: str
) -> None:
    called: list[int] = []
    editable_app.config["SHOPKG_RERUN_HOOK"] = called.append
    done_id, _ = _make_jobs(database)
    client = editable_app.test_client()
    response = client.post(f"/api/v1/admin/jobs/{done_id}/rerun", headers=_bearer(token))
    assert response.status_code == 202
    result = response.get_json()
    assert result["rerun_of"] == done_id
    job = result["job"]
    assert job["status"] == "pending"
    assert [s["name"] for s in job["stages"]] == ["ingest", "extract"]
    assert job["parameters"]["rerun_of"] == done_id
    assert called == [job["id"]]
    with database.session() as db:
        entry = accounts.audit_entries(db, limit=1)[0]
        assert (entry.action, entry.target_key) == ("rerun_job", str(done_id))
    assert client.post("/api/v1/admin/jobs/999/rerun", headers=_bearer(token)).status_code == 404
