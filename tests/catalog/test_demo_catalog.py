"""The demo catalog generator: schema, determinism, independence of items, truth, noise."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from catalog.demo.generate import (
    GENERATED_NOTICE,
    generate,
    is_demo_catalog,
    make_item,
    read_truth,
    write_catalog,
)
from catalog.demo.products import DEPARTMENTS, check_vocabulary
from catalog.demo.reviews import NOT_SOLVED, SOLVED
from catalog.demo.shapes import SHAPES
from catalog.demo.text import bare
from catalog.demo.vocab import COLOURS, POIS, PROBLEMS
from catalog.ingest import ingest, read_catalog
from catalog.schema import CatalogRecord
from foundation.db import Database
from foundation.errors import JobError

TRUTH_ONLY = {"concept", "pois", "problems", "scenes", "crowds", "listed", "review_claims"}


def _digests(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def test_vocabulary_is_wired_up() -> None:
    check_vocabulary()
    assert [d.name for d in DEPARTMENTS] == [
        "Footwear",
        "Apparel",
        "Outdoor",
        "Home",
        "Grocery",
        "Electronics Accessories",
    ]
    for department in DEPARTMENTS:
        assert len(department.types) >= 5
        for kind in department.types:
            assert kind.shape in SHAPES
            assert kind.category[0] == department.name
            assert kind.pois, kind.name


def test_every_record_validates_and_carries_no_truth() -> None:
    ids = set()
    for record, truth in generate(400, seed=3, image_limit=400):
        validated = CatalogRecord.model_validate(record)
        assert validated.id == truth.id
        assert not TRUTH_ONLY & record.keys()
        assert record["category"][0] == truth.department
        assert record["images"][0].endswith(f"{truth.id}.jpg")
        ids.add(record["id"])
    assert len(ids) == 400
    assert "demo-000017" in ids


def test_same_seed_same_bytes_and_other_seed_other_bytes(tmp_path: Path) -> None:
    first = write_catalog(tmp_path / "a", 60, seed=5, truth=True)
    write_catalog(tmp_path / "b", 60, seed=5, truth=True)
    write_catalog(tmp_path / "c", 60, seed=6, truth=True)
    assert first.items == 60 and first.images >= 60
    digests = _digests(tmp_path / "a")
    assert sum(name.endswith(".jpg") for name in digests) == first.images
    assert digests == _digests(tmp_path / "b")
    assert digests["catalog.jsonl"] != _digests(tmp_path / "c")["catalog.jsonl"]


def test_an_item_does_not_depend_on_the_catalog_around_it(tmp_path: Path) -> None:
    small = write_catalog(tmp_path / "small", 20, seed=9, image_limit=0).out
    large = write_catalog(tmp_path / "large", 1_001, seed=9, image_limit=0).out
    small_lines = (small / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    large_lines = (large / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(large_lines) == 1_001
    assert small_lines == large_lines[:20]
    shard = list(generate(5, seed=9, start=15))
    assert [item.record for item in shard] == [json.loads(line) for line in small_lines[15:]]
    assert make_item(17, 9).truth == shard[2].truth


def test_workers_write_the_same_bytes(tmp_path: Path) -> None:
    one = write_catalog(tmp_path / "one", 1_001, seed=2, image_limit=3, truth=True)
    two = write_catalog(tmp_path / "two", 1_001, seed=2, image_limit=3, truth=True, workers=2)
    assert _digests(one.out) == _digests(two.out)


def test_generated_catalog_ingests_without_quarantine(tmp_path: Path) -> None:
    summary = write_catalog(tmp_path / "demo", 200, seed=1)
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}").connect()
    db.upgrade()
    try:
        report = ingest(
            db,
            "demo",
            read_catalog(summary.out / "catalog.jsonl"),
            image_root=summary.out / "images",
        )
    finally:
        db.close()
    assert (report.read, report.new, report.quarantined) == (200, 200, 0)
    assert report.missing_images == 0


def test_truth_file_round_trips_and_manifest_says_generated(tmp_path: Path) -> None:
    out = write_catalog(tmp_path / "demo", 30, seed=4, image_limit=0, truth=True).out
    assert list(read_truth(out / "truth.jsonl")) == [truth for _, truth in generate(30, seed=4)]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["notice"] == GENERATED_NOTICE
    assert "generated" in GENERATED_NOTICE
    assert (manifest["items"], manifest["images"]) == (30, 0)
    assert is_demo_catalog(out)
    assert not is_demo_catalog(tmp_path)
    assert not (out / "images").exists()


UNIT_SCALE = {
    "ml": ("ml", 1), "mL": ("ml", 1), "L": ("ml", 1000), "litres": ("ml", 1000),
    "g": ("g", 1), "grams": ("g", 1), "kg": ("g", 1000),
    "W": ("W", 1), "watts": ("W", 1), "mAh": ("mAh", 1), "h": ("h", 1), "hours": ("h", 1),
    "mm": ("mm", 1), "cm": ("mm", 10), "m": ("mm", 1000), "lm": ("lm", 1), "lumens": ("lm", 1),
}  # fmt: skip


def _quantity(text: str) -> tuple[str, float]:
    """ "0.5 L" -> ("ml", 500.0); temperatures in °C."""
    match = re.fullmatch(r"(-?[\d,.]+)\s*(°C|°F|C|[A-Za-z]+)", text)
    assert match, text
    number, unit = float(match[1].replace(",", "")), match[2]
    if unit == "°F":
        return "°C", round((number - 32) * 5 / 9, 6)
    if unit in ("°C", "C"):
        return "°C", number
    base, scale = UNIT_SCALE[unit]
    return base, round(number * scale, 6)


def test_records_say_what_the_truth_says() -> None:
    quantities = 0
    for record, truth in generate(300, seed=8):
        for poi in truth.pois:
            assert any(poi in PROBLEMS[problem].pois for problem in truth.problems)
        for problem in truth.problems:
            assert set(PROBLEMS[problem].pois) & set(truth.pois)
        for name, key in truth.listed.items():
            shown, canonical = str(record["attributes"][key]), truth.attributes[name]
            if name == "colour":
                assert shown.lower() in (canonical, *COLOURS[canonical].spellings)
            elif name == "audience":
                assert shown.lower() == canonical
            elif re.match(r"^-?[\d.]+ ?(ml|L|g|kg|W|mAh|cm|m|°C|h|lm)$", canonical):
                assert _quantity(shown) == _quantity(canonical), (shown, canonical)
                quantities += 1
            else:
                assert shown == canonical or float(shown) == float(canonical)
        assert truth.model in record["title"]
        features = {POIS[poi] for poi in truth.pois}
        for pair in record.get("qa", []):
            asked = re.fullmatch(r"(?:Does it|Do they) have (.+)\?", pair["question"])
            if asked:
                assert (asked[1] in features) == pair["answer"].startswith("Yes"), pair
        if "description" in record:
            said = [bare(POIS[poi]) for poi in truth.pois]
            assert any(phrase in record["description"] for phrase in said), record["description"]
        for review, (problem, _verdict) in zip(
            record.get("reviews", []), truth.review_claims, strict=True
        ):
            assert problem in truth.problems
            assert review["text"].strip()
    assert quantities > 100


def test_ratings_follow_whether_the_problem_was_solved() -> None:
    ratings: dict[str, list[float]] = {SOLVED: [], NOT_SOLVED: []}
    for record, truth in generate(500, seed=11):
        for review, (_problem, verdict) in zip(
            record.get("reviews", []), truth.review_claims, strict=True
        ):
            if verdict in ratings and "rating" in review:
                ratings[verdict].append(review["rating"])
    assert min(ratings[SOLVED]) >= 4 and max(ratings[NOT_SOLVED]) <= 2
    assert len(ratings[SOLVED]) > 3 * len(ratings[NOT_SOLVED]) > 0


def test_a_real_catalogs_noise_is_there() -> None:
    records = [item.record for item in generate(1_000, seed=0)]
    fields = Counter(name for record in records for name in record)
    assert 900 < fields["description"] < 1_000
    assert 0 < fields["brand"] < 1_000
    assert fields["price"] > fields["currency"] > 0
    keys = Counter(key for record in records for key in record["attributes"])
    assert keys["colour"] > keys["color"] > 0
    shown = [str(v) for record in records for v in record["attributes"].values()]
    assert any(value.endswith(" L") and value.startswith("0.") for value in shown)
    assert any(value.endswith("ml") and " " not in value for value in shown)
    assert any(isinstance(v, int | float) for r in records for v in r["attributes"].values())
    assert {record["category"][0] for record in records} == {d.name for d in DEPARTMENTS}


def test_prices_stay_in_their_type_range() -> None:
    ranges = {kind.name: kind.price for d in DEPARTMENTS for kind in d.types}
    for record, truth in generate(300, seed=12):
        if "price" in record:
            low, high = ranges[truth.concept]
            assert low <= record["price"] <= high + 1


@pytest.mark.parametrize(("items", "start"), [(0, 0), (5, -1)])
def test_impossible_counts_are_refused(items: int, start: int) -> None:
    with pytest.raises(JobError, match="at least 1 item"):
        next(generate(items, start=start))
