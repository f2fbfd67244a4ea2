"""The metadata database on SQLite and on a real PostgreSQL 15 server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundation.db import (
    AdminSession,
    AdminUser,
    Base,
    Database,
    JobStatus,
    SourceRecord,
    accounts,
    jobs,
)
from foundation.errors import AuthError, DatabaseError, JobError

TABLES = {
    "admin_sessions",
    "admin_overrides",
    "admin_users",
    "api_tokens",
    "audit_log",
    "build_jobs",
    "dialog_sessions",
    "job_stages",
    "live_pinned_answers",
    "live_question_groups",
    "live_questions",
    "live_room_items",
    "live_room_viewers",
    "live_rooms",
    "quarantined_records",
    "source_records",
}


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    db = Database(database_url).connect()
    try:
        db.upgrade()
        assert _tables(db) == TABLES
        assert db.current_revision() == db.head_revision()
        db.downgrade("base")
        assert _tables(db) == set()
        assert db.current_revision() is None
        db.upgrade()
        assert _tables(db) == TABLES
    finally:
        db.close()


def test_models_and_migrations_do_not_drift(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_a_database_behind_the_code_is_reported(database_url: str) -> None:
    db = Database(database_url).connect()
    try:
        with pytest.raises(DatabaseError, match="run: shopkg db upgrade"):
            db.check_current()
        db.upgrade()
        db.check_current()
    finally:
        db.close()


def test_unknown_revision_is_a_clear_error(database: Database) -> None:
    with pytest.raises(DatabaseError, match="'nope'"):
        database.upgrade("nope")


def test_source_records_are_unique_per_catalog_and_keep_unicode(database: Database) -> None:
    raw = {"title": "Café \"Crème\" 😀 — 'quoted'", "attributes": {"größe": "XL"}}
    with database.session() as session:
        session.add(SourceRecord(catalog="demo", record_key="a1", raw=raw, content_hash="h" * 64))
    with database.session() as session:
        stored = session.scalars(select(SourceRecord)).one()
        assert stored.raw == raw
        assert stored.status == "active"
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(SourceRecord(catalog="demo", record_key="a1", raw={}, content_hash="x"))
    with database.session() as session:
        session.add(SourceRecord(catalog="other", record_key="a1", raw={}, content_hash="x"))


def test_admin_passwords_are_hashed_and_verified(database: Database) -> None:
    with database.session() as session:
        user = accounts.create_admin(session, "ada", "correct horse battery")
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
    with database.session() as session:
        assert accounts.authenticate(session, "ada", "correct horse battery") is not None
        assert accounts.authenticate(session, "ada", "wrong password!!") is None
        assert accounts.authenticate(session, "nobody", "correct horse battery") is None
    with pytest.raises(AuthError, match="already exists"), database.session() as session:
        accounts.create_admin(session, "ada", "another password")
    with pytest.raises(AuthError, match="at least 10"), database.session() as session:
        accounts.create_admin(session, "bob", "short")
    with pytest.raises(AuthError, match="invalid username"), database.session() as session:
        accounts.create_admin(session, "<script>", "long enough password")


def test_inactive_admins_cannot_log_in(database: Database) -> None:
    with database.session() as session:
        accounts.create_admin(session, "ada", "correct horse battery").is_active = False
    with database.session() as session:
        assert accounts.authenticate(session, "ada", "correct horse battery") is None


def test_api_tokens_verify_expire_and_revoke(database: Database) -> None:
    with database.session() as session:
        accounts.create_admin(session, "ada", "correct horse battery")
        token = accounts.issue_token(session, "ada", "ci")
        short = accounts.issue_token(session, "ada", "old", expires_in=timedelta(seconds=-1))
    assert token.startswith(accounts.TOKEN_PREFIX)
    with database.session() as session:
        user = accounts.verify_token(session, token)
        assert user is not None and user.username == "ada"
        assert accounts.verify_token(session, short) is None
        assert accounts.verify_token(session, token + "x") is None
        assert accounts.verify_token(session, "Bearer nonsense") is None
        accounts.revoke_token(session, token[:10])
    with database.session() as session:
        assert accounts.verify_token(session, token) is None
        actions = [entry.action for entry in accounts.audit_entries(session)]
    assert actions.count("issue_token") == 2
    assert "revoke_token" in actions and "create_user" in actions


def test_browser_sessions_end_on_logout_password_change_and_disable(database: Database) -> None:
    hours = timedelta(hours=8)
    with database.session() as session:
        user = accounts.create_admin(session, "ada", "correct horse battery")
        first, second, third = (
            accounts.start_session(session, user, lifetime=hours) for _ in "abc"
        )
    with database.session() as session:
        assert accounts.session_user(session, "forged") is None
        ended = accounts.end_session(session, first)
        assert ended is not None and ended.username == "ada"
    with database.session() as session:
        assert accounts.session_user(session, first) is None
        found = accounts.session_user(session, second)
        assert found is not None and found.username == "ada"
        accounts.set_password(session, "ada", "another long password")
    with database.session() as session:
        assert accounts.session_user(session, second) is None
        assert accounts.session_user(session, third) is None
        ada = _user(session, "ada")
        expired = accounts.start_session(session, ada, lifetime=timedelta(seconds=-1))
        assert accounts.session_user(session, expired) is None
        fresh = accounts.start_session(session, ada, lifetime=hours)
        # starting a session deleted the expired one
        assert session.scalar(select(func.count()).select_from(AdminSession)) == 1
        accounts.set_active(session, "ada", False)
    with database.session() as session:
        assert accounts.session_user(session, fresh) is None
        assert accounts.authenticate(session, "ada", "another long password") is None
        accounts.set_active(session, "ada", True)
        assert accounts.authenticate(session, "ada", "another long password") is not None
        entries = accounts.audit_entries(session, limit=3)
    assert [(e.action, e.details) for e in entries] == [
        ("enable_user", {"sessions_ended": 0}),
        ("disable_user", {"sessions_ended": 1}),
        ("set_password", {"sessions_ended": 2}),
    ]


def test_a_disabled_admins_tokens_stop_working(database: Database) -> None:
    with database.session() as session:
        accounts.create_admin(session, "ada", "correct horse battery")
        token = accounts.issue_token(session, "ada", "ci")
        accounts.set_active(session, "ada", False)
    with database.session() as session:
        assert accounts.verify_token(session, token) is None
        accounts.set_active(session, "ada", True)
    with database.session() as session:
        assert accounts.verify_token(session, token) is not None


def _user(session: Session, username: str) -> AdminUser:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    assert user is not None
    return user


def test_jobs_record_stages_progress_and_quarantine(database: Database) -> None:
    with database.session() as session:
        job = jobs.create_job(session, "build", {"catalog": "demo.jsonl"}, ["ingest", "extract"])
        jobs.start_job(job)
        jobs.start_stage(job, "ingest", total=10)
        jobs.advance_stage(job, "ingest", done=7, skipped=1, checkpoint={"line": 9})
        jobs.quarantine(
            session,
            job_id=job.id,
            catalog="demo",
            location="demo.jsonl:3",
            stage_name="ingest",
            reason="line 3: not valid JSON",
            raw="{" * 200_000,
        )
        jobs.advance_stage(job, "ingest", failed=1)
        jobs.finish_stage(job, "ingest")
        jobs.finish_job(job, {"loaded": 7})
        job_id = job.id
    with database.session() as session:
        job = jobs.get_job(session, job_id)
        assert job.status == JobStatus.SUCCEEDED
        ingest = jobs.stage(job, "ingest")
        assert (ingest.total, ingest.done, ingest.skipped, ingest.failed) == (10, 7, 1, 1)
        assert ingest.checkpoint == {"line": 9}
        assert ingest.seconds is not None and ingest.seconds >= 0
        assert [s.name for s in job.stages] == ["ingest", "extract"]
        assert jobs.quarantine_count(session, job_id) == 1
        bad = jobs.quarantined(session, job_id)[0]
        assert bad.reason == "line 3: not valid JSON"
        assert bad.raw.endswith("[cut: 200000 characters in all]")
        assert job.seconds is not None
        assert jobs.recent_jobs(session, kind="build")[0].id == job_id
    with pytest.raises(JobError, match="twice"), database.session() as session:
        jobs.create_job(session, "build", {}, ["a", "a"])


def test_deleting_a_job_deletes_its_stages_and_quarantine(database: Database) -> None:
    with database.session() as session:
        job = jobs.create_job(session, "build", {}, ["ingest"])
        jobs.quarantine(
            session,
            job_id=job.id,
            catalog="c",
            location="f:1",
            stage_name="ingest",
            reason="bad",
            raw="x",
        )
    with database.session() as session:
        session.delete(jobs.get_job(session, job.id))
    with database.session() as session:
        assert jobs.quarantine_count(session, job.id) == 0
