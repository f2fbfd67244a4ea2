"""Admin overrides end to end: the web app records them, the live assistant serves them at
once and after a restart, rebuilds re-apply them, and ``shopkg check`` agrees.

Each test builds a small generated catalog of its own (the tests change it)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from assistant.loader import build_assistant
from assistant.service import Assistant
from catalog.demo.generate import write_catalog
from foundation.db import Database, accounts
from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build
from jobs.runner import JobResult
from kg import NodeRef, open_store
from retrieval.keyword import load_items
from retrieval.vector_index import VectorIndex
from shopkg.cli import cli
from webapp import create_app

pytestmark = pytest.mark.slow

ITEMS = 40


@dataclass
class Shop:
    settings: Settings
    root: Path
    token: str

    @property
    def catalog(self) -> Path:
        return self.root / "demo" / "catalog.jsonl"

    def build(self) -> JobResult:
        plan = BuildPlan(self.catalog, "demo", None, generated=True)
        result = run_build(self.settings, plan, stream=io.StringIO(), interactive=False)
        assert result.status == "succeeded"
        return result

    def records(self) -> list[dict[str, Any]]:
        lines = self.catalog.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r) + "\n" for r in records)
        self.catalog.write_text(text, encoding="utf-8")

    def change(self, key: str, **fields: Any) -> None:
        """Change a record in the catalog, so the next build extracts it again."""
        self.rewrite([{**r, **fields} if r["id"] == key else r for r in self.records()])

    def check(self) -> tuple[int, str, dict[str, Any]]:
        args = ["--data-dir", str(self.settings.data_dir), "check"]
        result = CliRunner().invoke(cli, args)
        lines = result.output.strip().splitlines()
        return result.exit_code, result.output, json.loads(lines[-1])

    @contextmanager
    def app(self) -> Iterator[tuple[FlaskClient, Assistant]]:
        """The web app over the last build, as a fresh process would start it."""
        assistant = build_assistant(self.settings)
        app = create_app({"TESTING": True}, settings=self.settings, assistant=assistant)
        try:
            yield app.test_client(), assistant
        finally:
            app.extensions["shopkg"].close()
            if assistant.searcher.store is not None:
                assistant.searcher.store.close()

    def admin(self, client: FlaskClient, method: str, url: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    write_catalog(tmp_path / "demo", ITEMS, 0)
    settings = load_settings(data_dir=tmp_path / "var")
    shop = Shop(settings, tmp_path, "")
    shop.build()
    database = Database(settings.db).connect()
    with database.session() as db:
        accounts.create_admin(db, "admin", "correct horse battery")
        shop.token = accounts.issue_token(db, "admin", "tests")
    database.close()
    return shop


def _hits(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/search", query_string={"q": query, "limit": 50})
    assert response.status_code == 200
    hits: list[dict[str, Any]] = response.get_json()["hits"]
    return hits


def _keys(client: FlaskClient, query: str) -> list[str]:
    return [hit["key"] for hit in _hits(client, query)]


def _exact_keys(client: FlaskClient, query: str) -> list[str]:
    """The hits when the search says they meet every constraint, else none (a query nothing
    meets answers with the closest items, marked relaxed)."""
    page = client.get("/api/v1/search", query_string={"q": query, "limit": 50}).get_json()
    return [hit["key"] for hit in page["hits"]] if page["match"] == "exact" else []


def _graph_has(settings: Settings, label: str, key: str) -> bool:
    with open_store(settings) as store:
        return store.get_node(NodeRef(label, key)) is not None


def _ask(client: FlaskClient, key: str) -> int:
    asked = client.post(f"/api/v1/items/{key}/ask", json={"question": "what is it made of?"})
    return asked.status_code


def test_check_agrees_after_a_build_and_names_what_an_index_lost(shop: Shop) -> None:
    code, out, summary = shop.check()
    assert code == 0, out
    assert summary["ok"] and summary["expected"] == ITEMS
    assert summary["counts"]["graph"] == summary["counts"]["item_text"] == ITEMS

    directory = shop.settings.index_dir / "item_text"
    index = VectorIndex.load(directory)
    lost = sorted(index.live_keys())[3]
    index.remove([lost])
    index.save(directory)  # behind the build's back
    table = shop.settings.index_dir / "items.jsonl"
    rows = table.read_text(encoding="utf-8").splitlines()
    dropped = json.loads(rows[0])["key"]
    table.write_text("\n".join(rows[1:]) + "\n", encoding="utf-8")

    code, out, summary = shop.check()
    assert code == 1
    found = {(d["where"], d["problem"]): d["keys"] for d in summary["disagreements"]}
    assert found == {("item_text", "missing"): [lost], ("item_table", "missing"): [dropped]}
    assert f"item_text: 1 missing: {lost}" in out


def test_a_deleted_item_is_gone_at_once_after_a_restart_and_after_rebuilds(shop: Shop) -> None:
    record = shop.records()[5]
    key, title = record["id"], record["title"]
    with shop.app() as (client, _):
        assert key in _keys(client, title)
        assert client.get(f"/api/v1/items/{key}").status_code == 200
        shop.admin(client, "DELETE", f"/api/v1/admin/nodes?label=Item&key={key}")
        assert key not in _keys(client, title)  # every channel: bm25, dense, graph
        assert client.get(f"/api/v1/items/{key}").status_code == 404
        assert _ask(client, key) == 404
        others = [hit["key"] for hit in _hits(client, title)]
        for other in others[:3]:  # nor as a similar item on other cards
            card = client.get(f"/api/v1/items/{other}").get_json()
            assert key not in [hit["key"] for hit in card["similar"]]

    assert key in load_items(shop.settings.index_dir / "items.jsonl")  # not rebuilt yet
    with shop.app() as (client, _):  # a restart: overrides are read at start
        assert key not in _keys(client, title)
        assert client.get(f"/api/v1/items/{key}").status_code == 404

    result = shop.build()  # incremental: the catalog did not change
    assert result.stages["extract"] == {"records": 0, "note": "nothing changed"}
    assert result.stages["overrides"]["already_applied"] == 1
    assert result.stages["text_index"]["removed"] == 1
    assert key not in load_items(shop.settings.index_dir / "items.jsonl")
    code, out, _ = shop.check()
    assert code == 0, out

    shop.change(key, title=title + " (new edition)")  # extraction writes it again
    result = shop.build()
    assert result.stages["extract"]["written"] >= 1
    assert result.stages["overrides"]["applied"] == {"delete": 1}
    assert not _graph_has(shop.settings, "Item", key)
    code, out, _ = shop.check()
    assert code == 0, out
    with shop.app() as (client, _):
        assert key not in _keys(client, title)
        assert _ask(client, key) == 404


def test_an_edited_price_shows_at_once_and_survives_rebuilds(shop: Shop) -> None:
    record = next(r for r in shop.records()[3:] if (r.get("price") or 0) > 20)
    key, title = record["id"], record["title"]
    query = f"{title} under $5"
    with shop.app() as (client, _):
        assert key not in _exact_keys(client, query)
        body = {"label": "Item", "key": key, "set": {"price": 2.5, "name": "Bargain " + title}}
        shop.admin(client, "PATCH", "/api/v1/admin/nodes", json=body)
        card = client.get(f"/api/v1/items/{key}").get_json()
        assert (card["price"], card["title"]) == (2.5, "Bargain " + title)
        hit = next(h for h in _hits(client, query) if h["key"] == key)  # the price filter
        assert (hit["price"], hit["title"]) == (2.5, "Bargain " + title)

    with shop.app() as (client, _):
        assert client.get(f"/api/v1/items/{key}").get_json()["price"] == 2.5
        assert key in _exact_keys(client, query)

    shop.change(key, description="Now with a longer description.")  # extraction rewrites it
    result = shop.build()
    assert result.stages["overrides"]["applied"] == {"edit": 1}
    row = load_items(shop.settings.index_dir / "items.jsonl")[key]
    assert (row["price"], row["title"]) == (2.5, "Bargain " + title)
    with open_store(shop.settings) as store:
        node = store.get_node(NodeRef("Item", key))
        assert node is not None and node.properties["price"] == 2.5
    code, out, _ = shop.check()
    assert code == 0, out
    with shop.app() as (client, _):
        card = client.get(f"/api/v1/items/{key}").get_json()
        assert (card["price"], card["title"]) == (2.5, "Bargain " + title)
        assert key in _exact_keys(client, query)


def test_merges_are_respected_by_rebuilds_until_an_admin_removes_them(shop: Shop) -> None:
    records = shop.records()
    keep, duplicate = records[0]["id"], records[1]["id"]
    brands = sorted({r["brand"] for r in records if r.get("brand")})
    with open_store(shop.settings) as store:
        brand_keep, brand_dup = (store.ref("Brand", name=b).key for b in brands[:2])
    with shop.app() as (client, _):
        merge = {"label": "Item", "keep": keep, "duplicate": duplicate}
        shop.admin(client, "POST", "/api/v1/admin/nodes/merge", json=merge)
        brand_merge = {"label": "Brand", "keep": brand_keep, "duplicate": brand_dup}
        shop.admin(client, "POST", "/api/v1/admin/nodes/merge", json=brand_merge)
        assert client.get(f"/api/v1/items/{duplicate}").status_code == 404
        assert duplicate not in _keys(client, records[1]["title"])

    brand_item = next(r["id"] for r in records[2:] if r.get("brand") == brands[1])
    shop.change(duplicate, title=records[1]["title"] + " v2")
    shop.change(brand_item, description="Restocked.")
    result = shop.build()  # both duplicates come back from extraction, and go again
    assert result.stages["overrides"]["applied"] == {"merge": 2}
    assert not _graph_has(shop.settings, "Item", duplicate)
    assert not _graph_has(shop.settings, "Brand", brand_dup)
    code, out, summary = shop.check()
    assert code == 0, out
    assert summary["hidden_by_overrides"] == 1

    with shop.app() as (client, _):
        listed = shop.admin(client, "GET", "/api/v1/admin/overrides")
        assert {(o["label"], o["key"]) for o in listed["overrides"]} == {
            ("Item", duplicate),
            ("Brand", brand_dup),
        }
        for override in listed["overrides"]:
            shop.admin(client, "DELETE", f"/api/v1/admin/overrides/{override['id']}")
    result = shop.build()  # takes the removals into effect
    assert result.stages["overrides"]["undone"] == 2
    assert _graph_has(shop.settings, "Item", duplicate)
    assert _graph_has(shop.settings, "Brand", brand_dup)
    code, out, summary = shop.check()
    assert code == 0, out
    assert summary["expected"] == ITEMS
    with shop.app() as (client, _):
        assert client.get(f"/api/v1/items/{duplicate}").status_code == 200
        assert not shop.admin(client, "GET", "/api/v1/admin/overrides?removed=true")["total"]


def test_an_override_whose_item_left_the_catalog_is_reported(shop: Shop) -> None:
    gone = shop.records()[7]["id"]
    with shop.app() as (client, _):
        shop.admin(client, "DELETE", f"/api/v1/admin/nodes?label=Item&key={gone}")
    shop.rewrite([r for r in shop.records() if r["id"] != gone])
    result = shop.build()
    overrides = result.stages["overrides"]
    assert overrides["orphaned"] == 1
    assert overrides["orphans"][0]["key"] == gone
    code, out, summary = shop.check()
    assert code == 0, out
    assert [o["key"] for o in summary["orphaned_overrides"]] == [gone]


def test_an_override_made_in_one_server_process_reaches_the_others(shop: Shop) -> None:
    from webapp.services import OVERRIDES_EVERY_S

    record = shop.records()[3]
    key, title = record["id"], record["title"]
    # two workers of `shopkg serve --workers 2`: each loads its own assistant
    apps = [create_app({"TESTING": True}, settings=shop.settings) for _ in range(2)]
    first, second = (app.test_client() for app in apps)
    try:
        assert key in _keys(second, title)
        shop.admin(first, "DELETE", f"/api/v1/admin/nodes?label=Item&key={key}")
        assert key not in _keys(first, title)  # the worker that took the request: at once
        time.sleep(OVERRIDES_EVERY_S + 0.2)
        assert key not in _keys(second, title)  # the other: from the metadata DB
        assert second.get(f"/api/v1/items/{key}").status_code == 404
    finally:
        for app in apps:
            app.extensions["shopkg"].close()
