"""Where facts came from, as the web app shows it: values read from product photos on the item
card, and the graph browser's filter of facts by the extractor that asserted them. In the
fixture graph the socks' (sku-4) material comes from their text and their colour was read
from their photo."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from extraction.record_facts import CATALOG
from jobs.image_values import EXTRACTOR as PHOTO_EXTRACTOR
from jobs.image_values import FROM_THE_PHOTO
from tests.webapp.conftest import login
from tests.webapp.fakes import PHOTO_CONFIDENCE

PHOTO_PROVENANCE = {"source": "sku-4", "extractor": PHOTO_EXTRACTOR, "confidence": 0.93}
EVERY_PHOTO_VERSION = PHOTO_EXTRACTOR.split("@")[0] + "@"


def test_the_card_knows_the_extractor_of_the_values_read_from_photos() -> None:
    from assistant.api import PHOTO_EXTRACTORS

    assert PHOTO_EXTRACTOR.startswith(PHOTO_EXTRACTORS) and PHOTO_EXTRACTORS.endswith("@")


def test_a_value_read_from_the_photo_says_so_on_the_card(client: FlaskClient) -> None:
    card = client.get("/api/v1/items/sku-4").get_json()
    assert card["attributes"] == {"material": ["merino wool"]}  # the text's, as before
    assert card["values"] == [
        {
            "attribute": "material",
            "value": "merino wool",
            "origin": "text",
            "extractor": CATALOG,
            "confidence": 1.0,
        },
        {
            "attribute": "color",
            "value": "navy",
            "origin": "photo",
            "extractor": PHOTO_EXTRACTOR,
            "confidence": PHOTO_CONFIDENCE,
        },
    ]


def test_values_from_the_text_keep_their_place_on_the_card(client: FlaskClient) -> None:
    card = client.get("/api/v1/items/sku-1").get_json()
    assert card["attributes"] == {"color": ["navy blue"], "material": ["nylon"]}
    assert {v["origin"] for v in card["values"]} == {"text"}
    assert [(v["attribute"], v["value"]) for v in card["values"]] == [
        ("color", "navy blue"),
        ("material", "nylon"),
    ]


def test_the_graph_browser_filters_relations_by_extractor(client: FlaskClient) -> None:
    url = "/api/v1/graph/node"
    socks = {"label": "Item", "key": "sku-4"}
    every = client.get(url, query_string=socks).get_json()
    assert {r["type"] for r in every["relations"]} == {"HAS_BRAND", "HAS_VALUE"}
    assert every["total"] == 3
    for chosen in (PHOTO_EXTRACTOR, EVERY_PHOTO_VERSION):
        photo = client.get(url, query_string={**socks, "extractor": chosen}).get_json()
        assert photo["total"] == 1
        [relation] = photo["relations"]
        assert (relation["type"], relation["other_id"]) == ("HAS_VALUE", "Value:color|navy|")
        assert relation["provenance"] == PHOTO_PROVENANCE
        assert relation["properties"]["raw"] == FROM_THE_PHOTO
    text = client.get(url, query_string={**socks, "extractor": CATALOG}).get_json()
    assert [r["other_id"] for r in text["relations"]] == ["Value:material|merino wool|"]
    nobody = client.get(url, query_string={**socks, "extractor": "nobody@1"})
    assert nobody.status_code == 200 and nobody.get_json()["relations"] == []


def test_the_graph_view_shows_only_the_facts_of_the_chosen_extractor(
    client: FlaskClient,
) -> None:
    url = "/api/v1/graph/neighborhood"
    socks = {"label": "Item", "key": "sku-4"}
    every = client.get(url, query_string=socks).get_json()
    assert {n["id"] for n in every["nodes"]} == {
        "Item:sku-4",
        "Brand:northpeak",
        "Value:color|navy|",
        "Value:material|merino wool|",
    }
    photo = client.get(url, query_string={**socks, "extractor": EVERY_PHOTO_VERSION}).get_json()
    assert {n["id"] for n in photo["nodes"]} == {"Item:sku-4", "Value:color|navy|"}
    assert [(e["type"], e["target"], e["provenance"]) for e in photo["edges"]] == [
        ("HAS_VALUE", "Value:color|navy|", PHOTO_PROVENANCE)
    ]
    # and from the value back to the item whose photo shows it
    navy = {"label": "Value", "key": "color|navy|", "hops": 2, "extractor": PHOTO_EXTRACTOR}
    seen = client.get(url, query_string=navy).get_json()
    assert {n["id"] for n in seen["nodes"]} == {"Value:color|navy|", "Item:sku-4"}


def test_the_graph_browser_lists_the_extractors_it_can_filter_by(client: FlaskClient) -> None:
    listed = client.get("/api/v1/graph/extractors").get_json()["extractors"]
    assert listed == [
        {"extractor": "manual@0", "relations": 6},
        {"extractor": "poi_tagger@1", "relations": 4},
        {"extractor": CATALOG, "relations": 1},
        {"extractor": PHOTO_EXTRACTOR, "relations": 1},
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "image_values",
        "@1",
        "a@b@c",
        "x' OR 1=1 //@1",
        "MATCH (n) DETACH DELETE n",
        "poi tagger@1",
        "shopkg.image_values@1\n",
        "",
        "x" * 300 + "@1",
    ],
)
@pytest.mark.parametrize("endpoint", ["node", "neighborhood"])
def test_a_malformed_extractor_is_a_client_error(
    client: FlaskClient, endpoint: str, bad: str
) -> None:
    response = client.get(
        f"/api/v1/graph/{endpoint}",
        query_string={"label": "Item", "key": "sku-4", "extractor": bad},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["status"], error["code"]) == (422, "E1510")
    assert error["details"][0]["loc"][-1] == "extractor"


def test_the_admin_browser_offers_the_extractor_filter(client: FlaskClient) -> None:
    login(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert '<select id="extractor-select">' in page
    assert 'data-photo-extractors="shopkg.image_values@"' in page
