from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.ingest import ingest, load_records, read_catalog
from foundation.db import Database, QuarantinedRecord, RecordStatus, SourceRecord
from foundation.errors import IngestError


def _write_jsonl(path: Path, lines: Sequence[object]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return path


def _quarantined(db: Database) -> list[QuarantinedRecord]:
    with db.session() as session:
        return list(session.scalars(select(QuarantinedRecord).order_by(QuarantinedRecord.id)))


def test_bad_records_are_quarantined_with_reasons_and_counts_reconcile(
    tmp_path: Path, sqlite_db: Database
) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "ok.jpg").write_bytes(b"jpeg")
    catalog = _write_jsonl(
        tmp_path / "shop.jsonl",
        [
            {"id": "1", "title": "Rain jacket", "images": ["ok.jpg", "gone.jpg"]},
            '{"id": "2", "title": "broken',
            [1, 2, 3],
            {"id": "3", "title": ""},
            {"id": "1", "title": "Rain jacket again"},
            {"id": "4", "title": "Mug", "price": "free"},
            {"id": "5", "title": "Big", "description": "d" * 1_048_576},
            {"id": "6", "title": "<script>alert(1)</script> Tee"},
        ],
    )
    with (tmp_path / "shop.jsonl").open("ab") as f:
        f.write(b'{"id": "7", "title": "caf\xe9"}\n')
    report = ingest(sqlite_db, "shop", read_catalog(catalog), image_root=tmp_path / "img")
    assert report.read == 9
    assert (report.new, report.changed, report.unchanged, report.quarantined) == (2, 0, 0, 7)
    assert report.reconciles
    assert report.missing_images == 1
    reasons = {row.location.rsplit(":", 1)[-1]: row.reason for row in _quarantined(sqlite_db)}
    assert reasons["2"].startswith("not valid JSON")
    assert reasons["3"] == "a record must be a JSON object, not list"
    assert "title: String should have at least 1 character" in reasons["4"]
    assert reasons["5"].startswith("duplicate id '1'; first read at")
    assert "price" in reasons["6"]
    assert "description" in reasons["7"]
    assert reasons["9"].startswith("not valid UTF-8")
    assert any(r.reason == "image file not found: gone.jpg" for r in _quarantined(sqlite_db))


def test_a_rebuild_skips_unchanged_records_and_marks_removed_ones(
    tmp_path: Path, sqlite_db: Database
) -> None:
    records = [{"id": str(i), "title": f"Item {i}"} for i in range(5)]
    catalog = _write_jsonl(tmp_path / "c.jsonl", records)
    first = ingest(sqlite_db, "c", read_catalog(catalog), batch_size=2)
    assert (first.new, first.unchanged) == (5, 0)
    records[1]["title"] = "Item one, renamed"
    del records[4]
    _write_jsonl(catalog, records)
    second = ingest(sqlite_db, "c", read_catalog(catalog), batch_size=2)
    assert (second.new, second.changed, second.unchanged, second.removed) == (0, 1, 3, 1)
    assert second.changed_keys == ["1"]
    assert second.removed_keys == ["4"]
    with sqlite_db.session() as session:
        rows = session.execute(select(SourceRecord.record_key, SourceRecord.status)).all()
    statuses = dict(rows)
    assert statuses["4"] == RecordStatus.REMOVED
    loaded = {record.id: record.title for record in load_records(sqlite_db, "c", ["1", "2"])}
    assert loaded == {"1": "Item one, renamed", "2": "Item 2"}
    records.append({"id": "4", "title": "Item 4"})
    _write_jsonl(catalog, records)
    third = ingest(sqlite_db, "c", read_catalog(catalog))
    assert (third.changed, third.unchanged, third.removed) == (1, 4, 0)


def test_a_record_that_turns_bad_is_marked_quarantined_not_removed(
    tmp_path: Path, sqlite_db: Database
) -> None:
    catalog = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "title": "Good"}])
    ingest(sqlite_db, "c", read_catalog(catalog))
    _write_jsonl(catalog, [{"id": "a", "title": ""}])
    report = ingest(sqlite_db, "c", read_catalog(catalog))
    assert (report.quarantined, report.removed) == (1, 0)
    with sqlite_db.session() as session:
        row = session.scalars(select(SourceRecord)).one()
    assert row.status == RecordStatus.QUARANTINED


def test_csv_catalogs_take_json_and_plain_list_forms(tmp_path: Path, sqlite_db: Database) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text(
        "id,title,category,bullets,attributes,price,images\n"
        '1,Mug,Home > Kitchen,Dishwasher safe | 350 ml,"{""colour"": ""blue""}",9.5,a.jpg|b.jpg\n'
        '2,Cup,"[""Home""]",,"{broken",,\n'
        "3,Plate,Home,,,,,extra\n",
        encoding="utf-8",
    )
    report = ingest(sqlite_db, "c", read_catalog(catalog))
    assert (report.new, report.quarantined) == (1, 2)
    record = next(load_records(sqlite_db, "c", ["1"]))
    assert record.category == ["Home", "Kitchen"]
    assert record.bullets == ["Dishwasher safe", "350 ml"]
    assert record.attributes == {"colour": "blue"}
    assert record.images == ["a.jpg", "b.jpg"]
    reasons = [row.reason for row in _quarantined(sqlite_db)]
    assert reasons == [
        "column 'attributes' is not valid JSON: Expecting property name enclosed in double quotes",
        "row has more cells than the header",
    ]


def test_directories_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "1", "title": "A"}\n')
    (tmp_path / "b.csv").write_text("id,title\n2,B\n")
    assert [r.data["id"] for r in read_catalog(tmp_path) if r.data] == ["1", "2"]
    (tmp_path / "c.xml").write_text("<x/>")
    with pytest.raises(IngestError, match=r"unsupported type '\.xml'"):
        list(read_catalog(tmp_path / "c.xml"))
    with pytest.raises(IngestError, match="does not exist"):
        list(read_catalog(tmp_path / "nope.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="holds no"):
        list(read_catalog(tmp_path / "empty"))


def test_a_csv_with_the_wrong_columns_fails_before_any_row_naming_them(
    tmp_path: Path, sqlite_db: Database
) -> None:
    catalog = tmp_path / "export.csv"
    catalog.write_text("sku,name,cost\nA1,Mug,9.5\nA2,Cup,4\n", encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        ingest(sqlite_db, "export", read_catalog(catalog))
    message = str(caught.value)
    assert "lacks the column(s) id, title" in message
    assert "unknown column(s) 'sku', 'name', 'cost'" in message
    assert _quarantined(sqlite_db) == []  # nothing half-done: no row was read


def test_invisible_control_characters_quarantine_names_and_leave_free_text(
    tmp_path: Path, sqlite_db: Database
) -> None:
    catalog = _write_jsonl(
        tmp_path / "shop.jsonl",
        [
            {"id": "ok-1", "title": "Mug", "description": "Blue\u0000 mug\u202e\nfor tea"},
            {"id": "spoof\u202egpj.exe", "title": "Mug"},
            {"id": "ok-2", "title": "Cup\u0000"},
            {"id": "ok-3", "title": "Cup", "attributes": {"colour": "red\u2066"}},
            {"id": "ok-4", "title": "Family mug \U0001f469\u200d\U0001f467"},  # ZWJ stays
        ],
    )
    report = ingest(sqlite_db, "shop", read_catalog(catalog))
    assert (report.read, report.new, report.quarantined) == (5, 2, 3)
    reasons = [row.reason for row in _quarantined(sqlite_db)]
    assert (
        "id: contains an invisible control character U+202E (RIGHT-TO-LEFT OVERRIDE)"
        in (reasons[0])
    )
    assert "title: contains an invisible control character U+0000" in reasons[1]
    assert "attribute 'colour'" in reasons[2] and "U+2066" in reasons[2]
    kept = next(load_records(sqlite_db, "shop", ["ok-1"]))
    assert kept.description == "Blue mug\nfor tea"
