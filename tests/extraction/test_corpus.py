from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from extraction.corpus import extract_catalog
from extraction.item_problems import PROBLEM_SCOPE
from extraction.pipeline import build_pipeline
from extraction.record_facts import NEEDS
from extraction.resolution import resolve

TITLES = [
    "Acme Trail Running Shoes, Red",
    "Zorb Trail Running Shoe - Blue",
    "Kelto Running Shoes for Men",
    "Numa Trail Running Shoes 42",
    "Pavo Running Shoe, Black",
    "Quell Shoes, White",
]


def test_concepts_is_a_mentions_and_entries_with_glosses() -> None:
    records = [
        {
            "id": str(i),
            "title": title,
            "description": "Waterproof and breathable.",
            "category": ["Shoes", "Running Shoes"],
        }
        for i, title in enumerate(TITLES)
    ]
    result = extract_catalog(records, build_pipeline(), "shop")
    is_a = {(r.source[1], r.target[1]) for r in result.corpus.relations_of("IS_A")}
    assert ("trail running shoe", "running shoe") in is_a
    assert ("running shoe", "shoe") in is_a
    mentions = {r.target[1] for f in result.records for r in f.relations_of("MENTIONS")}
    assert "trail running shoe" in mentions
    entries = {n.properties["name"]: n.properties["gloss"] for n in result.corpus.nodes_of("Entry")}
    assert "a kind of running shoe" in entries["trail running shoe"]
    assert "waterproof" in entries["trail running shoe"]
    assert result.report.extracted == len(TITLES)


def test_resolution_merges_spellings_within_a_label_with_scores() -> None:
    names = {
        "POI": Counter({"water-resistant": 3, "water resistant": 1, "waterproof": 2}),
        "Brand": Counter({"acme": 4, "Acme": 1, "apex": 2}),
    }
    merges = {m.label: m for m in resolve(names)}
    assert merges["POI"].members == ("water resistant", "water-resistant")
    assert merges["POI"].canonical == "water-resistant"
    assert merges["Brand"].members == ("Acme", "acme")
    assert all(score >= 92 for *_, score, _ in merges["POI"].scores)


def test_resolution_can_use_an_encoder_callable() -> None:
    def encoder(names: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] if "sneaker" in n or "trainer" in n else [0.0, 1.0] for n in names]

    names = {"Concept": Counter({"running sneaker": 2, "running trainer": 1, "running tights": 1})}
    assert resolve(names) == []
    (merge,) = resolve(names, encoder=encoder)
    assert merge.members == ("running sneaker", "running trainer")
    assert merge.scores[0][3] == "embedding"


def test_a_problem_reaches_an_item_by_its_own_text_or_its_concept_not_a_shared_poi() -> None:
    """Tents and boots are both "waterproof"; a tent's problem never reaches a boot."""

    def record(key: str, title: str, text: str, leaf: str) -> dict[str, object]:
        return {"id": key, "title": title, "description": text, "category": ["Outdoor", leaf]}

    leak = "No more leaking tent: it comes with a waterproof fly."
    wet = "No more wet feet: it comes with a waterproof membrane."
    records = [
        record("tent-1", "Acme Dome Tent", leak, "Tents"),
        record("tent-2", "Kelto Tunnel Tent", leak, "Tents"),
        record("boot-1", "Numa Hiking Boot", wet, "Hiking Boots"),
        record("boot-2", "Pavo Hiking Boot", f"{wet} Prevents blisters.", "Hiking Boots"),
        record("boot-3", "Quell Hiking Boot", "A waterproof leather upper.", "Hiking Boots"),
    ]
    result = extract_catalog(records, build_pipeline(), "shop")
    solves = {
        (r.source[1], r.target[1]): r
        for facts in result.records
        for r in facts.relations_of("SOLVES")
        if r.source[0] == "Item"
    }
    assert set(solves) == {
        ("tent-1", "leaking tent"),
        ("tent-2", "leaking tent"),
        ("boot-1", "wet feet"),
        ("boot-2", "wet feet"),
        ("boot-2", "blisters"),
        ("boot-3", "wet feet"),
    }
    own = solves[("boot-1", "wet feet")]
    assert own.properties == {"evidence": "text", "poi": "waterproof"}
    assert own.provenance.extractor == NEEDS
    assert solves[("boot-2", "blisters")].properties == {"evidence": "text"}  # no POI says so
    learned = solves[("boot-3", "wet feet")]
    assert learned.properties == {
        "evidence": "concept",
        "poi": "waterproof",
        "concept": "hiking boot",
    }
    assert learned.provenance.extractor == PROBLEM_SCOPE
    assert learned.provenance.source == "boot-3"  # written and replaced with its record
    # the POI's own SOLVES stay: what records say a POI solves, somewhere
    poi_links = {
        (r.source[1], r.target[1])
        for facts in result.records
        for r in facts.relations_of("SOLVES")
        if r.source[0] == "POI"
    }
    assert poi_links == {("waterproof", "leaking tent"), ("waterproof", "wet feet")}
