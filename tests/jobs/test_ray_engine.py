"""The build on Ray (``shopkg build --engine ray``) against the in-process build.

The same generated catalog, with images, is built in process and on a local Ray (started by
the build itself: this machine's CPUs, no dashboard, no usage statistics, nothing fetched):

- a Ray build on two workers ends with the graph and the indexes of the in-process build
  (same graph checksum, same keys; vectors the same within the bf16 tolerance);
- a Ray build SIGKILLed in the middle of extraction and run again resumes the same job
  (records extracted before the kill are not extracted again) and ends with the same result.

Both run the real ``shopkg`` command in a process of its own: the local cluster lives and dies
with it, and this test process never imports Ray.
"""

from __future__ import annotations

import contextlib
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
from sqlalchemy import select

from catalog.demo.generate import write_catalog
from encoders.sentence import BF16_MIN_COSINE
from foundation.db import BuildJob, Database, JobStatus
from foundation.settings import Settings
from jobs.build import CACHE_FILE, BuildPlan, make_engine, run_build
from jobs.checksums import build_checksums, index_vectors
from kg import open_store

pytestmark = pytest.mark.slow

ITEMS = 240
VECTOR_INDEXES = ("item_text", "image", "item_image", "concept_prototype")
EXACT = ("graph", "keyword", "items.jsonl", "graph_postings.json")


def _ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


needs_ray = pytest.mark.skipif(
    not _ray_installed(), reason="the shopkg[ray] extra is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray")
    write_catalog(root / "demo", ITEMS, 0)
    return root


@pytest.fixture(scope="module")
def in_process(root: Path, make_settings: Callable[[Path], Settings]) -> Settings:
    """The catalog built once by the default, in-process engine."""
    settings = make_settings(root / "in-process")
    plan = BuildPlan(root / "demo" / "catalog.jsonl", "demo", root / "demo" / "images")
    result = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    assert result.status == JobStatus.SUCCEEDED
    return settings


def _command(root: Path, workers: int) -> list[str]:
    shopkg = Path(sys.executable).with_name("shopkg")
    return [
        str(shopkg),
        "build",
        "--catalog",
        str(root / "demo" / "catalog.jsonl"),
        "--images",
        str(root / "demo" / "images"),
        "--name",
        "demo",
        "--engine",
        "ray",
        "--ray-workers",
        str(workers),
    ]


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "SHOPKG_DATA_DIR": str(data_dir), "RAY_USAGE_STATS_ENABLED": "0"}


def _finish(process: subprocess.Popen[Any]) -> None:
    """Reap what is left of a killed build's process group: a local Ray's agents can outlive
    a driver killed with SIGKILL (they share its group: the build ran in a session of its own)."""
    process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _run(root: Path, data_dir: Path, workers: int) -> dict[str, Any]:
    """Run a Ray build to its end; its JSON summary."""
    done = subprocess.run(
        _command(root, workers),
        env=_env(data_dir),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    return summary


def _checksums(settings: Settings) -> dict[str, Any]:
    with open_store(settings) as store:
        return build_checksums(settings.index_dir, store)


def _assert_same_build(ours: Settings, theirs: Settings, bf16: bool) -> None:
    a, b = _checksums(ours), _checksums(theirs)
    assert set(a) == set(b)
    for name in EXACT:
        assert a[name] == b[name], name
    for name in VECTOR_INDEXES:
        assert a[name]["keys_sha256"] == b[name]["keys_sha256"], name
        if a[name] == b[name]:
            continue  # the same bits (the same batches through the same model)
        ours_vectors = index_vectors(ours.index_dir / name)
        theirs_vectors = index_vectors(theirs.index_dir / name)
        if bf16 and name == "item_text":
            cosine = min(float(ours_vectors[k] @ theirs_vectors[k]) for k in ours_vectors)
            assert cosine >= BF16_MIN_COSINE, f"{name}: vectors at cosine {cosine}"
            continue
        gap = max(float(np.abs(ours_vectors[k] - theirs_vectors[k]).max()) for k in ours_vectors)
        assert gap < 1e-5, f"{name}: vectors differ by {gap}"


@needs_ray
def test_a_ray_build_makes_the_graph_and_indexes_of_an_in_process_build(
    root: Path, in_process: Settings, make_settings: Callable[[Path], Settings]
) -> None:
    settings = make_settings(root / "ray")
    summary = _run(root, root / "ray", workers=2)
    stages = summary["stages"]
    # one actor per batch at most: 3 batches of records, 5 of images, 1 chunk of texts
    for stage, workers in (("extract", 2), ("text_index", 1), ("images", 2)):
        assert stages[stage]["engine"] == "ray", stage
        assert stages[stage]["workers"] == workers, stage
    assert stages["extract"]["extracted"] == ITEMS
    assert stages["text_index"]["encoded"] == ITEMS
    assert "engine" not in stages["ingest"]  # catalog-level steps stay in the driver
    _assert_same_build(settings, in_process, stages["text_index"]["precision"] == "bf16")


def _cached(data_dir: Path) -> int:
    path = data_dir / CACHE_FILE
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(path, timeout=0.1) as db:
            return int(db.execute("SELECT count(*) FROM facts").fetchone()[0])
    except sqlite3.OperationalError:  # locked by the writer, or its tables not made yet
        return 0


@needs_ray
def test_a_ray_build_killed_mid_extraction_resumes_to_the_same_result(
    root: Path, in_process: Settings, make_settings: Callable[[Path], Settings]
) -> None:
    data_dir = root / "ray-killed"
    settings = make_settings(data_dir)
    # one worker: batches of 100 records come back one after another, so the kill lands
    # between the first batch reaching the extraction cache and the last
    with (root / "ray-killed.log").open("wb") as log:
        first = subprocess.Popen(
            _command(root, workers=1),
            env=_env(data_dir),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while _cached(data_dir) < 100:
            if first.poll() is not None:
                pytest.fail(f"the build ended (exit {first.returncode}) before its first batch")
            if time.monotonic() > deadline:
                first.kill()
                pytest.fail("timed out waiting for the first extraction batch")
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        _finish(first)
    assert 100 <= _cached(data_dir) < ITEMS, "the kill must land in the middle of extraction"

    summary = _run(root, data_dir, workers=2)  # resumed on another number of workers
    assert summary["resumed"] is True
    extract = summary["stages"]["extract"]
    assert extract["records"] == ITEMS
    assert extract["extracted"] < ITEMS  # what the killed run extracted was kept

    database = Database(settings.db).connect()
    try:
        with database.session() as session:
            (job,) = session.scalars(select(BuildJob)).all()  # one job, resumed
            stage = next(stage for stage in job.stages if stage.name == "extract")
            assert (stage.done, stage.skipped, stage.failed) == (ITEMS, 0, 0)
    finally:
        database.close()
    precision = summary["stages"]["text_index"]["precision"]
    _assert_same_build(settings, in_process, precision == "bf16")


def test_the_engine_is_chosen_by_name() -> None:
    from foundation.errors import ConfigError
    from jobs.engine import InProcessEngine

    assert isinstance(make_engine("in-process"), InProcessEngine)
    with pytest.raises(ConfigError, match="unknown build engine"):
        make_engine("spark")
    # the Ray engine does nothing until the build uses it (Ray itself is imported then)
    assert make_engine("ray", address="auto", workers=3).name == "ray"
    with pytest.raises(ConfigError, match="at least 1"):
        make_engine("ray", workers=0)
