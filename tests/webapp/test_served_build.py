"""The web app over a real build of a small catalog, tried as an attacker and a shopper would:
what the image route serves, ids with slashes, photo search with the shipped image tower and
without an image index, and requests that must be client errors, never 500."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from foundation.errors import ConfigError
from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build
from webapp import create_app

pytestmark = pytest.mark.slow

SLASH_ID = "SKU/12-A"


def _records() -> list[dict[str, object]]:
    return [
        {
            "id": SLASH_ID,
            "title": "Waterproof hiking boot, brown leather",
            "description": "A waterproof leather boot for muddy trails.",
            "price": 89.0,
            "images": ["boots/boot.jpg"],
            "qa": [{"question": "Is it waterproof?", "answer": "Yes, fully waterproof."}],
        },
        {
            "id": "tea-1",
            "title": "Loose leaf green tea, 250 g",
            "description": "A gift for tea lovers.",
            "price": 12.5,
            "images": ["tea.png", "vector.svg"],
        },
    ]


def _build_shop(root: Path, **settings_overrides: str) -> tuple[Settings, Path]:
    images = root / "images"
    (images / "boots").mkdir(parents=True)
    Image.new("RGB", (40, 30), (120, 80, 40)).save(images / "boots" / "boot.jpg")
    Image.new("RGB", (30, 30), (20, 160, 40)).save(images / "tea.png")
    # catalog-listed but not a raster image, and files nobody lists
    (images / "vector.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', encoding="utf-8"
    )
    (images / "notes.txt").write_text("internal notes", encoding="utf-8")
    Image.new("RGB", (10, 10)).save(images / "unlisted.png")
    catalog = root / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps(r) for r in _records()) + "\n", encoding="utf-8")
    settings = load_settings(data_dir=root / "var", **settings_overrides)
    result = run_build(
        settings, BuildPlan(catalog, "shop", images), stream=io.StringIO(), interactive=False
    )
    assert result.status == "succeeded"
    return settings, root


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """Built with the default settings: the image tower shipped with ShopKG encodes photos."""
    return _build_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def client(shop: tuple[Settings, Path]) -> FlaskClient:
    app = create_app({"TESTING": True}, settings=shop[0])
    return app.test_client()


def test_only_raster_images_an_item_lists_are_served(client: FlaskClient) -> None:
    for path, media_type in (("boots/boot.jpg", "image/jpeg"), ("tea.png", "image/png")):
        with client.get(f"/images/{path}") as served:
            assert (served.status_code, served.mimetype) == (200, media_type)
    for path in ("vector.svg", "notes.txt", "unlisted.png", "../var/secret_key", "a%00b"):
        with client.get(f"/images/{path}") as response:
            assert response.status_code == 404, path


def test_a_build_refuses_an_image_root_that_holds_the_data_directory(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text(json.dumps(_records()[1]) + "\n", encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "var")
    with pytest.raises(ConfigError, match="contains ShopKG's private data"):
        run_build(settings, BuildPlan(catalog, "shop", tmp_path), stream=io.StringIO())
    assert not (tmp_path / "var" / "shopkg.db").exists()  # refused before anything was made


def test_an_id_with_a_slash_opens_its_card_and_answers_questions(client: FlaskClient) -> None:
    hits = client.get("/api/v1/search", query_string={"q": "hiking boot"}).get_json()["hits"]
    assert hits[0]["key"] == SLASH_ID
    for path in (SLASH_ID, SLASH_ID.replace("/", "%2F")):
        card = client.get(f"/api/v1/items/{path}")
        assert card.status_code == 200 and card.get_json()["key"] == SLASH_ID
    answer = client.post(f"/api/v1/items/{SLASH_ID}/ask", json={"question": "Is it waterproof?"})
    assert answer.status_code == 200 and answer.get_json()["question"] == "Is it waterproof?"


def test_photo_search_is_on_by_default_and_finds_the_item_a_photo_shows(
    client: FlaskClient, shop: tuple[Settings, Path]
) -> None:
    assert b"photo-input" in client.get("/").data
    photo = (shop[1] / "images" / "boots" / "boot.jpg").read_bytes()
    response = client.post(
        "/api/v1/search/image",
        data={"image": (io.BytesIO(photo), "boot.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert response.get_json()["hits"][0]["key"] == SLASH_ID


def test_photo_search_is_hidden_and_refused_cleanly_without_an_image_index(
    tmp_path: Path,
) -> None:
    settings, _ = _build_shop(tmp_path, image_encoder="none")
    client = create_app({"TESTING": True}, settings=settings).test_client()
    assert b"photo-input" not in client.get("/").data
    photo = io.BytesIO()
    Image.new("RGB", (8, 8)).save(photo, "PNG")
    response = client.post(
        "/api/v1/search/image",
        data={"image": (io.BytesIO(photo.getvalue()), "p.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert "photo search is not available" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/api/v1/items/tea-1/ask", {"question": "   "}, 400, "the question is empty"),
        ("/api/v1/items/tea-1/ask", "[" * 50_000 + "]" * 50_000, 400, "nested too deeply"),
    ],
)
def test_bad_questions_are_client_errors_in_the_json_envelope(
    client: FlaskClient, path: str, body: object, status: int, says: str
) -> None:
    if isinstance(body, str):
        response = client.post(path, data=body, content_type="application/json")
    else:
        response = client.post(path, json=body)
    assert response.status_code == status
    assert says in response.get_json()["error"]["message"]


def test_a_search_says_when_nothing_meets_every_constraint_and_shows_the_closest(
    client: FlaskClient,
) -> None:
    exact = client.get("/api/v1/search", query_string={"q": "waterproof boot under 100"})
    page = exact.get_json()
    assert exact.status_code == 200 and page["match"] == "exact" and page["relaxed"] == []
    assert page["hits"][0]["key"] == SLASH_ID
    cheap = client.get("/api/v1/search", query_string={"q": "waterproof boot under 50"})
    page = cheap.get_json()
    assert page["match"] == "relaxed" and page["relaxed"] == ["under 50"]
    assert page["hits"][0]["key"] == SLASH_ID  # the closest, said to cost more than asked
    assert "under 50" in page["understanding"]["stated"]
    assert not page["weak"]
    unknown = client.get("/api/v1/search", query_string={"q": "xyzzy qwertyuiop"}).get_json()
    assert unknown["relaxed"] == [] and unknown["weak"] is True
    french = client.get("/api/v1/search", query_string={"q": "chaussures de randonnée"})
    assert french.get_json()["weak"] is True
    # a stray number or letter the catalog has does not make a foreign query a match
    for foreign in ("Wanderschuhe für Damen unter 100 Euro", "青いTシャツ"):
        assert client.get("/api/v1/search", query_string={"q": foreign}).get_json()["weak"]
