"""Public graph reads: node details with provenance, neighborhoods, lookup and statistics."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_node_with_relations_and_provenance(client: FlaskClient) -> None:
    response = client.get("/api/v1/graph/node", query_string={"label": "POI", "key": "waterproof"})
    assert response.status_code == 200
    detail = response.get_json()
    assert detail["node"]["id"] == "POI:waterproof"
    assert detail["total"] == 3
    solves = next(r for r in detail["relations"] if r["type"] == "SOLVES")
    assert solves["direction"] == "out"
    assert solves["other"]["name"] == "getting wet"
    assert solves["provenance"] == {
        "source": "catalog.jsonl#1",
        "extractor": "poi_tagger@1",
        "confidence": 0.9,
    }
    incoming = [r for r in detail["relations"] if r["type"] == "HAS_POI"]
    assert {r["direction"] for r in incoming} == {"in"}
    assert detail["sources"] == ["catalog.jsonl#1"]


def test_node_relations_paginate(client: FlaskClient) -> None:
    query = {"label": "POI", "key": "waterproof", "rel_limit": 2}
    first = client.get("/api/v1/graph/node", query_string=query).get_json()
    assert len(first["relations"]) == 2 and first["next_offset"] == 2
    rest = client.get("/api/v1/graph/node", query_string={**query, "rel_offset": 2}).get_json()
    assert len(rest["relations"]) == 1 and rest["next_offset"] is None


def test_unknown_node_and_label(client: FlaskClient) -> None:
    missing = client.get("/api/v1/graph/node?label=Item&key=nope")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "E400"
    bad_label = client.get("/api/v1/graph/node?label=Robot&key=x")
    assert bad_label.status_code == 422
    assert "unknown label" in bad_label.get_json()["error"]["message"]


def test_neighborhood_has_nodes_and_edges_for_the_graph_view(client: FlaskClient) -> None:
    graph = client.get("/api/v1/graph/neighborhood?label=Item&key=sku-1").get_json()
    ids = {n["id"] for n in graph["nodes"]}
    assert graph["center"] == "Item:sku-1"
    assert ids == {"Item:sku-1", "Brand:northpeak", "POI:waterproof", "Category:cat-rain"}
    assert {(e["source"], e["type"], e["target"]) for e in graph["edges"]} == {
        ("Item:sku-1", "HAS_BRAND", "Brand:northpeak"),
        ("Item:sku-1", "HAS_POI", "POI:waterproof"),
        ("Item:sku-1", "IN_CATEGORY", "Category:cat-rain"),
    }
    assert graph["truncated"] is False


def test_neighborhood_filters_hops_and_limit(client: FlaskClient) -> None:
    two = client.get(
        "/api/v1/graph/neighborhood?label=Item&key=sku-1&hops=2&labels=Problem&labels=POI"
    ).get_json()
    assert {n["id"] for n in two["nodes"]} == {
        "Item:sku-1",
        "POI:waterproof",
        "Problem:getting wet",
    }
    only_brand = client.get(
        "/api/v1/graph/neighborhood?label=Item&key=sku-1&relations=HAS_BRAND"
    ).get_json()
    assert [n["id"] for n in only_brand["nodes"]] == ["Item:sku-1", "Brand:northpeak"]
    limited = client.get("/api/v1/graph/neighborhood?label=Item&key=sku-1&limit=1").get_json()
    assert len(limited["nodes"]) == 2 and limited["truncated"] is True
    assert client.get("/api/v1/graph/neighborhood?label=Item&key=sku-1&hops=4").status_code == 422
    bad = client.get("/api/v1/graph/neighborhood?label=Item&key=sku-1&relations=DROP")
    assert bad.status_code == 422


def test_a_two_hop_neighborhood_is_the_same_every_time(client: FlaskClient) -> None:
    """Kùzu's parallel recursive joins dropped the second hop in ~5% of these requests
    until reads ran single-threaded per connection (kg/kuzu_store.py)."""
    url = "/api/v1/graph/neighborhood?label=Item&key=sku-1&hops=2&labels=Problem&labels=POI"
    seen = {tuple(sorted(n["id"] for n in client.get(url).get_json()["nodes"])) for _ in range(150)}
    assert seen == {("Item:sku-1", "POI:waterproof", "Problem:getting wet")}


def test_lookup_finds_nodes_by_name_and_paginates(client: FlaskClient) -> None:
    found = client.get("/api/v1/graph/lookup?q=waterproof").get_json()
    ids = [h["node"]["id"] for h in found["hits"]]
    assert ids == ["POI:waterproof", "Item:sku-1"]  # the exact name first
    assert [h["exact"] for h in found["hits"]] == [True, False]
    pages = []
    offset: int | None = 0
    while offset is not None:
        page = client.get(f"/api/v1/graph/lookup?q=waterproof&limit=1&offset={offset}").get_json()
        assert len(page["hits"]) == 1
        pages += [h["node"]["id"] for h in page["hits"]]
        offset = page["next_offset"]
    assert pages == ids
    brands = client.get("/api/v1/graph/lookup?q=waterproof&labels=Brand").get_json()
    assert brands["hits"] == []


def test_lookup_text_is_never_a_query(client: FlaskClient) -> None:
    cypher = "MATCH (n) DETACH DELETE n"
    response = client.get("/api/v1/graph/lookup", query_string={"q": cypher})
    assert response.status_code == 200
    stats = client.get("/api/v1/graph/stats").get_json()
    assert stats["nodes"]["Item"] == 4


def test_stats(client: FlaskClient) -> None:
    stats = client.get("/api/v1/graph/stats").get_json()
    assert stats["backend"] == "kuzu"
    assert stats["nodes"]["Brand"] == 3
    assert stats["relations"]["HAS_POI"] == 3
    assert stats["total_nodes"] == sum(stats["nodes"].values())
