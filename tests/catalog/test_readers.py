"""The readers of the real development data sets in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.ingest import ingest
from catalog.readers import parse_attribute, read_dataset
from foundation.db import Database
from foundation.errors import IngestError


def test_grocery_products_become_records_with_taxonomy_and_images(
    shared_data: Path, sqlite_db: Database
) -> None:
    root = shared_data / "grocery"
    records = [raw.data for raw in read_dataset(root, "grocery") if raw.data]
    assert len(records) == 81
    apple = next(r for r in records if r["id"] == "grocery-0")
    assert apple["title"] == "Apple Golden Delicious Class 1"
    assert apple["category"] == ["Grocery", "Fruit", "Apple"]
    assert apple["attributes"]["country of origin"] == "Italy"
    report = ingest(sqlite_db, "grocery", read_dataset(root, "grocery"), image_root=root)
    assert (report.new, report.quarantined, report.missing_images) == (81, 0, 0)


def test_epqa_candidates_group_into_products(shared_data: Path, sqlite_db: Database) -> None:
    records = {
        raw.data["id"]: raw.data
        for raw in read_dataset(shared_data / "pqa" / "ePQA", "epqa")
        if raw.data
    }
    assert len(records) == 888
    crisper = records["B00545ATZW"]
    assert crisper["title"] == "Frigidaire 240337103 Crisper Pan for Refrigerator"
    assert crisper["qa"] and all(pair["question"] and pair["answer"] for pair in crisper["qa"])
    with_attributes = sum(1 for r in records.values() if r["attributes"])
    assert with_attributes > 400
    report = ingest(sqlite_db, "epqa", read_dataset(shared_data / "pqa" / "ePQA", "epqa"))
    assert report.new + report.quarantined == 888
    assert report.quarantined == 0


def test_hetpqa_products_without_any_text_for_a_title_are_quarantined(
    shared_data: Path, sqlite_db: Database
) -> None:
    path = shared_data / "pqa" / "hetPQA"
    report = ingest(sqlite_db, "hetpqa", read_dataset(path, "hetpqa"))
    assert report.read == report.new + report.quarantined
    assert report.new > 500
    assert set(report.reasons) == {"title: String should have at least 1 character"}


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("number_of_items:  { value:1 }", ("number of items", "1")),
        ('size:  { value:"ipad case" }', ("size", "ipad case")),
        ("item_weight:  { unit:pounds, value:2.5 }", ("item weight", "2.5 pounds")),
        (
            'compatible_devices:  { value:"apple ipad" }; { value:"apple ipad air" }',
            ("compatible devices", ["apple ipad", "apple ipad air"]),
        ),
        ("just some words", None),
    ],
)
def test_pqa_attribute_candidates_parse(candidate: str, expected: object) -> None:
    assert parse_attribute(candidate) == expected


def test_unknown_data_set_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="unknown data set format"):
        read_dataset(tmp_path, "amazon")
    with pytest.raises(IngestError, match="not found"):
        list(read_dataset(tmp_path, "grocery"))


def test_pqa_attribute_candidates_with_standardized_values_keep_the_value() -> None:
    candidate = 'color:  { standardized_values:[ "multi" ], value:"multi, red" }'
    assert parse_attribute(candidate) == ("color", "multi, red")


def test_pqa_attribute_blocks_without_a_value_keep_their_fields() -> None:
    candidate = "num_batteries:  { quantity:1, type:aaa }; { quantity:2, type:lithium_ion }"
    assert parse_attribute(candidate) == (
        "num batteries",
        ["quantity 1, type aaa", "quantity 2, type lithium_ion"],
    )
