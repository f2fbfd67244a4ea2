"""Reading ImplicitAVE: rows, options per group, and the photographed products as records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.implicitave import implicitave_records, read_implicitave
from foundation.errors import IngestError

HEADER = "id\timages\tcategory\ttexts\tattribute_names\tattribute_values\n"


def _tsv(path: Path, rows: list[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")


def _directory(root: Path) -> Path:
    (root / "options_Home.json").write_text(json.dumps({"Material": ["Wood", "Glass"]}))
    (root / "options_Clothing_Shoes_and_Jewelry.json").write_text(
        json.dumps({"Material": ["Gold", "Silver"], "Neckline": ["V-Neck", "Crew Neck"]})
    )
    _tsv(
        root / "texts" / "Jewlery_and_General_Apparel_annotated_final.tsv",
        [("J1", "J1.jpg", "Rings", "[Title] Band  ring", "Material", "Gold")],
    )
    _tsv(
        root / "texts" / "Home_annotated_final.tsv",
        [
            ("H1", "H1.jpg", "Vases", "[Title] Tall vase", "Material", "Glass"),
            ("H2", "H2.jpg", "Vases", "[Title] Bowl", "Material", "Stone"),
        ],
    )
    _tsv(
        root / "training_texts" / "Clothing" / "train.tsv",
        [("C1", "C1.jpg", "Shirts & Tops", "[Title] Tee", "Neckline", "V-Neck")],
    )
    _tsv(root / "training_texts" / "Clothing" / "val.tsv", [])
    return root


def test_each_domain_takes_the_options_file_that_holds_its_attributes_and_values(
    tmp_path: Path,
) -> None:
    data = read_implicitave(_directory(tmp_path))
    assert data.group_of == {
        "Jewlery": "Clothing_Shoes_and_Jewelry",  # Material is in both files; Gold only here
        "Home": "Home",
        "Clothing": "Clothing_Shoes_and_Jewelry",
    }
    assert [r.title for r in data.photos] == ["Tall vase", "Bowl", "Band ring"]  # by file
    assert len(data.train) == 1 and data.val == []


def test_a_value_outside_its_options_is_set_aside_with_where_and_why(tmp_path: Path) -> None:
    data = read_implicitave(_directory(tmp_path))
    kept = data.labelled(data.photos)
    assert [(r.id, key, option) for r, key, option in kept] == [
        ("H1", "Home|Material", 1),
        ("J1", "Clothing_Shoes_and_Jewelry|Material", 0),
    ]
    assert len(data.skipped) == 1
    assert "Home_annotated_final.tsv:3" in data.skipped[0] and "'Stone'" in data.skipped[0]


def test_the_photographed_products_become_records_without_their_labelled_value(
    tmp_path: Path,
) -> None:
    records = list(implicitave_records(_directory(tmp_path)))
    assert records[-1].data == {
        "id": "J1",
        "title": "Band ring",
        "category": ["Jewlery", "Rings"],
        "images": ["J1.jpg"],
    }
    assert all(r.data is not None and "attributes" not in r.data for r in records)


def test_a_folder_that_is_not_implicitave_is_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no texts/ folder"):
        read_implicitave(tmp_path)
    _tsv(tmp_path / "texts" / "Home_annotated_final.tsv", [])
    (tmp_path / "texts" / "Home_annotated_final.tsv").write_text("id\ttexts\n")
    with pytest.raises(IngestError, match="missing column"):
        read_implicitave(tmp_path)
