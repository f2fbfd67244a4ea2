"""The need finder reads crowds, scenes and POIs the way product copy states them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from extraction.lexicons import NeedLexicon
from extraction.needs import NeedFinder
from extraction.textnorm import blank_pipeline

Found = Callable[[str], set[tuple[str, str]]]


@pytest.fixture(scope="module")
def find() -> Found:
    nlp = blank_pipeline()
    finder = NeedFinder(nlp.vocab, NeedLexicon())

    def found(text: str) -> set[tuple[str, str]]:
        return {(m.kind, m.name) for m in finder.find(nlp(text))[0]}

    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A favourite among families.", ("Crowd", "family")),
        ("Popular with students.", ("Crowd", "student")),
        ("Designed with kids in mind.", ("Crowd", "kid")),
        ("Made for gym-goers who are tired of blisters.", ("Crowd", "gym-goer")),
        ("A beanie from Fjeldwear for office workers.", ("Crowd", "office worker")),
        ("A great pick at the gym.", ("Scene", "gym")),
        ("Just as happy on busy mornings as anywhere else.", ("Scene", "busy morning")),
        ("Ideal for a good night's sleep.", ("Scene", "good night's sleep")),
        ("Handy during late-night study sessions.", ("Scene", "late-night study session")),
        ("If you struggle with sunburn, it helps.", ("Problem", "sunburn")),
    ],
)
def test_crowds_scenes_and_problems_in_common_phrasings(
    find: Found, text: str, expected: tuple[str, str]
) -> None:
    assert expected in find(text)


def test_each_conjunct_after_a_suit_trigger_is_read(find: Found) -> None:
    found = find("Ideal for day hikes and dog walkers")
    assert {("Scene", "day hike"), ("Crowd", "dog walker")} <= found
    # a first conjunct the lexicon does not know is read past
    assert ("Crowd", "student") in find("Ideal for everyday use and students")


def test_a_bullet_header_names_a_poi_but_an_attribute_header_does_not(find: Found) -> None:
    text = (
        "HIGH PROTEIN: keeps you full until lunch\n"
        "Reflective – makes you visible to traffic\n"
        "COLOUR: Black\n"
        "PADDED HIP BELT: takes the strain off your back\n"
        "CONNECTOR: USB-C to USB-C\n"
        "Weight: 380 g\n"
        "BRAIDED: resists fraying\n"
        "SIZE: one size\n"
        "MATERIAL: cashmere blend"
    )
    pois = {name for kind, name in find(text) if kind == "POI"}
    assert pois == {"high protein", "reflective", "padded hip belt", "braided"}


def test_feature_phrases_are_what_a_listing_offers_not_what_it_denies_or_asks() -> None:
    nlp = blank_pipeline()
    finder = NeedFinder(nlp.vocab, NeedLexicon())
    text = (
        "High protein recipe to keep you full\n"
        "Colour: Black\n"
        "Thanks to its reflective details, you are seen.\n"
        "Does it have a braided nylon jacket?\n"
        "No, it doesn't have a low sugar recipe.\n"
        "No more being unseen: it comes with a reflective strap.\n"
        "It keeps you seen, thanks to high-vis panels.\n"
        "UPF 50 sun protection to shield your skin\n"
        "Built with 3 ports."
    )
    assert finder.feature_phrases(nlp(text)) == [
        "high protein recipe",
        "reflective details",
        "reflective strap",
        "high-vis panels",
        "upf 50 sun protection",  # a number inside a phrase is part of it, never its start
    ]


def test_a_state_kept_is_not_a_point_of_interest(find: Found) -> None:
    found = find("Keeps your toes warm. Keep your phone scratch-free.")
    assert ("Problem", "cold toes") in found
    assert not {name for kind, name in found if kind == "POI"}
    assert ("POI", "warm") in find("A warm fleece lining.")


def test_a_scene_the_listing_names_as_its_problem_is_the_problem(find: Found) -> None:
    text = "A sleeping bag for backpackers tired of cold nights. It keeps you warm on cold nights."
    found = find(text)
    assert ("Problem", "cold nights") in found
    assert ("Scene", "cold night") not in found
    assert ("Scene", "cold night") in find("It keeps you warm on cold nights.")
