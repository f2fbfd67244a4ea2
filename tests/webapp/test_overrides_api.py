"""Admin edits, merges and deletes are recorded as overrides, told to the live assistant, and
can be listed and removed (docs/design-notes.md, "Admin overrides")."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from foundation.db import Database, overrides
from foundation.db.overrides import Override, OverrideSet
from kg import GraphStore
from tests.webapp.conftest import ADMIN, make_app
from tests.webapp.fakes import FakeAssistant


class ListeningAssistant(FakeAssistant):
    """The assistant double, applying overrides the way the real one is told them."""

    def __init__(self, image_dir: Path) -> None:
        super().__init__(image_dir)
        self.applied: list[Override] = []

    def apply_override(self, override: Override) -> None:
        self.applied.append(override)


@pytest.fixture
def listening(image_dir: Path) -> ListeningAssistant:
    return ListeningAssistant(image_dir)


@pytest.fixture
def live_app(
    tmp_path: Path, listening: ListeningAssistant, own_store: GraphStore, database: Database
) -> Flask:
    return make_app(tmp_path, assistant=listening, store=own_store, database=database)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_edits_merges_and_deletes_become_overrides_the_assistant_is_told(
    live_app: Flask, token: str, database: Database, listening: ListeningAssistant
) -> None:
    client = live_app.test_client()
    edit = {"label": "Item", "key": "sku-2", "set": {"price": 9.5}}
    edited = client.patch("/api/v1/admin/nodes", json=edit, headers=_bearer(token))
    assert edited.status_code == 200
    merge = {"label": "Brand", "keep": "northpeak", "duplicate": "north peak"}
    merged = client.post("/api/v1/admin/nodes/merge", json=merge, headers=_bearer(token))
    assert merged.status_code == 200
    deleted = client.delete("/api/v1/admin/nodes?label=Item&key=sku-1", headers=_bearer(token))
    assert deleted.status_code == 200

    with database.session() as db:
        active = overrides.active_overrides(db)
    assert [(o.kind, o.label, o.key, o.merge_into) for o in active] == [
        ("edit", "Item", "sku-2", None),
        ("merge", "Brand", "north peak", "northpeak"),
        ("delete", "Item", "sku-1", None),
    ]
    assert active[0].properties == {"price": 9.5}
    assert active[0].audit_id == edited.get_json()["audit_id"]
    assert all(o.actor == ADMIN for o in active)
    assert listening.applied == active  # in-process, as they were made
    folded = OverrideSet.of(active)
    assert folded.hidden_items == {"sku-1"}
    assert folded.item_edits("sku-2") == {"price": 9.5}


def test_a_refused_change_records_no_override(
    live_app: Flask, token: str, database: Database, listening: ListeningAssistant
) -> None:
    client = live_app.test_client()
    missing = {"label": "Item", "key": "nope", "set": {"price": 1}}
    edited = client.patch("/api/v1/admin/nodes", json=missing, headers=_bearer(token))
    assert edited.status_code == 404
    deleted = client.delete("/api/v1/admin/nodes?label=Item&key=nope", headers=_bearer(token))
    assert deleted.status_code == 404
    with database.session() as db:
        assert overrides.active_overrides(db) == []
    assert listening.applied == []


def test_admins_list_and_remove_overrides(live_app: Flask, token: str, database: Database) -> None:
    client = live_app.test_client()
    for key in ("sku-1", "sku-4"):
        url = f"/api/v1/admin/nodes?label=Item&key={key}"
        assert client.delete(url, headers=_bearer(token)).status_code == 200
    listed = client.get("/api/v1/admin/overrides?limit=1", headers=_bearer(token)).get_json()
    assert listed["total"] == 2 and listed["next_offset"] == 1
    newest = listed["overrides"][0]
    assert (newest["kind"], newest["label"], newest["key"]) == ("delete", "Item", "sku-4")
    assert newest["removed_at"] is None

    removed = client.delete(f"/api/v1/admin/overrides/{newest['id']}", headers=_bearer(token))
    assert removed.status_code == 200
    body = removed.get_json()
    assert body["override"]["removed_by"] == ADMIN and "next build" in body["note"]
    left = client.get("/api/v1/admin/overrides", headers=_bearer(token)).get_json()
    assert [o["key"] for o in left["overrides"]] == ["sku-1"]
    waiting = client.get("/api/v1/admin/overrides?removed=true", headers=_bearer(token))
    assert [o["key"] for o in waiting.get_json()["overrides"]] == ["sku-4"]
    again = client.delete(f"/api/v1/admin/overrides/{newest['id']}", headers=_bearer(token))
    assert again.status_code == 404
    for bad in ("999999", "²", "x"):
        response = client.delete(f"/api/v1/admin/overrides/{bad}", headers=_bearer(token))
        assert response.status_code == 404
    audit = client.get("/api/v1/admin/audit?limit=1", headers=_bearer(token)).get_json()
    assert audit["entries"][0]["action"] == "remove_override"
    with database.session() as db:
        assert overrides.forget_overrides(db, [newest["id"]]) == 1
        assert overrides.removed_overrides(db) == []


def test_overrides_need_an_admin(live_app: Flask) -> None:
    client = live_app.test_client()
    assert client.get("/api/v1/admin/overrides").status_code == 401
    assert client.delete("/api/v1/admin/overrides/1").status_code == 401
