"""Two real pages of a live room in headless Chromium: the host's console and a viewer's
phone. The viewer asks, the host sees the questions grouped by meaning; the host puts
another item on stream, the viewer's card follows without a reload (server-sent events from
the push server beside the WSGI server)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foundation.db import Database, rooms
from kg import store_from_uri
from tests.webapp.conftest import ADMIN, PASSWORD, DbTemplate, make_app
from tests.webapp.fakes import FakeAssistant
from tests.webapp.test_browser import (
    DESKTOP,
    PHONE,
    _page_errors,
    _shot,
    browser_ready,
    chromium,
)
from webapp.push import PushThread

pytestmark = pytest.mark.browser
__all__ = ["browser_ready"]  # the fixture, shared with the other browser tests
WAIT_S = 10


@pytest.fixture(scope="module")
def live_site(
    browser_ready: None,
    tmp_path_factory: pytest.TempPathFactory,
    graph_template: Path,
    db_template: DbTemplate,
    image_dir: Path,
    question_encoder: Any,
) -> Iterator[tuple[str, int]]:
    """The web app under waitress and the push server beside it; a live room in the DB."""
    from waitress.server import BaseWSGIServer, create_server

    root = tmp_path_factory.mktemp("live-room")
    shutil.copytree(graph_template, root / "graph")
    shutil.copyfile(db_template.path, root / "meta.db")
    store = store_from_uri(f"kuzu://{root / 'graph'}").open()
    database = Database(f"sqlite:///{root / 'meta.db'}").connect()
    with database.session() as db:
        room = rooms.create_room(db, "Rainy day picks", ADMIN, ["sku-1", "sku-2"], actor=ADMIN)
        rooms.go_live(db, room.id, actor=ADMIN)
    push = PushThread(database, "127.0.0.1", 0, poll_s=0.2)
    push_port = push.start()
    app = make_app(
        root,
        assistant=FakeAssistant(image_dir),
        store=store,
        database=database,
        question_encoder=question_encoder,
        settings={"push_port": push_port},
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    assert isinstance(server, BaseWSGIServer) and server.socket is not None
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", room.id
    finally:
        server.close()
        thread.join(timeout=5)
        push.stop()
        database.close()
        store.close()


@pytest.fixture(scope="module")
def two_browsers(
    live_site: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any]]:
    host = chromium(tmp_path_factory.mktemp("host-profile"), DESKTOP)
    try:
        viewer = chromium(tmp_path_factory.mktemp("viewer-profile"), PHONE)
        try:
            yield host, viewer
        finally:
            viewer.quit()
    finally:
        host.quit()


def _wait(driver: Any, condition: Any, timeout: float = WAIT_S) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def _text(driver: Any, css: str) -> str:
    """The text of the first element ``css`` selects ('' when none), as the DOM holds it."""
    found = driver.execute_script(
        "const n = document.querySelector(arguments[0]); return n ? n.textContent : ''", css
    )
    return " ".join(str(found).split())


def test_the_host_sees_questions_grouped_and_the_viewer_follows_a_switch(
    live_site: tuple[str, int], two_browsers: tuple[Any, Any]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    site, number = live_site
    host, viewer = two_browsers
    viewer.get(f"{site}/live/{number}")
    _wait(viewer, lambda d: _text(d, "#card-title") == "Trail runner waterproof jacket")
    for question in ("Is it waterproof?", "does water get in"):
        box = viewer.find_element(By.ID, "ask-input")
        box.clear()
        box.send_keys(question, Keys.ENTER)
        _wait(viewer, lambda d: _text(d, "#answer .answer-text") not in ("", "Thinking…"))
        if question == "Is it waterproof?":
            assert _text(viewer, "#answer .answer-text") == "Yes, it is waterproof."
            assert "waterproof" in _text(viewer, "#answer .evidence-list")
        viewer.execute_script("document.getElementById('answer').replaceChildren()")
    _shot(viewer, "live-viewer-phone")

    host.get(f"{site}/admin/login")
    host.find_element(By.ID, "username").send_keys(ADMIN)
    host.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    # the login posts and redirects: going on before it lands would abort it
    _wait(host, lambda d: "/admin/login" not in d.current_url)
    host.get(f"{site}/admin/rooms/{number}")
    _wait(host, lambda d: _text(d, "#groups .group-count") == "2")
    assert _text(host, "#groups .group-label") == "Is it waterproof?"
    assert _text(host, "#groups .group-answer")  # the answer the last asker got
    _shot(host, "live-host-console")

    switch = _wait(
        host, lambda d: d.find_element(By.CSS_SELECTOR, '#room-items button[data-key="sku-2"]')
    )
    clicked = time.monotonic()
    switch.click()
    _wait(viewer, lambda d: _text(d, "#card-title") == "City commuter umbrella", timeout=3)
    followed = time.monotonic() - clicked
    assert followed < 1.5, f"the viewer's card followed the switch after {followed:.2f} s"
    assert _text(viewer, "#card-note") == "On stream now"
    assert viewer.execute_script("return performance.getEntriesByType('navigation').length") == 1
    assert _page_errors(viewer) == [] and _page_errors(host) == []
