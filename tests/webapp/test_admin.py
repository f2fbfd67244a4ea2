"""The admin browser and admin API: login, CSRF, bearer tokens, edits with audit entries."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from foundation.db import Database, accounts
from tests.webapp.conftest import ADMIN, PASSWORD, login

ADMIN_PAGES = ["/admin/", "/admin/jobs", "/admin/stats"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_need_a_login(client: FlaskClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_login_logout_and_pages(client: FlaskClient) -> None:
    csrf = login(client)
    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert response.headers["Cache-Control"] == "no-store"
    assert "vendor/cytoscape.min.js" in client.get("/admin/").get_data(as_text=True)
    assert "vendor/chart.umd.min.js" in client.get("/admin/stats").get_data(as_text=True)
    assert client.get("/api/v1/admin/whoami").get_json() == {"username": ADMIN}
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/admin/").status_code == 302


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("shopkg_session")
    assert cookie is not None
    return cookie.value


def test_a_session_cookie_stops_working_after_logout(app: Flask, database: Database) -> None:
    client = app.test_client()
    csrf = login(client)
    copied = _session_cookie(client)
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("shopkg_session", copied)
    assert replay.get("/admin/").status_code == 302
    assert replay.get("/api/v1/admin/whoami").status_code == 401
    with database.session() as db:
        actions = [e.action for e in accounts.audit_entries(db, limit=2)]
    assert actions == ["logout", "login"]


def test_logout_ends_only_that_session(app: Flask) -> None:
    first, second = app.test_client(), app.test_client()
    csrf = login(first)
    login(second)
    first.post("/admin/logout", data={"csrf_token": csrf})
    assert first.get("/admin/").status_code == 302
    assert second.get("/admin/").status_code == 200


def test_a_password_change_ends_the_users_sessions(app: Flask, database: Database) -> None:
    clients = [app.test_client(), app.test_client()]
    for client in clients:
        login(client)
        assert client.get("/admin/").status_code == 200
    with database.session() as db:
        accounts.set_password(db, ADMIN, "another long password")
    for client in clients:
        assert client.get("/admin/").status_code == 302
        assert client.get("/api/v1/admin/whoami").status_code == 401


def test_disabling_an_admin_ends_their_sessions_and_tokens(
    app: Flask, database: Database, token: str
) -> None:
    client = app.test_client()
    login(client)
    bearer = _bearer(token)
    assert client.get("/api/v1/admin/whoami", headers=bearer).status_code == 200
    with database.session() as db:
        accounts.set_active(db, ADMIN, False)
    assert client.get("/admin/").status_code == 302
    assert app.test_client().get("/api/v1/admin/whoami", headers=bearer).status_code == 401
    with database.session() as db:
        accounts.set_active(db, ADMIN, True)
    # the token works again; the ended session does not come back
    assert app.test_client().get("/api/v1/admin/whoami", headers=bearer).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_wrong_password_is_refused(client: FlaskClient) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/admin/login",
        data={"csrf_token": token.group(1), "username": ADMIN, "password": "wrong password!"},
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_page_escapes_what_it_echoes(client: FlaskClient) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    hostile = '"><script>alert(1)</script>'
    response = client.post(
        "/admin/login",
        data={"csrf_token": token.group(1), "username": hostile, "password": "x" * 12},
    )
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_login_form_needs_its_csrf_token(client: FlaskClient) -> None:
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": ADMIN, "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/admin/").status_code == 302


def test_login_redirects_only_to_local_pages(client: FlaskClient) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    data = {"csrf_token": token.group(1), "username": ADMIN, "password": PASSWORD}
    response = client.post("/admin/login", data={**data, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/admin/"


def test_admin_api_needs_authentication(client: FlaskClient) -> None:
    for method, path in [
        ("GET", "/api/v1/admin/whoami"),
        ("GET", "/api/v1/admin/jobs"),
        ("GET", "/api/v1/admin/audit"),
        ("PATCH", "/api/v1/admin/nodes"),
        ("DELETE", "/api/v1/admin/nodes?label=Item&key=sku-1"),
        ("POST", "/api/v1/admin/nodes/merge"),
        ("POST", "/api/v1/admin/jobs/1/rerun"),
    ]:
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "E1100"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/api/v1/admin/whoami", headers={"Authorization": "Bearer skg_forged"})
    assert bad.status_code == 401
    basic = client.get("/api/v1/admin/whoami", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def test_session_changes_need_the_csrf_header(editable_app: Flask) -> None:
    client = editable_app.test_client()
    csrf = login(client)
    body = {"label": "Item", "key": "sku-1", "set": {"price": 70.0}}
    refused = client.patch("/api/v1/admin/nodes", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "E1520"
    forged = client.patch("/api/v1/admin/nodes", json=body, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 403
    accepted = client.patch("/api/v1/admin/nodes", json=body, headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 200
    assert accepted.get_json()["node"]["properties"]["price"] == 70.0


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_edit_node_writes_the_audit_log(
    editable_app: Flask, token: str, database: Database
) -> None:
    client = editable_app.test_client()
    body = {"label": "Item", "key": "sku-2", "set": {"name": "Storm umbrella", "price": 25}}
    response = client.patch("/api/v1/admin/nodes", json=body, headers=_bearer(token))
    assert response.status_code == 200
    change = response.get_json()
    assert change["node"]["name"] == "Storm umbrella"
    node = client.get("/api/v1/graph/node?label=Item&key=sku-2").get_json()["node"]
    assert node["properties"]["price"] == 25.0
    found = client.get("/api/v1/graph/lookup?q=storm").get_json()["hits"]
    assert [h["node"]["id"] for h in found] == ["Item:sku-2"]  # the full-text index follows
    with database.session() as db:
        entry = accounts.audit_entries(db, limit=1)[0]
        assert (entry.actor, entry.action, entry.target_key) == (ADMIN, "edit_node", "sku-2")
        assert entry.details["changed"]["price"] == {"before": 19.5, "after": 25.0}
        assert entry.details["changed"]["name"] == {
            "before": "City commuter umbrella",
            "after": "Storm umbrella",
        }
        assert entry.id == change["audit_id"]


def test_edit_refuses_key_fields_unknown_properties_and_missing_nodes(
    editable_app: Flask, token: str
) -> None:
    client = editable_app.test_client()
    key_edit = {"label": "Brand", "key": "drywalk", "set": {"name": "Wetwalk"}}
    assert (
        client.patch("/api/v1/admin/nodes", json=key_edit, headers=_bearer(token)).status_code
        == 422
    )
    unknown = {"label": "Item", "key": "sku-1", "set": {"colour_of_sky": "blue"}}
    response = client.patch("/api/v1/admin/nodes", json=unknown, headers=_bearer(token))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "E310"
    missing = {"label": "Item", "key": "nope", "set": {"price": 1}}
    assert (
        client.patch("/api/v1/admin/nodes", json=missing, headers=_bearer(token)).status_code == 404
    )
    empty = {"label": "Item", "key": "sku-1", "set": {}}
    assert (
        client.patch("/api/v1/admin/nodes", json=empty, headers=_bearer(token)).status_code == 422
    )


def test_merge_writes_the_audit_log(editable_app: Flask, token: str) -> None:
    client = editable_app.test_client()
    merge = {"label": "Brand", "keep": "northpeak", "duplicate": "north peak"}
    merged = client.post("/api/v1/admin/nodes/merge", json=merge, headers=_bearer(token))
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["report"]["relations_moved"] == {"HAS_BRAND": 1}
    assert client.get("/api/v1/graph/node?label=Brand&key=north%20peak").status_code == 404
    brand = client.get("/api/v1/graph/node?label=Brand&key=northpeak").get_json()
    assert brand["total"] == 3
    self_merge = {"label": "Brand", "keep": "drywalk", "duplicate": "drywalk"}
    refused = client.post("/api/v1/admin/nodes/merge", json=self_merge, headers=_bearer(token))
    assert refused.status_code == 422
    other_label = {"label": "POI", "keep": "waterproof", "duplicate": "northpeak"}
    missing = client.post("/api/v1/admin/nodes/merge", json=other_label, headers=_bearer(token))
    assert missing.status_code == 404
    audit = client.get("/api/v1/admin/audit?limit=1", headers=_bearer(token)).get_json()
    entry = audit["entries"][0]
    assert (entry["action"], entry["target_key"]) == ("merge_nodes", "northpeak")
    assert entry["details"]["report"]["merged"] == {"label": "Brand", "key": "north peak"}
    assert audit["next_offset"] == 1


def test_delete_writes_the_audit_log(editable_app: Flask, token: str) -> None:
    client = editable_app.test_client()
    deleted = client.delete("/api/v1/admin/nodes?label=Item&key=sku-1", headers=_bearer(token))
    assert deleted.status_code == 200
    assert deleted.get_json()["report"]["relations_deleted"] == {
        "HAS_BRAND": 1,
        "HAS_POI": 1,
        "IN_CATEGORY": 1,
    }
    assert client.get("/api/v1/graph/node?label=Item&key=sku-1").status_code == 404
    again = client.delete("/api/v1/admin/nodes?label=Item&key=sku-1", headers=_bearer(token))
    assert again.status_code == 404
    audit = client.get("/api/v1/admin/audit", headers=_bearer(token)).get_json()
    entry = audit["entries"][0]
    assert (entry["action"], entry["target_key"]) == ("delete_node", "sku-1")
    assert entry["details"]["report"]["deleted_nodes"][0]["name"].startswith("Trail runner")


def test_degree_distribution(client: FlaskClient, token: str) -> None:
    degrees = client.get("/api/v1/admin/stats/degrees", headers=_bearer(token)).get_json()
    assert degrees["exact"] is True
    assert degrees["nodes_counted"] == 13
    assert sum(b["count"] for b in degrees["histogram"]) == 13
    assert degrees["mean_by_label"]["Item"] == pytest.approx(2.75)  # 3 + 3 + 2 + 3
