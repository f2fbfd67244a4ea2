"""Live rooms over the API: every host operation and its auth, viewers' questions grouped by
meaning and answered once per burst, pins first, bad input as clear 4xx answers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from foundation.db import AuditEntry, Database, LiveQuestion
from kg import GraphStore
from tests.webapp.conftest import login, make_app
from tests.webapp.fakes import HOSTILE_TITLE, FakeAssistant

ROOMS = "/api/v1/admin/rooms"
VIEWER = "viewer-0001"


class CountingAssistant(FakeAssistant):
    """The fake assistant, counting the questions it really answers."""

    asked: int = 0

    def ask(self, key: str, question: str) -> Any:
        self.asked += 1
        return super().ask(key, question)


@pytest.fixture
def live_app(
    tmp_path: Path,
    image_dir: Path,
    shared_store: GraphStore,
    database: Database,
    question_encoder: Any,
) -> Flask:
    return make_app(
        tmp_path,
        assistant=CountingAssistant(image_dir),
        store=shared_store,
        database=database,
        question_encoder=question_encoder,
        settings={"live_question_rate_limit": "100 per minute"},
    )


@pytest.fixture
def host(live_app: Flask, token: str) -> FlaskClient:
    client = live_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _live_room(host: FlaskClient, items: list[str] | None = None) -> int:
    created = host.post(ROOMS, json={"title": "Rain gear", "items": items or ["sku-1", "sku-2"]})
    assert created.status_code == 201, created.get_json()
    number: int = created.get_json()["id"]
    assert host.post(f"{ROOMS}/{number}/live", json={}).status_code == 200
    return number


def _ask(client: FlaskClient, number: int, question: str, viewer: str = VIEWER) -> Any:
    return client.post(f"/api/v1/rooms/{number}/ask", json={"question": question, "viewer": viewer})


def test_a_host_creates_fills_runs_switches_and_ends_a_room(
    host: FlaskClient, database: Database
) -> None:
    created = host.post(ROOMS, json={"title": "Rain gear", "items": ["sku-1"]})
    assert created.status_code == 201
    room = created.get_json()
    assert room["state"] == "scheduled" and room["host"] == "admin"
    number = room["id"]
    items = host.put(f"{ROOMS}/{number}/items", json={"items": ["sku-2", "sku-1"]})
    assert items.get_json()["items"] == ["sku-2", "sku-1"]
    live = host.post(f"{ROOMS}/{number}/live", json={}).get_json()
    assert live["state"] == "live" and live["current_item"] == "sku-2"
    switched = host.post(f"{ROOMS}/{number}/switch", json={"item": "sku-1"}).get_json()
    assert switched["current_item"] == "sku-1" and switched["version"] > live["version"]
    assert [r["id"] for r in host.get(ROOMS).get_json()["rooms"]] == [number]
    console = host.get(f"{ROOMS}/{number}").get_json()
    assert console["room"]["current_item"] == "sku-1" and console["groups"] == []
    ended = host.post(f"{ROOMS}/{number}/end").get_json()
    assert ended["state"] == "ended" and ended["ended_at"]
    with database.session() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.actor == "admin")))
    for action in ("create_room", "set_room_items", "room_live", "room_switch", "room_end"):
        assert action in actions


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", ROOMS),
        ("get", ROOMS),
        ("get", f"{ROOMS}/1"),
        ("put", f"{ROOMS}/1/items"),
        ("post", f"{ROOMS}/1/live"),
        ("post", f"{ROOMS}/1/switch"),
        ("post", f"{ROOMS}/1/end"),
        ("post", f"{ROOMS}/1/pins"),
        ("delete", f"{ROOMS}/1/pins/1"),
        ("get", f"{ROOMS}/1/questions"),
    ],
)
def test_every_host_operation_needs_an_admin(live_app: Flask, method: str, path: str) -> None:
    response = getattr(live_app.test_client(), method)(path, json={})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "E1100"


def test_a_logged_in_host_needs_the_csrf_token_to_change_a_room(live_app: Flask) -> None:
    client = live_app.test_client()
    csrf = login(client)
    refused = client.post(ROOMS, json={"title": "R", "items": ["sku-1"]})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "E1520"
    made = client.post(
        ROOMS, json={"title": "R", "items": ["sku-1"]}, headers={"X-CSRFToken": csrf}
    )
    assert made.status_code == 201


def test_bad_room_changes_are_clear_client_errors(host: FlaskClient) -> None:
    unknown = host.post(ROOMS, json={"title": "R", "items": ["sku-1", "nope", "sku-404"]})
    assert unknown.status_code == 422
    error = unknown.get_json()["error"]
    assert "'nope'" in error["message"] and [d["loc"][-1] for d in error["details"]] == ["1", "2"]
    empty = host.post(ROOMS, json={"title": "Empty"}).get_json()["id"]
    no_items = host.post(f"{ROOMS}/{empty}/live", json={})
    assert no_items.status_code == 409 and "no items" in no_items.get_json()["error"]["message"]
    number = _live_room(host)
    elsewhere = host.post(f"{ROOMS}/{number}/switch", json={"item": "sku-3"})
    assert (
        elsewhere.status_code == 400 and "not in room" in elsewhere.get_json()["error"]["message"]
    )
    assert host.post(f"{ROOMS}/{number}/live", json={}).status_code == 409
    assert host.get(f"{ROOMS}/99999").status_code == 404
    assert host.get(f"{ROOMS}/abc").status_code == 404
    host.post(f"{ROOMS}/{number}/end")
    assert host.post(f"{ROOMS}/{number}/end").status_code == 409


def test_viewers_see_the_room_with_its_items_as_text(host: FlaskClient, live_app: Flask) -> None:
    number = _live_room(host, ["sku-3", "sku-1"])
    room = live_app.test_client().get(f"/api/v1/rooms/{number}").get_json()
    assert room["state"] == "live" and room["current_item"] == "sku-3"
    assert [i["title"] for i in room["items"]] == [HOSTILE_TITLE, "Trail runner waterproof jacket"]
    assert room["events_url"].endswith(f"/rooms/{number}/events")


def test_questions_that_mean_the_same_are_one_group_with_their_answer(
    host: FlaskClient, live_app: Flask
) -> None:
    number = _live_room(host)
    viewer = live_app.test_client()
    first = _ask(viewer, number, "Is it waterproof?").get_json()
    assert first["answered_by"] == "assistant" and not first["abstained"]
    assert first["evidence"] and first["item_key"] == "sku-1"
    second = _ask(viewer, number, "does water get in", "viewer-0002").get_json()
    other = _ask(viewer, number, "what colour is it", "viewer-0003").get_json()
    assert second["group_id"] == first["group_id"] != other["group_id"]
    console = host.get(f"{ROOMS}/{number}").get_json()
    counts = {g["id"]: g["questions"] for g in console["groups"]}
    assert counts == {first["group_id"]: 2, other["group_id"]: 1}
    top = console["groups"][0]
    assert top["label"] == "Is it waterproof?" and top["topic"] == "poi:waterproof"
    assert console["questions"] == 3 and console["questions_per_minute"] == 3
    log = host.get(f"{ROOMS}/{number}/questions").get_json()["questions"]
    assert [q["question"] for q in log][::-1] == [
        "Is it waterproof?", "does water get in", "what colour is it",
    ]  # fmt: skip


def test_a_pinned_or_written_answer_is_given_first_for_its_group(
    host: FlaskClient, live_app: Flask
) -> None:
    number = _live_room(host)
    viewer = live_app.test_client()
    group = _ask(viewer, number, "is it waterproof").get_json()["group_id"]
    pinned = host.post(f"{ROOMS}/{number}/pins", json={"group_id": group})
    assert pinned.status_code == 200 and not pinned.get_json()["written"]
    better = "Yes: taped seams, tested in a 2-hour shower."
    written = host.post(f"{ROOMS}/{number}/pins", json={"group_id": group, "text": better})
    assert written.get_json()["written"]
    answer = _ask(viewer, number, "Does water get in?", "viewer-0002").get_json()
    assert answer["answered_by"] == "pinned" and answer["text"] == better
    room = viewer.get(f"/api/v1/rooms/{number}").get_json()
    assert [p["text"] for p in room["pins"]] == [better]
    assert host.delete(f"{ROOMS}/{number}/pins/{group}").status_code == 200
    again = _ask(viewer, number, "Does water get in?", "viewer-0003").get_json()
    assert again["answered_by"] == "assistant"
    assert host.post(f"{ROOMS}/{number}/pins", json={"group_id": 999}).status_code == 404


def test_a_burst_of_one_question_is_answered_once_and_every_asking_is_logged(
    host: FlaskClient, live_app: Flask, database: Database
) -> None:
    number = _live_room(host)
    assistant: CountingAssistant = live_app.extensions["shopkg"].assistant
    statuses: list[int] = []

    def viewer(n: int) -> None:
        client = live_app.test_client()
        statuses.append(_ask(client, number, "Is it waterproof?", f"viewer-{n:04d}").status_code)

    threads = [threading.Thread(target=viewer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 12
    assert assistant.asked == 1
    with database.session() as db:
        logged = db.scalar(
            select(func.count()).select_from(LiveQuestion).where(LiveQuestion.room_id == number)
        )
    assert logged == 12
    host.post(f"{ROOMS}/{number}/switch", json={"item": "sku-2"})
    _ask(live_app.test_client(), number, "Is it waterproof?")
    assert assistant.asked == 2  # another item: answered anew


def test_bad_questions_are_clear_client_errors_and_ended_rooms_take_none(
    host: FlaskClient, live_app: Flask
) -> None:
    number = _live_room(host)
    viewer = live_app.test_client()
    too_long = _ask(viewer, number, "x" * 501)
    assert too_long.status_code == 422 and too_long.get_json()["error"]["code"] == "E1510"
    assert _ask(viewer, 99999, "is it warm").status_code == 404
    bad_item = viewer.post(
        f"/api/v1/rooms/{number}/ask", json={"question": "is it warm", "item": "sku-3"}
    )
    assert bad_item.status_code == 400
    host.post(f"{ROOMS}/{number}/end")
    ended = _ask(viewer, number, "is it warm")
    assert ended.status_code == 409 and "ended" in ended.get_json()["error"]["message"]


def test_a_flooding_viewer_is_limited_and_others_still_ask(
    tmp_path: Path,
    image_dir: Path,
    shared_store: GraphStore,
    database: Database,
    question_encoder: Any,
    token: str,
) -> None:
    app = make_app(
        tmp_path,
        assistant=FakeAssistant(image_dir),
        store=shared_store,
        database=database,
        question_encoder=question_encoder,
        settings={"live_question_rate_limit": "3 per minute"},
    )
    host = app.test_client()
    host.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    number = _live_room(host)
    client = app.test_client()
    statuses = [_ask(client, number, f"is it waterproof {n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = _ask(client, number, "is it warm")
    assert limited.get_json()["error"]["code"] == "E1570"
    assert _ask(client, number, "is it warm", "viewer-other").status_code == 200
    log = host.get(f"{ROOMS}/{number}/questions").get_json()["questions"]
    assert len(log) == 4  # every question taken is in the log


def test_viewers_search_the_room_or_the_whole_shop(host: FlaskClient, live_app: Flask) -> None:
    number = _live_room(host, ["sku-2", "sku-4"])
    viewer = live_app.test_client()
    in_room = viewer.get(f"/api/v1/rooms/{number}/search?q=waterproof").get_json()
    assert in_room["hits"] == []
    shop = viewer.get(f"/api/v1/rooms/{number}/search?q=waterproof&scope=shop").get_json()
    assert {h["key"] for h in shop["hits"]} == {"sku-1", "sku-3"}
    umbrella = viewer.get(f"/api/v1/rooms/{number}/search?q=umbrella").get_json()
    assert [h["key"] for h in umbrella["hits"]] == ["sku-2"]


def test_the_viewer_page_is_public_and_the_console_needs_a_login(
    host: FlaskClient, live_app: Flask
) -> None:
    created = host.post(ROOMS, json={"title": "<b>Rain</b> & gear", "items": ["sku-1"]})
    number = created.get_json()["id"]
    viewer = live_app.test_client()
    page = viewer.get(f"/live/{number}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "&lt;b&gt;Rain&lt;/b&gt; &amp; gear" in html and "<b>Rain</b>" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://localhost:8001" in csp and "script-src 'self'" in csp
    assert viewer.get("/live/99999").status_code == 404
    console = viewer.get(f"/admin/rooms/{number}")
    assert console.status_code == 302 and "/admin/login" in console.headers["Location"]
    login(viewer)
    assert f'data-room="{number}"' in viewer.get(f"/admin/rooms/{number}").get_data(as_text=True)
    assert viewer.get("/admin/rooms").status_code == 200


def test_questions_about_no_fact_group_by_their_own_meaning(
    host: FlaskClient, live_app: Flask
) -> None:
    number = _live_room(host)
    viewer = live_app.test_client()
    washable = _ask(viewer, number, "is it machine washable").get_json()["group_id"]
    wash = _ask(viewer, number, "can I wash it", "viewer-0002").get_json()["group_id"]
    sizes = _ask(viewer, number, "which sizes are there", "viewer-0003").get_json()["group_id"]
    assert washable == wash != sizes


def test_remembered_answers_are_dropped_when_the_items_facts_change(
    host: FlaskClient, live_app: Flask
) -> None:
    number = _live_room(host)
    services = live_app.extensions["shopkg"]
    assistant: CountingAssistant = services.assistant
    for facts in ("build-1:0", "build-1:0", "build-1:1", "build-2:1"):
        services.live.ask(assistant, number, VIEWER, "is it waterproof", facts_version=facts)
    assert assistant.asked == 3  # once per version of the facts
