"""The app factory: settings, the secret key, security headers, JSON errors, the lazy
assistant, and `shopkg serve`."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from assistant.api import AssistantAPI
from foundation.db import Database
from foundation.errors import ShopKGError, VectorIndexError
from foundation.settings import Settings, load_settings
from kg import GraphStore
from shopkg.cli import cli
from tests.webapp.fakes import FakeAssistant
from webapp import create_app
from webapp.security import secret_key


def test_secret_key_is_generated_once_with_private_permissions(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = secret_key(settings)
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert secret_key(settings) == first
    assert secret_key(load_settings(data_dir=tmp_path / "data", secret_key="s" * 40)) == "s" * 40


def test_creating_the_app_opens_nothing(tmp_path: Path) -> None:
    app = create_app(settings=load_settings(data_dir=tmp_path / "data"))
    assert app.config["MAX_CONTENT_LENGTH"] == 1 << 20
    assert not (tmp_path / "data" / "graph").exists()
    assert not (tmp_path / "data" / "shopkg.db").exists()


def test_assistant_endpoints_answer_503_when_the_assistant_cannot_start(
    tmp_path: Path,
    shared_store: GraphStore,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import assistant

    def build_assistant(settings: Settings, published: object = None) -> AssistantAPI:
        raise ShopKGError("no build has finished in this data directory yet")

    monkeypatch.setattr(assistant, "build_assistant", build_assistant)
    app = create_app(
        settings=load_settings(data_dir=tmp_path / "data"), store=shared_store, database=database
    )
    client = app.test_client()
    response = client.get("/api/v1/search?q=boots")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "E1560"
    assert "no build has finished" in error["message"]
    assert client.get("/api/v1/graph/stats").status_code == 200  # the graph still works
    assert "demo data" not in client.get("/").get_data(as_text=True)
    app.config["SHOPKG_DEMO_CATALOG"] = True  # the flag for when no assistant says so
    assert "generated demo data" in client.get("/").get_data(as_text=True)


def test_the_real_assistant_is_built_lazily_once_from_the_settings(
    tmp_path: Path,
    shared_store: GraphStore,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    image_dir: Path,
) -> None:
    import assistant

    built: list[Settings] = []

    def build_assistant(settings: Settings) -> FakeAssistant:
        built.append(settings)
        return FakeAssistant(image_dir)

    monkeypatch.setattr(assistant, "build_assistant", build_assistant, raising=False)
    settings = load_settings(data_dir=tmp_path / "data")
    app = create_app(settings=settings, store=shared_store, database=database)
    assert built == []
    client = app.test_client()
    assert client.get("/api/v1/search?q=umbrella").get_json()["total"] == 1
    assert client.get("/api/v1/items/sku-2").status_code == 200
    assert built == [settings]


def test_an_assistant_that_cannot_start_answers_503(
    tmp_path: Path,
    shared_store: GraphStore,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import assistant

    def build_assistant(settings: Settings) -> FakeAssistant:
        raise VectorIndexError("no item index in var/indexes; run shopkg build")

    monkeypatch.setattr(assistant, "build_assistant", build_assistant, raising=False)
    app = create_app(
        settings=load_settings(data_dir=tmp_path / "data"), store=shared_store, database=database
    )
    response = app.test_client().post("/api/v1/assistant/turns", json={"text": "hi"})
    assert response.status_code == 503
    assert "run shopkg build" in response.get_json()["error"]["message"]


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/api/v1/search?q=x", "/admin/login", "/nope"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_api_errors_are_json_with_codes(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == {
        "status": 404,
        "code": "E400",
        "message": missing.get_json()["error"]["message"],
        "details": [],
    }
    wrong_method = client.delete("/api/v1/search?q=x")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "E1540"
    assert "GET" in wrong_method.headers["Allow"]


def test_pages_answer_errors_as_html(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "E400" in response.get_data(as_text=True)


def test_unexpected_errors_are_500_json_without_details(
    client: FlaskClient, shared_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(shared_store, "stats", broken)
    response = client.get("/api/v1/graph/stats")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "E000"
    assert "secret internals" not in response.get_data(as_text=True)


def test_health_says_ready_once_the_assistant_answers(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ready"}


def test_health_says_starting_until_the_assistant_is_loaded(tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, settings=load_settings(data_dir=tmp_path / "data"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json() == {"status": "starting"}


def test_serve_is_registered_and_checks_the_database(tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(cli, ["serve", "--help"])
    assert help_text.exit_code == 0
    assert "--host" in help_text.output and "--port" in help_text.output
    data = tmp_path / "data"
    Database(f"sqlite:///{data / 'shopkg.db'}").connect().engine.connect().close()
    result = runner.invoke(cli, ["--data-dir", str(data), "serve", "--port", "8123"])
    assert result.exit_code == 1
    assert "shopkg db upgrade" in result.output  # a database that is there but not migrated


def test_serve_elsewhere_names_the_data_directory_it_looked_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"no ShopKG data in {tmp_path.resolve() / 'var'}:" in message
    assert "--data-dir DIR" in message and "SHOPKG_DATA_DIR" in message
    assert "db upgrade" not in message
    assert not (tmp_path / "var").exists()  # no empty database left behind
    other = CliRunner().invoke(cli, ["--db", "sqlite:///elsewhere.db", "serve"])
    assert f"database {tmp_path.resolve() / 'elsewhere.db'} (setting db)" in other.output


def test_shopkg_serve_runs_the_app_under_waitress(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    data = tmp_path / "data"
    Database(f"sqlite:///{data / 'shopkg.db'}").connect().upgrade()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shopkg = Path(sys.executable).parent / "shopkg"  # the console script
    command = [str(shopkg), "--data-dir", str(data), "serve"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # nothing was built here: the server answers, but is not ready
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                raise AssertionError("healthz said ready without a build")
            except urllib.error.HTTPError as e:
                answered = (e.code, e.headers["Server"], json.loads(e.read()))
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert answered == (503, "shopkg", {"status": "starting"})
    assert f"serving on http://127.0.0.1:{port}/" in errors


def test_shopkg_serve_with_workers_forks_them_restarts_one_that_dies_and_stops_all(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    data = tmp_path / "data"
    Database(f"sqlite:///{data / 'shopkg.db'}").connect().upgrade()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shopkg = Path(sys.executable).parent / "shopkg"
    server = subprocess.Popen(
        [str(shopkg), "--data-dir", str(data), "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def workers() -> list[int]:
        path = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        return [int(pid) for pid in path.read_text(encoding="utf-8").split()]

    def answered() -> int:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        except urllib.error.HTTPError as e:
            return e.code
        return 200

    try:
        deadline = time.monotonic() + 30
        while len(workers()) < 2 or not _answers(answered):
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.2)
        first = workers()
        os.kill(first[0], signal.SIGKILL)
        while set(workers()) in (set(first), set(first[1:])) or len(workers()) < 2:
            assert time.monotonic() < deadline + 15
            time.sleep(0.2)
        assert answered() == 503  # no build here: up, but not ready
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0
    assert "with 2 workers" in errors and "starting it again" in errors


def _answers(ask: Callable[[], int]) -> bool:
    try:
        return ask() in (200, 503)
    except OSError:
        return False


def test_oversized_request_headers_are_431_in_the_json_envelope(client: FlaskClient) -> None:
    response = client.get("/api/v1/search?q=boot", headers={"X-Padding": "x" * (20 << 10)})
    assert response.status_code == 431
    error = response.get_json()["error"]
    assert error["code"] == "E1552" and "the limit is 16384" in error["message"]
    assert client.get("/api/v1/search?q=boot", headers={"X-Small": "x" * 100}).status_code == 200
