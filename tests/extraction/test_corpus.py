from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from extraction.corpus import extract_catalog
from extraction.pipeline import build_pipeline
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
