"""Building while serving: a build takes the graph before it saves anything, and a running
app answers from each newly published build without a restart."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.demo.generate import write_catalog
from foundation.artifacts import current
from foundation.db import BuildJob, Database, SourceRecord, accounts
from foundation.errors import GraphStoreError
from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build
from jobs.runner import JobResult
from kg.kuzu_store import DB_FILE
from webapp import create_app
from webapp.services import Services

ITEMS = 12


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    root = tmp_path_factory.mktemp("serving")
    write_catalog(root / "gen", ITEMS, 0, image_limit=0)
    catalog = root / "shop.jsonl"
    catalog.write_bytes((root / "gen" / "catalog.jsonl").read_bytes())
    settings = load_settings(data_dir=root / "var")
    assert _build(settings, catalog).status == "succeeded"
    return settings, catalog


def _build(settings: Settings, catalog: Path) -> JobResult:
    plan = BuildPlan(catalog, "shop")
    return run_build(settings, plan, stream=io.StringIO(), interactive=False)


def _retitle(catalog: Path, index: int, suffix: str) -> tuple[str, str]:
    records = [json.loads(line) for line in catalog.read_text(encoding="utf-8").splitlines()]
    records[index]["title"] += suffix
    catalog.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records[index]["id"], records[index]["title"]


def _records(settings: Settings) -> tuple[list[tuple[str, str, str]], int]:
    database = Database(settings.db).connect()
    try:
        with database.session() as session:
            rows = session.execute(
                select(SourceRecord.record_key, SourceRecord.content_hash, SourceRecord.status)
            ).all()
            jobs = int(session.scalar(select(func.count()).select_from(BuildJob)) or 0)
    finally:
        database.close()
    return sorted((str(k), str(h), str(s)) for k, h, s in rows), jobs


@pytest.fixture
def graph_held_elsewhere(built: tuple[Settings, Path]) -> Iterator[int]:
    """Another process holding the build's Kùzu graph open (as a server used to)."""
    settings, _ = built
    path = settings.graph_uri.path / DB_FILE
    code = f"import kuzu, sys, time; db = kuzu.Database({str(path)!r}); print('open'); "
    code += "sys.stdout.flush(); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_build_that_cannot_take_the_graph_fails_before_saving_the_catalog(
    built: tuple[Settings, Path], graph_held_elsewhere: int
) -> None:
    settings, catalog = built
    before = _records(settings)
    original = catalog.read_text(encoding="utf-8")
    _retitle(catalog, 0, " (locked out)")
    try:
        with pytest.raises(GraphStoreError) as failed:
            _build(settings, catalog)
        message = str(failed.value)
        assert "\n" not in message
        assert f"locked by process {graph_held_elsewhere} (python" in message
        assert _records(settings) == before  # no record saved, no job started
    finally:
        catalog.write_text(original, encoding="utf-8")


def test_a_running_app_answers_from_a_build_published_after_it_started(
    built: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, catalog = built
    monkeypatch.setattr("webapp.services.RETIRE_AFTER_S", 0.0)
    app = create_app({"TESTING": True, "PUBLIC_RATE_LIMIT": "1000 per second"}, settings=settings)
    services: Services = app.extensions["shopkg"]
    services.reload_every = 0.0
    client = app.test_client()
    key = json.loads(catalog.read_text(encoding="utf-8").splitlines()[3])["id"]
    old_title = client.get(f"/api/v1/items/{key}").get_json()["title"]
    first = services.serving
    old_assistant = services.assistant
    assert first is not None and client.get("/api/v1/graph/stats").status_code == 200

    # a build while the app serves: it takes the graph and publishes a new snapshot
    _, new_title = _retitle(catalog, 3, " (restocked)")
    assert _build(settings, catalog).status == "succeeded"
    published = current(settings)
    assert published is not None and published.name != first

    client.get(f"/api/v1/items/{key}")  # notices the new build, loads it in the background
    services.wait_for_swap(timeout=120)
    assert services.serving == published.name
    card = client.get(f"/api/v1/items/{key}").get_json()
    assert card["title"] == new_title != old_title
    hits = client.get("/api/v1/search", query_string={"q": new_title}).get_json()["hits"]
    assert hits[0]["key"] == key and hits[0]["title"] == new_title
    old_store = old_assistant.searcher.store  # type: ignore[attr-defined]
    for _ in range(100):  # the old build's copy is closed once it is retired
        if not old_store.is_open:
            break
        time.sleep(0.05)
    assert not old_store.is_open
    services.close()


def test_an_admin_request_while_a_build_holds_the_graph_is_503_with_retry_after(
    built: tuple[Settings, Path], graph_held_elsewhere: int
) -> None:
    settings, _ = built
    database = Database(settings.db).connect()
    try:
        with database.session() as session:
            accounts.create_admin(session, "ops-busy", "correct horse battery")
            token = accounts.issue_token(session, "ops-busy", "tests")
    finally:
        database.close()
    app = create_app({"TESTING": True}, settings=settings)
    try:
        response = app.test_client().get(
            "/api/v1/admin/stats/degrees", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert (
            f"locked by process {graph_held_elsewhere}" in response.get_json()["error"]["message"]
        )
    finally:
        app.extensions["shopkg"].close()
