"""A catalog's identity is its name, not its file: a date-stamped export updates the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from catalog.demo.generate import write_catalog
from foundation.db import Database, RecordStatus, SourceRecord
from foundation.errors import JobError
from foundation.settings import Settings, load_settings
from jobs.build import catalog_name
from kg import open_store
from retrieval.graph_postings import load_postings
from retrieval.keyword import KeywordIndex, load_items
from retrieval.vector_index import VectorIndex
from shopkg.cli import cli

ITEMS = 24


def _exports(root: Path) -> tuple[Path, Path, str, list[str]]:
    """Two exports of one shop a day apart: the second lacks one item and changes two."""
    write_catalog(root / "gen", ITEMS, 0, image_limit=0)
    lines = (root / "gen" / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    first = root / "shop-2026-12-06.jsonl"
    first.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = [json.loads(line) for line in lines]
    gone = records.pop(5)["id"]
    changed = []
    for record in records[:2]:
        record["title"] += " (new edition)"
        changed.append(record["id"])
    second = root / "shop-2026-12-07.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return first, second, gone, changed


def _build(settings: Settings, catalog: Path) -> tuple[str, str]:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(settings.data_dir), "build", "--catalog", str(catalog)]
    )
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def _active(settings: Settings) -> dict[str, set[str]]:
    database = Database(settings.db).connect()
    try:
        with database.session() as session:
            rows = session.execute(
                select(SourceRecord.catalog, SourceRecord.record_key).where(
                    SourceRecord.status == RecordStatus.ACTIVE
                )
            ).all()
    finally:
        database.close()
    found: dict[str, set[str]] = {}
    for catalog, key in rows:
        found.setdefault(catalog, set()).add(key)
    return found


def test_a_date_stamped_export_updates_the_catalog_and_every_index_agrees(
    tmp_path: Path,
) -> None:
    first, second, gone, changed = _exports(tmp_path)
    settings = load_settings(data_dir=tmp_path / "var")
    _build(settings, first)
    summary_out, report = _build(settings, second)

    stages = json.loads(summary_out.strip().splitlines()[-1])["stages"]
    ingest = stages["ingest"]
    assert (ingest["catalog"], ingest["changed"], ingest["removed"]) == ("shop", 2, 1)
    assert ingest["unchanged"] == ITEMS - 3
    line = f"extract: {ITEMS - 1} records = extracted 2 + reused {ITEMS - 3}"
    assert line in report, report
    assert stages["extract"]["removed_from_kg"] == 1

    active = _active(settings)
    assert set(active) == {"shop"} and len(active["shop"]) == ITEMS - 1
    keys = active["shop"]
    with open_store(settings) as store:
        graph_items = {n.key for page in store.iter_nodes("Item") for n in page}
    vectors = VectorIndex.load(settings.index_dir / "item_text")
    keyword = KeywordIndex.load(settings.index_dir / "keyword")
    table = load_items(settings.index_dir / "items.jsonl")
    postings = load_postings(settings.index_dir)
    assert postings is not None
    posted = {key for section in postings.values() for items in section.values() for key in items}
    assert graph_items == set(vectors.live_keys()) == set(keyword.keys) == set(table) == keys
    assert gone not in posted and posted <= keys
    assert all(table[key]["title"].endswith("(new edition)") for key in changed)


def test_an_export_of_another_name_is_the_only_catalog_with_a_note(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}").connect()
    database.upgrade()
    try:
        assert catalog_name(database, tmp_path / "shop-2026-12-06.jsonl", "catalog", None) == (
            "shop",
            None,
        )
        with database.session() as session:
            session.add(SourceRecord(catalog="shop", record_key="a", raw={}, content_hash="0"))
        name, note = catalog_name(database, tmp_path / "export-final.jsonl", "catalog", None)
        assert name == "shop" and note is not None and "--name" in note
        assert catalog_name(database, tmp_path / "x.jsonl", "catalog", "other") == ("other", None)
        with database.session() as session:
            session.add(SourceRecord(catalog="outlet", record_key="a", raw={}, content_hash="0"))
        with pytest.raises(JobError, match="--name"):
            catalog_name(database, tmp_path / "export-final.jsonl", "catalog", None)
        assert catalog_name(database, tmp_path / "outlet_20261207.jsonl", "catalog", None) == (
            "outlet",
            None,
        )
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(SourceRecord)) == 2
    finally:
        database.close()
