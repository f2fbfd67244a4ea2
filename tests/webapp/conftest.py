"""Fixtures of the web app's tests: a small real Kùzu graph (built once, copied for tests that
change it), a migrated SQLite metadata DB with an admin, the assistant double, and the app."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# `assistant` (and these tests' own helpers) live at the repository root; until pyproject's
# package list names `assistant`, the editable install does not map it, so put the root first.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from PIL import Image  # noqa: E402

from extraction.record_facts import CATALOG  # noqa: E402
from foundation.db import Database, accounts  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from jobs.image_values import EXTRACTOR as PHOTO_EXTRACTOR  # noqa: E402
from jobs.image_values import FROM_THE_PHOTO  # noqa: E402
from kg import GraphStore, NodeRow, Provenance, RelationRow, store_from_uri  # noqa: E402
from tests.webapp.fakes import HOSTILE_TITLE, PHOTO_CONFIDENCE, FakeAssistant  # noqa: E402
from webapp import create_app  # noqa: E402

ADMIN = "admin"
PASSWORD = "correct horse battery"
MAX_REQUEST = 64 * 1024
MAX_UPLOAD = 256 * 1024


def _build_graph(store: GraphStore) -> None:
    prov = Provenance(source="catalog.jsonl#1", extractor="poi_tagger@1", confidence=0.9)
    # the socks' text states their material; their colour was read from their photo, as the
    # build's image_values stage writes it
    text = Provenance(source="sku-4", extractor=CATALOG, confidence=1.0)
    photo = Provenance(source="sku-4", extractor=PHOTO_EXTRACTOR, confidence=PHOTO_CONFIDENCE)
    items = [
        NodeRow("Item", {"key": "sku-1", "name": "Trail runner waterproof jacket", "price": 79.0}),
        NodeRow("Item", {"key": "sku-2", "name": "City commuter umbrella", "price": 19.5}),
        NodeRow("Item", {"key": "sku-3", "name": HOSTILE_TITLE, "price": 45.0}),
        NodeRow("Item", {"key": "sku-4", "name": "Wool hiking socks", "price": 12.0}),
    ]
    vocab = [
        NodeRow("Brand", {"name": "Northpeak"}),
        NodeRow("Brand", {"name": "North Peak"}),
        NodeRow("Brand", {"name": "Drywalk"}),
        NodeRow("POI", {"name": "waterproof"}, prov),
        NodeRow("POI", {"name": "windproof"}, prov),
        NodeRow("Problem", {"name": "getting wet"}, prov),
        NodeRow("Category", {"key": "cat-rain", "name": "Rainwear", "path": "Outdoor > Rainwear"}),
        NodeRow("Value", {"attribute": "material", "value": "merino wool", "unit": ""}, text),
        NodeRow("Value", {"attribute": "color", "value": "navy", "unit": ""}, photo),
    ]
    store.upsert(nodes=[*items, *vocab])
    ref = store.ref
    relations = [
        RelationRow("HAS_BRAND", ref("Item", key="sku-1"), ref("Brand", name="Northpeak")),
        RelationRow("HAS_BRAND", ref("Item", key="sku-4"), ref("Brand", name="Northpeak")),
        RelationRow("HAS_BRAND", ref("Item", key="sku-2"), ref("Brand", name="Drywalk")),
        RelationRow("HAS_BRAND", ref("Item", key="sku-3"), ref("Brand", name="North Peak")),
        RelationRow(
            "HAS_POI", ref("Item", key="sku-1"), ref("POI", name="waterproof"), provenance=prov
        ),
        RelationRow(
            "HAS_POI", ref("Item", key="sku-3"), ref("POI", name="waterproof"), provenance=prov
        ),
        RelationRow(
            "HAS_POI", ref("Item", key="sku-2"), ref("POI", name="windproof"), provenance=prov
        ),
        RelationRow(
            "SOLVES", ref("POI", name="waterproof"), ref("Problem", name="getting wet"), {}, prov
        ),
        RelationRow("IN_CATEGORY", ref("Item", key="sku-1"), ref("Category", key="cat-rain")),
        RelationRow("IN_CATEGORY", ref("Item", key="sku-2"), ref("Category", key="cat-rain")),
        RelationRow(
            "HAS_VALUE",
            ref("Item", key="sku-4"),
            ref("Value", attribute="material", value="merino wool", unit=""),
            {"raw": "merino wool"},
            text,
        ),
        RelationRow(
            "HAS_VALUE",
            ref("Item", key="sku-4"),
            ref("Value", attribute="color", value="navy", unit=""),
            {"raw": FROM_THE_PHOTO},
            photo,
        ),
    ]
    store.upsert(relations=relations)


@pytest.fixture(scope="session")
def graph_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small graph built once; tests open copies of its directory."""
    path = tmp_path_factory.mktemp("graph") / "kuzu"
    with store_from_uri(f"kuzu://{path}") as store:
        _build_graph(store)
    return path


@pytest.fixture(scope="session")
def shared_store(
    graph_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GraphStore]:
    """One open store for the tests that only read."""
    path = tmp_path_factory.mktemp("shared") / "kuzu"
    shutil.copytree(graph_template, path)
    store = store_from_uri(f"kuzu://{path}").open()
    yield store
    store.close()


@pytest.fixture
def own_store(graph_template: Path, tmp_path: Path) -> Iterator[GraphStore]:
    """A private copy of the graph, for tests that edit it."""
    path = tmp_path / "own-graph"
    shutil.copytree(graph_template, path)
    store = store_from_uri(f"kuzu://{path}").open()
    yield store
    store.close()


@dataclass(frozen=True)
class DbTemplate:
    path: Path
    token: str


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> DbTemplate:
    """A migrated SQLite DB with an admin user and a bearer token, copied per test."""
    path = tmp_path_factory.mktemp("meta") / "meta.db"
    database = Database(f"sqlite:///{path}").connect()
    database.upgrade()
    with database.session() as db:
        accounts.create_admin(db, ADMIN, PASSWORD)
        token = accounts.issue_token(db, ADMIN, "tests")
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return DbTemplate(path, token)


@pytest.fixture
def database(db_template: DbTemplate, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "meta.db"
    shutil.copyfile(db_template.path, path)
    db = Database(f"sqlite:///{path}").connect()
    yield db
    db.close()


@pytest.fixture
def token(db_template: DbTemplate) -> str:
    return db_template.token


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("images")
    for name, colour in (("img-1", (30, 60, 160)), ("img-2", (20, 20, 20))):
        Image.new("RGB", (64, 64), colour).save(path / f"{name}.png")
    return path


@pytest.fixture
def assistant(image_dir: Path) -> FakeAssistant:
    return FakeAssistant(image_dir)


def make_app(
    tmp_path: Path,
    *,
    assistant: Any,
    store: GraphStore,
    database: Database,
    config: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    question_encoder: Any = None,
) -> Flask:
    """The app over these parts; ``config`` overrides Flask's config, ``settings`` ShopKG's."""
    overrides = {
        "max_request_bytes": MAX_REQUEST,
        "max_upload_bytes": MAX_UPLOAD,
        **(settings or {}),
    }
    return create_app(
        {"TESTING": True, **(config or {})},
        settings=load_settings(data_dir=tmp_path / "data", **overrides),
        assistant=assistant,
        store=store,
        database=database,
        question_encoder=question_encoder,
    )


@pytest.fixture(scope="session")
def question_encoder() -> Any:
    """The bundled MiniLM (live rooms group viewers' questions with it), loaded once."""
    from encoders.sentence import SentenceTransformerTextEncoder

    return SentenceTransformerTextEncoder(device="cpu").load()


@pytest.fixture
def app(
    tmp_path: Path, assistant: FakeAssistant, shared_store: GraphStore, database: Database
) -> Flask:
    return make_app(tmp_path, assistant=assistant, store=shared_store, database=database)


@pytest.fixture
def editable_app(
    tmp_path: Path, assistant: FakeAssistant, own_store: GraphStore, database: Database
) -> Flask:
    return make_app(tmp_path, assistant=assistant, store=own_store, database=database)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def login(client: FlaskClient) -> str:
    """Log the client in as the admin; returns the page's CSRF token."""
    page = client.get("/admin/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    response = client.post(
        "/admin/login",
        data={"csrf_token": found.group(1), "username": ADMIN, "password": PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    admin_page = client.get("/admin/").get_data(as_text=True)
    meta = CSRF_META.search(admin_page)
    assert meta is not None
    return meta.group(1)
