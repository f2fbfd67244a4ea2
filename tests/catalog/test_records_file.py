"""A records file reads back one record at a time, as it was written."""

from __future__ import annotations

from pathlib import Path

from catalog.records_file import RecordFile, write_records
from catalog.schema import CatalogRecord


def test_each_record_reads_back_by_key_and_unknown_keys_are_none(tmp_path: Path) -> None:
    records = [
        CatalogRecord.model_validate({"id": f"k{i}", "title": f"Trail boot {i} — «ñ»"})
        for i in range(5)
    ]
    path = tmp_path / "records.jsonl"
    assert write_records(path, records) == 5
    found = RecordFile(path)
    try:
        assert len(found) == 5
        assert found("k3") == records[3]
        assert found("nope") is None
    finally:
        found.close()
    assert found("k1") is None  # closed: nothing more is read
