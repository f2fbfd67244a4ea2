"""Rate limits come from the settings: the limits, on or off, their storage, and which
address a request counts against (X-Forwarded-For only behind trusted proxies)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from foundation.db import Database
from foundation.errors import ConfigError
from foundation.settings import load_settings
from kg import GraphStore
from tests.webapp.conftest import ADMIN, make_app
from tests.webapp.fakes import FakeAssistant

SEARCH = "/api/v1/search?q=boot"


@pytest.fixture
def build(
    tmp_path: Path, assistant: FakeAssistant, shared_store: GraphStore, database: Database
) -> Any:
    def _build(**settings: Any) -> Flask:
        return make_app(
            tmp_path, assistant=assistant, store=shared_store, database=database, settings=settings
        )

    return _build


def _statuses(app: Flask, times: int, **headers: str) -> list[int]:
    client = app.test_client()
    return [client.get(SEARCH, headers=headers).status_code for _ in range(times)]


def test_the_defaults_suit_a_crowd_behind_one_address() -> None:
    settings = load_settings()
    assert settings.rate_limits_enabled
    assert settings.public_rate_limit == "6000 per minute"
    assert settings.login_rate_limit == "10 per minute"
    assert settings.trusted_proxies == 0
    assert settings.rate_limit_storage == "memory://"


def test_the_public_rate_limit_setting_sets_the_limit(build: Any) -> None:
    app = build(public_rate_limit="2 per minute")
    assert _statuses(app, 3) == [200, 200, 429]
    limited = app.test_client().get(SEARCH)
    assert limited.status_code == 429
    assert limited.mimetype == "application/json"
    error = limited.get_json()["error"]
    assert error["status"] == 429 and error["code"] == "E1570"
    assert "2 per 1 minute" in error["message"]
    assert limited.headers["Retry-After"]


def test_rate_limits_can_be_turned_off(build: Any) -> None:
    app = build(public_rate_limit="1 per minute", rate_limits_enabled=False)
    assert _statuses(app, 3) == [200, 200, 200]


def test_x_forwarded_for_is_ignored_without_trusted_proxies(build: Any) -> None:
    app = build(public_rate_limit="2 per minute")
    client = app.test_client()
    statuses = [
        client.get(SEARCH, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]  # one bucket: the socket's peer


def test_x_forwarded_for_names_the_client_behind_a_trusted_proxy(build: Any) -> None:
    app = build(public_rate_limit="2 per minute", trusted_proxies=1)
    first = {"X-Forwarded-For": "198.51.100.1"}
    second = {"X-Forwarded-For": "198.51.100.2"}
    assert _statuses(app, 3, **first) == [200, 200, 429]
    assert _statuses(app, 2, **second) == [200, 200]
    # with one trusted proxy only the address it appended counts, not what the client sent
    spoofed = {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}
    assert _statuses(app, 1, **spoofed) == [429]


def test_the_login_rate_limit_setting_sets_the_limit(build: Any) -> None:
    client = build(login_rate_limit="1 per minute").test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    guess = {"csrf_token": found.group(1), "username": ADMIN, "password": "a wrong guess"}
    assert client.post("/admin/login", data=guess).status_code == 401
    assert client.post("/admin/login", data=guess).status_code == 429


def test_the_storage_uri_is_passed_to_the_limiter(
    build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FakeRedis:
        def __init__(self, uri: str) -> None:
            self.uri = uri

        def register_script(self, script: str) -> None:
            return None

    fake = types.ModuleType("redis")
    fake.__dict__.update(__version__="5.2.0", from_url=lambda uri, **_: FakeRedis(uri))
    monkeypatch.setitem(sys.modules, "redis", fake)
    app = build(rate_limit_storage="redis://cache.internal:6379/2")
    limiter = next(iter(app.extensions["limiter"]))
    assert limiter.storage.storage.uri == "redis://cache.internal:6379/2"


def test_a_redis_storage_without_the_redis_package_is_a_clear_error(
    build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis raises ImportError
    with pytest.raises(ConfigError, match="needs the redis package: pip install redis"):
        build(rate_limit_storage="redis://cache.internal:6379")
