"""The assistant over a real build of a small generated catalog: search, cards, answers with
evidence, conversation, photo search (the build itself: tests/jobs/test_build.py)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from assistant.dialog import Dialog, MemorySessions
from assistant.loader import build_assistant
from assistant.service import ABSTAIN, Assistant
from foundation.errors import InputError
from foundation.settings import Settings
from webapp import create_app


@pytest.fixture(scope="module")
def built(demo_build: tuple[Settings, Path]) -> tuple[Settings, Path]:
    return demo_build


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
    assert unrelated.evidence == []  # nothing shown as what it was based on
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


def test_a_scripted_dialog_keeps_the_state_a_shopper_expects(assistant: Assistant) -> None:
    """Each turn's intent and the session's query after it: chat is not a search, a
    refinement narrows, a new kind of product starts over, references resolve."""
    dialog = assistant.dialog
    kinds = [  # two kinds of product the catalog has, named as the KG names them
        entry.name.lower()
        for words, entries in assistant.searcher.dictionary.phrases.items()
        for entry in entries
        if entry.label == "Category" and len(words) == 1
    ]
    first, other = kinds[0], next(k for k in kinds[1:] if k != kinds[0])
    colour = next(
        entry.name
        for entries in assistant.searcher.dictionary.phrases.values()
        for entry in entries
        if entry.label == "Value" and entry.attribute == "color"
    )
    script = [
        ("hello", "chat", ""),
        (f"I need a {first}", "search", f"I need a {first}"),
        (f"in {colour}", "refine", f"I need a {first} in {colour}"),
        ("what about the second one?", "exhibit", f"I need a {first} in {colour}"),
        ("that one", "exhibit", f"I need a {first} in {colour}"),
        ("compare the first two", "compare", f"I need a {first} in {colour}"),
        (
            f"something for my mum who loves {other}",
            "search",
            f"something for my mum who loves {other}",
        ),
        ("thanks, bye", "chat", f"something for my mum who loves {other}"),
    ]
    shown = None
    counts: list[int] = []  # how many items the search and the refinement say they found
    messages: list[str] = []
    for text, intent, query in script:
        turn = assistant.turn("scripted", text)
        assert (turn.intent, dialog.session("scripted").query) == (intent, query), text
        if intent in ("search", "refine") and len(counts) < 2:
            said = re.match(r"(\d+) items? for “", turn.message)
            assert said or turn.message.startswith("No exact match for “"), turn.message
            counts.append(int(said.group(1)) if said else 0)
            messages.append(turn.message)
        if text.startswith("in "):
            shown = turn.hits
        if text.startswith("what about"):
            assert shown is not None and turn.card is not None
            assert turn.card.key == shown[1].key
            second = turn.card.key
        if text == "that one":
            assert turn.card is not None and turn.card.key == second
        if text.startswith("something for my mum"):  # a kind of product named: no guess
            assert not turn.message.startswith("Nothing in the shop matches"), turn.message
        if text.startswith("compare"):
            assert shown is not None
            assert [c.key for c in turn.compared if c] == [h.key for h in shown[:2]]
    assert counts[0] > 0 and counts[1] <= counts[0], messages  # "in blue" narrows, never widens


def test_a_bare_constraint_narrows_the_search_and_a_goodbye_is_chat(assistant: Assistant) -> None:
    """ "waterproof ones", "w/o …", "less than $40" name no kind of product: each narrows
    the current search (they are refinements the KG reads, not new searches)."""
    dialog = assistant.dialog
    phrases = assistant.searcher.dictionary.phrases
    kind = next(e.name.lower() for w, es in phrases.items() for e in es if e.label == "Category")
    pois = sorted({e.name for es in phrases.values() for e in es if e.label == "POI"})
    script = [
        (f"show me {kind}", "search", f"show me {kind}"),
        (f"{pois[0]} ones", "refine", f"show me {kind} {pois[0]} ones"),
        (f"w/o {pois[1]}", "refine", f"show me {kind} {pois[0]} ones w/o {pois[1]}"),
        ("less than $40", "refine", f"show me {kind} {pois[0]} ones w/o {pois[1]} less than $40"),
        (
            "anything but black",  # every word kept: "but black" would want black
            "refine",
            f"show me {kind} {pois[0]} ones w/o {pois[1]} less than $40 anything but black",
        ),
        (
            "that one is fine, bye",
            "chat",
            f"show me {kind} {pois[0]} ones w/o {pois[1]} less than $40 anything but black",
        ),
        ("zzz qqq", "search", "zzz qqq"),  # names nothing: a new search, as before
    ]
    for text, intent, query in script:
        turn = assistant.turn("bare", text)
        assert (turn.intent, dialog.session("bare").query) == (intent, query), text


def test_a_basic_colour_covers_its_shades_and_its_negation_rules_them_out(
    assistant: Assistant,
) -> None:
    searcher = assistant.searcher
    blue = next(
        entry
        for entries in searcher.dictionary.phrases.values()
        for entry in entries
        if entry.label == "Value" and entry.attribute == "color" and entry.name == "blue"
    )
    shades = searcher.shades(blue)
    assert len(shades) > 1 and all(
        e.name == "blue" or e.name.endswith(" blue") or e.name == "navy" for e in shades
    )
    blue_items = {key for entry in shades for key in searcher.linked_items(entry)}
    found = assistant.searcher.search("blue", limit=0)
    head = [c.key for c in found.candidates[: len(blue_items)]]
    assert set(head) == blue_items  # every shade of blue ranks before anything else
    without = assistant.searcher.search("jacket not blue", limit=0)
    assert without.candidates and not {c.key for c in without.candidates} & blue_items


def test_two_server_processes_sharing_one_database_continue_one_conversation(
    built: tuple[Settings, Path], assistant: Assistant
) -> None:
    """`shopkg serve` runs a process per core: each message of a conversation may reach
    another one. Two apps, each with its own assistant over the published build, share the
    metadata DB and so the conversation."""
    first, second = (create_app({"TESTING": True}, settings=built[0]) for _ in range(2))
    session = "shopper-0001"

    def say(app: Any, text: str) -> dict[str, Any]:
        response = app.test_client().post(
            "/api/v1/assistant/turns", json={"text": text, "session_id": session}
        )
        assert response.status_code == 200, response.get_json()
        found: dict[str, Any] = response.get_json()
        return found

    searched = say(first, "rain jacket")
    assert searched["intent"] == "search" and len(searched["hits"]) >= 2
    compared = say(second, "compare the first two")
    assert compared["intent"] == "compare"
    assert [c["key"] for c in compared["compared"]] == [h["key"] for h in searched["hits"][:2]]
    shown = say(first, "show me the second one")
    assert shown["intent"] == "exhibit" and shown["card"]["key"] == searched["hits"][1]["key"]
    assert say(second, "why this one?")["intent"] == "why"
    # in each process's memory alone, the second process would have started a new search
    alone = Dialog(assistant, MemorySessions())
    assert alone.turn(session, "compare the first two").intent == "search"
