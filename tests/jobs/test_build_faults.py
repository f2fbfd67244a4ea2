"""Builds under faults, end to end on a generated catalog with images.

- A build SIGKILLed in the middle of a stage (twice) and run again ends with the same KG and
  indexes as a build that was never interrupted: same counts, same checksums.
- An incremental build (records changed, added and removed) ends with what a build from
  scratch of the new catalog makes, and runs the pipeline on the changed records only.
- A catalog full of bad records (malformed JSON, wrong types, an empty title, a duplicate id,
  missing, corrupt and truncated images) completes, every bad record is quarantined with its
  reason, and every count reconciles.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

import jobs.build as build_module
from catalog.demo.generate import write_catalog
from encoders.sentence import BF16_MIN_COSINE
from extraction.kg_writer import KGWriter
from foundation.db import BuildJob, Database, JobStatus, QuarantinedRecord
from foundation.settings import Settings
from jobs.build import CACHE_FILE, BuildPlan, run_build
from jobs.checksums import build_checksums, index_vectors
from jobs.report import build_report
from kg import open_store

pytestmark = pytest.mark.slow

ITEMS = 240
VECTOR_INDEXES = ("item_text", "image", "item_image", "concept_prototype")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    write_catalog(root / "demo", ITEMS, 0)
    return root


def _plan(catalog: Path, images: Path) -> BuildPlan:
    return BuildPlan(catalog, "demo", images, generated=True)


def _build(settings: Settings, catalog: Path, images: Path) -> dict[str, Any]:
    result = run_build(settings, _plan(catalog, images), stream=io.StringIO(), interactive=False)
    assert result.status == JobStatus.SUCCEEDED
    return result.stages


def _checksums(settings: Settings, *, node_provenance: bool = True) -> dict[str, Any]:
    with open_store(settings) as store:
        return build_checksums(settings.index_dir, store, node_provenance=node_provenance)


@pytest.fixture(scope="module")
def baseline(root: Path, make_settings: Callable[[Path], Settings]) -> Settings:
    """The catalog built once, uninterrupted, from scratch."""
    settings = make_settings(root / "baseline")
    _build(settings, root / "demo" / "catalog.jsonl", root / "demo" / "images")
    return settings


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + 300
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the build ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    if not path.is_file():
        return []
    try:
        with sqlite3.connect(path, timeout=0.1) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # locked by the writer, or its tables not made yet
        return []


def test_a_build_killed_mid_stage_resumes_to_the_same_kg_and_indexes(
    root: Path, baseline: Settings, make_settings: Callable[[Path], Settings]
) -> None:
    data_dir = root / "killed"
    settings = make_settings(data_dir)
    shopkg = Path(sys.executable).with_name("shopkg")
    command = [
        str(shopkg),
        "build",
        "--catalog",
        str(root / "demo" / "catalog.jsonl"),
        "--images",
        str(root / "demo" / "images"),
        "--name",
        "demo",
    ]
    env = {**os.environ, "SHOPKG_DATA_DIR": str(data_dir)}
    cache, meta = data_dir / CACHE_FILE, data_dir / "shopkg.db"

    def cached() -> int:
        rows = _query(cache, "SELECT count(*) FROM facts")
        return int(rows[0][0]) if rows else 0

    def running(stage: str) -> bool:
        sql = f"SELECT status FROM job_stages WHERE name = '{stage}'"  # noqa: S608  (a test constant)
        return _query(meta, sql) == [("running",)]

    # 1: killed while the pipeline runs, after the first batch reached the extraction cache
    with (root / "attempt-1.log").open("wb") as log:
        first = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        _wait_for(lambda: cached() >= 100, first, "the first extraction batch was cached")
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert 100 <= cached() < ITEMS, "the kill must land in the middle of extraction"
    # 2: resumed, and killed again past extraction, while the vectors are made: the item
    # texts (often encoded already, during extraction, so that stage can be brief) or images
    with (root / "attempt-2.log").open("wb") as log:
        second = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        _wait_for(
            lambda: running("text_index") or running("images"),
            second,
            "the text_index or images stage started",
        )
        second.send_signal(signal.SIGKILL)
        second.wait()
    # 3: resumed to the end
    third = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert third.returncode == 0, third.stderr[-3000:]
    summary = json.loads(third.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and summary["resumed"] is True
    assert summary["stages"]["extract"]["records"] == ITEMS
    # records the first attempt extracted were not extracted again
    assert summary["stages"]["extract"]["extracted"] < ITEMS

    database = Database(settings.db).connect()
    try:
        with database.session() as session:
            (job,) = session.scalars(select(BuildJob)).all()  # one job, resumed twice
            extract = next(stage for stage in job.stages if stage.name == "extract")
            # the counts are of this job's work: none lost or counted twice across the kills
            assert (extract.done, extract.skipped, extract.failed) == (ITEMS, 0, 0)
    finally:
        database.close()
    assert _checksums(settings) == _checksums(baseline)


def test_a_build_that_dies_after_a_kg_write_and_before_its_record_rewrites_not_adds(
    root: Path,
    baseline: Settings,
    make_settings: Callable[[Path], Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The records' batch reaches the graph, then the process dies before the extraction cache
    says so. New records' relations are created without looking for stored copies, so the
    rerun must know (the write-ahead mark) that these records may be in the graph already."""
    settings = make_settings(root / "dies-after-write")
    catalog, images = root / "demo" / "catalog.jsonl", root / "demo" / "images"
    written = KGWriter.write
    calls: list[int] = []

    def write_then_die(self: KGWriter, batch: Any, **kwargs: Any) -> Any:
        report = written(self, batch, **kwargs)
        if len(batch) > 1:  # a records' batch (the catalog's own facts come one by one)
            calls.append(len(batch))
            if len(calls) == 2:  # the second: the first one's digests are in the cache
                raise RuntimeError("power cut after the KG commit")
        return report

    monkeypatch.setattr(build_module, "WRITE_BATCH", 100)
    monkeypatch.setattr(KGWriter, "write", write_then_die)
    with pytest.raises(RuntimeError, match="power cut"):
        run_build(settings, _plan(catalog, images), stream=io.StringIO(), interactive=False)
    assert calls == [100, 100]
    monkeypatch.undo()
    _build(settings, catalog, images)
    assert _checksums(settings) == _checksums(baseline)


def test_an_incremental_build_makes_what_a_build_from_scratch_makes(
    root: Path, baseline: Settings, make_settings: Callable[[Path], Settings]
) -> None:
    catalog = root / "demo" / "catalog.jsonl"
    final = catalog.read_text(encoding="utf-8").splitlines()
    # the catalog as it was before: one record said something else, two came later, and
    # one record has since left the catalog
    before = list(final)
    changed = json.loads(before[3])
    changed["title"] = "Plain " + changed["title"]
    changed["description"] = "An older text."
    before[3] = json.dumps(changed)
    gone = json.loads(final[10])
    gone["id"] = "demo-gone"
    before = [*before[:-2], json.dumps(gone)]
    (root / "before").mkdir()
    (root / "before" / "catalog.jsonl").write_text("\n".join(before) + "\n", encoding="utf-8")

    settings = make_settings(root / "incremental")
    images = root / "demo" / "images"
    _build(settings, root / "before" / "catalog.jsonl", images)
    stages = _build(settings, catalog, images)
    ingest, extract = stages["ingest"], stages["extract"]
    assert (ingest["new"], ingest["changed"], ingest["removed"]) == (2, 1, 1)
    # the pipeline ran on the three new or changed records only
    assert (extract["extracted"], extract["reused"]) == (3, ITEMS - 3)
    assert extract["removed_from_kg"] == 1
    assert extract["written"] < ITEMS // 2  # what mining changed elsewhere, not everything

    # node provenance names the last writer, so it differs by history; nothing else may
    ours = _checksums(settings, node_provenance=False)
    theirs = _checksums(baseline, node_provenance=False)
    assert ours["graph"] == theirs["graph"]
    assert ours["keyword"] == theirs["keyword"]
    assert ours["items.jsonl"] == theirs["items.jsonl"]
    # batching moves the last bits: fp32's, or bf16's where the CPU encodes batches in bf16
    bf16 = stages["text_index"]["precision"] == "bf16"
    for name in VECTOR_INDEXES:
        assert ours[name]["keys_sha256"] == theirs[name]["keys_sha256"], name
        a = index_vectors(settings.index_dir / name)
        b = index_vectors(baseline.index_dir / name)
        if bf16 and name == "item_text":
            cosine = min(float(a[key] @ b[key]) for key in a)
            assert cosine >= BF16_MIN_COSINE, f"{name}: vectors at cosine {cosine}"
            continue
        gap = max(float(np.abs(a[key] - b[key]).max()) for key in a)
        assert gap < 1e-5, f"{name}: vectors differ by {gap}"


def _good_lines(root: Path, count: int) -> list[str]:
    write_catalog(root / "good", count, 500)
    return (root / "good" / "catalog.jsonl").read_text(encoding="utf-8").splitlines()


def test_a_catalog_of_bad_records_completes_with_each_quarantined_and_counts_reconciled(
    root: Path, make_settings: Callable[[Path], Settings]
) -> None:
    base = root / "bad"
    lines = _good_lines(base, 30)
    images = base / "good" / "images"
    records = [json.loads(line) for line in lines]
    with_image = [r for r in records if r["images"]]
    # four good records whose images are missing, corrupt, truncated, a decompression bomb
    with_image[0]["images"] = ["missing/nowhere.jpg"]
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" * 10)
    with_image[1]["images"] = ["corrupt.jpg"]
    real = (images / with_image[2]["images"][0]).read_bytes()
    (images / "truncated.jpg").write_bytes(real[: len(real) // 3])
    with_image[2]["images"] = ["truncated.jpg"]
    Image.new("1", (20_000, 20_000)).save(images / "bomb.png")  # ~400 KB, 400 Mpx
    with_image[3]["images"] = ["bomb.png"]
    good = [json.dumps(r) for r in records]
    wrong_type = {**records[5], "id": "bad-price", "price": "cheap"}
    empty_title = {**records[6], "id": "bad-title", "title": "   "}
    bad = [
        '{"id": "bad-json", "title": "cut off',
        json.dumps(wrong_type),
        json.dumps(empty_title),
        json.dumps({**records[7], "title": "the same id again"}),  # a duplicate id
        "[1, 2, 3]",
    ]
    catalog = base / "catalog.jsonl"
    catalog.write_text("\n".join(good[:10] + bad + good[10:]) + "\n", encoding="utf-8")

    settings = make_settings(base / "var")
    result = run_build(settings, _plan(catalog, images), stream=io.StringIO(), interactive=False)
    assert result.status == JobStatus.SUCCEEDED  # bad records never fail the job
    ingest = result.stages["ingest"]
    assert ingest["read"] == len(good) + len(bad)
    assert (
        ingest["read"]
        == ingest["new"] + ingest["changed"] + ingest["unchanged"] + (ingest["quarantined"])
    )
    assert (ingest["new"], ingest["quarantined"], ingest["missing_images"]) == (30, 5, 1)
    extract = result.stages["extract"]
    assert extract["records"] == extract["extracted"] + extract["reused"] == 30
    images_stage = result.stages["images"]
    readable = sum(len(r["images"]) for r in records) - 3  # less missing, corrupt and bomb
    assert images_stage["images"] == readable
    assert sum(images_stage["unreadable"].values()) == 2
    assert images_stage["missing"] == 1  # quarantined by ingestion, not twice
    assert images_stage["not_encoded"] == 1  # the truncated one: a header, no pixels

    database = Database(settings.db).connect()
    try:
        with database.session() as session:
            rows = session.scalars(
                select(QuarantinedRecord).where(QuarantinedRecord.job_id == result.job_id)
            ).all()
        reasons = {(row.stage, row.record_key or row.location): row.reason for row in rows}
        report = build_report(database, result.job_id, result.stages)
    finally:
        database.close()
    by_key = {key: reason for (_, key), reason in reasons.items()}
    assert "price" in by_key["bad-price"]
    assert "title" in by_key["bad-title"]
    assert "duplicate id" in by_key[records[7]["id"]]
    assert any("JSON" in reason or "json" in reason for reason in by_key.values())
    assert "image file not found" in reasons[("ingest", with_image[0]["id"])]
    assert "unreadable image" in reasons[("images", with_image[1]["id"])]
    assert reasons[("images", with_image[2]["id"])]  # truncated: could not be encoded
    assert "image too large" in reasons[("images", with_image[3]["id"])]
    assert len(rows) == 5 + 4  # five records, four images: each once

    with open_store(settings) as store:
        assert store.stats().nodes["Item"] == 30
    assert f"read {len(good) + len(bad)} = new 30 + changed 0 + unchanged 0 + quarantined 5" in (
        report
    )
    assert "quarantined (9):" in report and "truncated.jpg" in report
