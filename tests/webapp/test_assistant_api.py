"""The public assistant API and the shopper's page, through the Flask test client."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from foundation.db import Database
from kg import GraphStore
from tests.webapp.conftest import MAX_UPLOAD, make_app
from tests.webapp.fakes import HOSTILE_TITLE, FakeAssistant


def test_search_returns_hits_with_images_prices_and_key_values(client: FlaskClient) -> None:
    response = client.get("/api/v1/search", query_string={"q": "waterproof"})
    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 2
    first = page["hits"][0]
    assert first["key"] == "sku-1"
    assert first["price"] == 79.0
    assert first["image_url"] == "/images/img-1"
    assert first["key_values"]["color"] == "navy blue"


def test_search_paginates_with_next_offset(client: FlaskClient) -> None:
    first = client.get("/api/v1/search?q=waterproof&limit=1").get_json()
    assert [h["key"] for h in first["hits"]] == ["sku-1"]
    assert first["next_offset"] == 1
    second = client.get("/api/v1/search?q=waterproof&limit=1&offset=1").get_json()
    assert [h["key"] for h in second["hits"]] == ["sku-3"]
    assert second["next_offset"] is None


def test_search_validates_its_parameters(client: FlaskClient) -> None:
    for query in ("", "?q=", "?q=x&limit=0", "?q=x&limit=51", "?q=x&offset=-1", "?q=x&limit=ten"):
        response = client.get(f"/api/v1/search{query}")
        assert response.status_code == 422, query
        error = response.get_json()["error"]
        assert error["code"] == "E1510"
        assert error["details"], query


def test_item_card_and_unknown_item(client: FlaskClient) -> None:
    card = client.get("/api/v1/items/sku-1").get_json()
    assert card["title"] == "Trail runner waterproof jacket"
    assert card["image_urls"] == ["/images/img-1"]
    assert card["similar"][0]["image_url"] is not None
    missing = client.get("/api/v1/items/nope")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "E400"


def test_ask_answers_with_evidence(client: FlaskClient) -> None:
    response = client.post("/api/v1/items/sku-1/ask", json={"question": "Is it waterproof?"})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["abstained"] is False
    assert {e["source"] for e in answer["evidence"]} == {"kg", "description"}


def test_ask_rejects_bad_bodies(client: FlaskClient) -> None:
    assert client.post("/api/v1/items/sku-1/ask", json={}).status_code == 422
    assert client.post("/api/v1/items/sku-1/ask", json={"question": "x" * 501}).status_code == 422
    extra = client.post("/api/v1/items/sku-1/ask", json={"question": "ok", "cypher": "MATCH"})
    assert extra.status_code == 422
    not_json = client.post("/api/v1/items/sku-1/ask", data="question=hi")
    assert not_json.status_code == 415
    assert not_json.get_json()["error"]["code"] == "E1530"
    broken = client.post(
        "/api/v1/items/sku-1/ask", data="{not json", content_type="application/json"
    )
    assert broken.status_code == 400
    assert client.post("/api/v1/items/nope/ask", json={"question": "hi"}).status_code == 404


def test_turns_keep_a_session(client: FlaskClient, assistant: FakeAssistant) -> None:
    first = client.post("/api/v1/assistant/turns", json={"text": "umbrella"}).get_json()
    session_id = first["session_id"]
    assert len(session_id) == 32
    assert first["hits"][0]["key"] == "sku-2"
    again = client.post(
        "/api/v1/assistant/turns", json={"text": "socks", "session_id": session_id}
    ).get_json()
    assert again["session_id"] == session_id
    assert assistant.sessions[session_id] == ["umbrella", "socks"]
    bad = client.post("/api/v1/assistant/turns", json={"text": "x", "session_id": "../../x"})
    assert bad.status_code == 422


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_photo_search(client: FlaskClient, assistant: FakeAssistant) -> None:
    response = client.post(
        "/api/v1/search/image",
        data={"image": (io.BytesIO(_png()), "photo.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert assistant.image_searches == 1
    assert response.get_json()["hits"]
    missing = client.post("/api/v1/search/image", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422


def test_uploads_may_be_larger_than_other_requests_but_are_limited(client: FlaskClient) -> None:
    big = b"\x89PNG" + b"0" * (128 * 1024)  # over max_request_bytes, under max_upload_bytes
    ok = client.post(
        "/api/v1/search/image",
        data={"image": (io.BytesIO(big), "photo.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 200
    huge = b"0" * (MAX_UPLOAD + 1)
    too_big = client.post(
        "/api/v1/search/image",
        data={"image": (io.BytesIO(huge), "photo.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 413
    assert too_big.get_json()["error"]["code"] == "E1550"
    body = {"question": "x" * (128 * 1024)}
    assert client.post("/api/v1/items/sku-1/ask", json=body).status_code == 413


def test_item_images_are_served_and_unknown_ones_are_404(client: FlaskClient) -> None:
    response = client.get("/images/img-1")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data().startswith(b"\x89PNG")
    response.close()
    assert client.get("/images/nope").status_code == 404
    assert client.get("/images/../../etc/passwd").status_code == 404


def test_assistant_page_shows_the_demo_note_and_no_inline_script(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "generated demo data" in html
    assert "<script>" not in html  # scripts only by src
    assert 'type="module" src="/static/js/assistant.js"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_no_demo_note_for_a_real_catalog(
    tmp_path: Path, assistant: FakeAssistant, shared_store: GraphStore, database: Database
) -> None:
    assistant.is_demo = False
    app = make_app(tmp_path, assistant=assistant, store=shared_store, database=database)
    assert "demo data" not in app.test_client().get("/").get_data(as_text=True)


def test_catalog_text_comes_back_as_json_data_not_markup(client: FlaskClient) -> None:
    card = client.get("/api/v1/items/sku-3").get_json()
    assert card["title"] == HOSTILE_TITLE  # the JSON carries the text; the page sets textContent
    response = client.get("/api/v1/items/sku-3")
    assert response.mimetype == "application/json"


def test_public_endpoints_are_rate_limited(
    tmp_path: Path, assistant: FakeAssistant, shared_store: GraphStore, database: Database
) -> None:
    app: Flask = make_app(
        tmp_path,
        assistant=assistant,
        store=shared_store,
        database=database,
        config={"PUBLIC_RATE_LIMIT": "3 per minute"},
    )
    client = app.test_client()
    statuses = [client.get("/api/v1/search?q=boot").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = client.get("/api/v1/search?q=boot")
    assert limited.get_json()["error"]["code"] == "E1570"
    assert client.get("/").status_code == 200  # the page itself is not limited
