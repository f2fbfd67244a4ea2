"""The batch build end to end on a small generated catalog, and the assistant over it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from assistant.loader import build_assistant
from assistant.service import ABSTAIN, Assistant
from catalog.demo.generate import write_catalog
from foundation.errors import InputError
from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build
from kg import NodeRef, open_store
from retrieval.graph_postings import LIMIT, SECTIONS, load_postings
from retrieval.vector_index import VectorIndex
from webapp import create_app


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, tiny_tower: Callable[[Path], None]
) -> tuple[Settings, Path]:
    root = tmp_path_factory.mktemp("build")
    write_catalog(root / "demo", 60, 0)
    settings = load_settings(data_dir=root / "var")
    tiny_tower(Path(settings.image_encoder))
    plan = _plan(root)
    result = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    assert result.status == "succeeded"
    return settings, root


def _plan(root: Path) -> BuildPlan:
    images = root / "demo" / "images"
    return BuildPlan(root / "demo" / "catalog.jsonl", "demo", images, generated=True)


def test_the_build_fills_the_kg_and_the_indexes(built: tuple[Settings, Path]) -> None:
    settings, _ = built
    with open_store(settings) as store:
        stats = store.stats()
        assert stats.nodes["Item"] == 60
        for label in ("Category", "Brand", "Value", "POI", "Problem", "Concept", "Entry"):
            assert stats.nodes[label] > 0, label
        for rel in ("IN_CATEGORY", "HAS_VALUE", "HAS_POI", "SOLVES", "SUITS", "MENTIONS"):
            assert stats.relations[rel] > 0, rel
    index = VectorIndex.load(settings.index_dir / "item_text")
    assert len(index) == 60


def test_images_become_nodes_vectors_and_concept_prototypes(
    built: tuple[Settings, Path],
) -> None:
    settings, _ = built
    with open_store(settings) as store:
        stats = store.stats()
        assert stats.nodes["Image"] > 0
        assert stats.relations["HAS_IMAGE"] == stats.nodes["Image"]
        assert stats.relations["DEPICTS"] > 0
        concepts = [n for page in store.iter_nodes("Concept") for n in page]
    with_prototype = [c for c in concepts if c.properties.get("image_count")]
    assert with_prototype
    concept = with_prototype[0].properties
    assert len(concept["prototype"]) == 16
    assert 0.0 <= concept["spread"] <= 2.0
    assert concept["prototype_encoder"].startswith("shopkg-image-tower")
    prototypes = VectorIndex.load(settings.index_dir / "concept_prototype")
    assert len(prototypes) == len(with_prototype)


def test_graph_postings_say_what_the_store_says(built: tuple[Settings, Path]) -> None:
    settings, _ = built
    postings = load_postings(settings.index_dir)
    assert postings is not None
    checked = 0
    with open_store(settings) as store:
        for section, (label, relations, hops) in SECTIONS.items():
            for key, items in sorted(postings[section].items())[:12]:
                asked = store.neighborhood(
                    NodeRef(label, key),
                    hops=hops,
                    limit=LIMIT,
                    labels=["Item"],
                    relations=relations,
                    direction="in",
                )
                assert items == [n.node.key for n in asked], (section, key)
                checked += len(items) > 0
    assert checked > 20


def test_a_rebuild_of_an_unchanged_catalog_does_no_work(built: tuple[Settings, Path]) -> None:
    settings, root = built
    result = run_build(settings, _plan(root), stream=io.StringIO(), interactive=False)
    assert result.stages["ingest"]["unchanged"] == 60
    assert result.stages["extract"] == {"records": 0, "note": "nothing changed"}
    assert result.stages["text_index"]["encoded"] == 0


@pytest.fixture(scope="module")
def assistant(built: tuple[Settings, Path]) -> Assistant:
    return build_assistant(built[0])


def test_search_explains_hits_with_channels_and_kg_reasons(assistant: Assistant) -> None:
    some_item = next(iter(assistant.searcher.items.values()))
    result = assistant.search(some_item["title"], limit=5)
    assert result.hits[0].key == some_item["key"]
    assert {"bm25", "dense"} <= set(result.hits[0].channels)
    problem = next(  # a problem some item's POI solves
        entry
        for entries in assistant.searcher.dictionary.phrases.values()
        for entry in entries
        if entry.label == "Problem" and assistant.searcher.linked_items(entry)
    )
    found = assistant.search(f"something for {problem.name}", limit=20)
    assert found.understanding.entities
    assert any(f"helps with {problem.name}" in hit.reasons for hit in found.hits)


def test_price_constraints_and_negations_filter(assistant: Assistant) -> None:
    result = assistant.search("jacket under $100", limit=50)
    assert result.understanding.constraints["price_max"] == 100.0
    assert all(hit.price is not None and hit.price <= 100 for hit in result.hits)
    brand = next(row["brand"] for row in assistant.searcher.items.values() if row["brand"])
    without = assistant.search(f"shoes not {brand}", limit=50)
    assert all(brand.lower() not in hit.title.lower() for hit in without.hits)


def test_item_cards_and_answers_with_evidence(assistant: Assistant) -> None:
    key = next(iter(assistant.searcher.items))
    card = assistant.item(key)
    assert card is not None and card.title and card.attributes
    colour_name = next((name for name in card.attributes if "col" in name), None)
    if colour_name:
        answer = assistant.ask(key, f"what {colour_name} is it?")
        assert not answer.abstained
        assert answer.evidence and answer.evidence[0].source in ("kg", "bullet", "description")
    unrelated = assistant.ask(key, "does it come with a warranty for the moon landing?")
    assert unrelated.abstained and unrelated.text == ABSTAIN
    assert assistant.item("no-such-item") is None


def test_showing_a_card_encodes_its_evidence_before_the_first_question(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert assistant.ranker is not None
    embedder = assistant.ranker.embedder
    key = sorted(assistant.searcher.items)[-1]
    assert assistant.item(key) is not None
    warming = assistant.prepare_answers(key)
    assert warming is not None
    warming.result(timeout=60)
    encoder = embedder.encoder  # type: ignore[attr-defined]
    encoded: list[str] = []
    original = encoder.encode

    def counting(texts: list[str]) -> object:
        encoded.extend(texts)
        return original(texts)

    monkeypatch.setattr(encoder, "encode", counting)
    assistant.ask(key, "is it good for a rainy day?")
    assert encoded == ["is it good for a rainy day?"]


def test_a_conversation_refines_exhibits_and_answers(assistant: Assistant) -> None:
    first = assistant.turn("s", "jacket")
    assert first.intent == "search" and first.hits
    shown = assistant.turn("s", "show me the first one")
    assert shown.intent == "exhibit" and shown.card is not None
    assert shown.card.key == first.hits[0].key
    asked = assistant.turn("s", "what is it made of?")
    assert asked.intent == "ask" and asked.answer is not None
    cheaper = assistant.turn("s", "cheaper")
    assert cheaper.intent == "refine"
    assert json.dumps(cheaper.hits[0].__dict__ if cheaper.hits else {}, default=str)


def test_repeated_searches_cards_and_questions_are_answered_from_memory(
    assistant: Assistant,
) -> None:
    key = next(iter(assistant.searcher.items))
    first = assistant.search("Rain Jacket", limit=5)
    hits = assistant.searches.hits
    again = assistant.search("  rain   JACKET ", limit=5)
    assert assistant.searches.hits == hits + 1
    assert again.hits == first.hits and again.query == "  rain   JACKET "
    assert assistant.item(key) is assistant.item(key)
    answer = assistant.ask(key, "What is it made of?")
    echoed = assistant.ask(key, "what is it MADE of?")
    assert echoed.question == "what is it MADE of?" and echoed.text == answer.text
    assistant.forget()
    assert len(assistant.searches) == len(assistant.cards) == len(assistant.answers) == 0


def test_the_assistant_knows_it_serves_the_generated_demo_catalog(assistant: Assistant) -> None:
    assert assistant.is_demo


def test_photo_search_finds_the_item_whose_image_it_is(
    assistant: Assistant, built: tuple[Settings, Path]
) -> None:
    key, row = next((k, r) for k, r in assistant.searcher.items.items() if len(r["images"]) == 1)
    photo = (built[1] / "demo" / "images" / row["images"][0]).read_bytes()
    result = assistant.search_image(photo, limit=3)
    assert result.hits[0].key == key
    assert result.hits[0].reasons == ["looks like your photo"]


def test_unreadable_and_bomb_photos_are_client_errors_with_a_plain_reason(
    assistant: Assistant, built: tuple[Settings, Path]
) -> None:
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # ~400 KB, 400 Mpx
    app = create_app({"TESTING": True}, settings=built[0], assistant=assistant)
    client = app.test_client()
    for photo, says in ((bomb.getvalue(), "too large"), (b"GIF89a not really", "not a readable")):
        with pytest.raises(InputError, match=says):
            assistant.search_image(photo)
        response = client.post(
            "/api/v1/search/image",
            data={"image": (io.BytesIO(photo), "photo.png", "image/png")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        message = response.get_json()["error"]["message"]
        assert says in message and "object at 0x" not in message


def test_image_paths_stay_under_the_image_root(assistant: Assistant) -> None:
    key = next(k for k, row in assistant.searcher.items.items() if row["images"])
    image = assistant.searcher.items[key]["images"][0]
    assert assistant.image_path(image) is not None
    assert assistant.image_path("../../etc/passwd") is None
    assert assistant.image_path("/etc/passwd") is None


def test_removed_records_leave_the_kg_and_the_index(built: tuple[Settings, Path]) -> None:
    settings, root = built
    catalog = root / "demo" / "catalog.jsonl"
    lines = catalog.read_text(encoding="utf-8").splitlines()
    gone = json.loads(lines[0])["id"]
    changed = json.loads(lines[1])
    changed["title"] = changed["title"] + " (new edition)"
    catalog.write_text("\n".join([json.dumps(changed), *lines[2:]]) + "\n", encoding="utf-8")
    result = run_build(settings, _plan(root), stream=io.StringIO(), interactive=False)
    ingest = result.stages["ingest"]
    assert (ingest["changed"], ingest["removed"], ingest["unchanged"]) == (1, 1, 58)
    assert result.stages["extract"]["removed_from_kg"] == 1
    with open_store(settings) as store:
        assert store.get_node(NodeRef("Item", gone)) is None
        assert store.stats().nodes["Item"] == 59
    index = VectorIndex.load(settings.index_dir / "item_text")
    assert len(index) == 59 and gone not in index
