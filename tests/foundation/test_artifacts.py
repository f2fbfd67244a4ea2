"""The build's on-disk layout and its manifest: one description that writers and readers share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foundation.artifacts import (
    BuildManifest,
    IndexLayout,
    current,
    current_name,
    point_at,
    snapshot_dir,
)
from foundation.errors import JobError
from foundation.settings import load_settings


def _manifest(**changes: object) -> BuildManifest:
    parameters = {
        "catalog": "/data/shop.jsonl",
        "name": "shop",
        "images": "/data/images",
        "format": "catalog",
        "generated": True,
    }
    return BuildManifest.of_job(7, {**parameters, **changes})


def test_a_manifest_reads_back_what_was_written(tmp_path: Path) -> None:
    written = _manifest()
    written.write(tmp_path)
    read = BuildManifest.read(tmp_path)
    assert read == written
    assert read is not None and read.image_root == Path("/data/images") and read.generated


def test_a_manifest_ignores_job_parameters_it_does_not_describe(tmp_path: Path) -> None:
    manifest = _manifest(requested_by="admin", rerun_of=3, force=True)
    assert manifest.force and manifest.job == 7
    assert "requested_by" not in manifest.model_dump()


def test_a_snapshot_published_before_the_manifest_still_reads(tmp_path: Path) -> None:
    older = {
        "job": 4,
        "parameters": {"catalog": "/c.jsonl", "name": "c", "images": None, "generated": False},
        "graph": "neo4j://db:7687",
    }
    (tmp_path / "build.json").write_text(json.dumps(older), encoding="utf-8")
    read = BuildManifest.read(tmp_path)
    assert read is not None
    assert (read.job, read.name, read.image_root, read.graph) == (4, "c", None, "neo4j://db:7687")


def test_a_broken_manifest_is_a_clear_error_and_a_missing_one_is_none(tmp_path: Path) -> None:
    assert BuildManifest.read(tmp_path) is None
    (tmp_path / "build.json").write_text('{"job": "seven"}', encoding="utf-8")
    with pytest.raises(JobError, match=r"build\.json is not valid"):
        BuildManifest.read(tmp_path)


def test_the_current_snapshot_is_the_one_the_pointer_names(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert current(settings) is None and current_name(settings) is None
    directory = snapshot_dir(settings, 7)
    directory.mkdir(parents=True)
    _manifest().write(directory)
    point_at(settings, directory)
    published = current(settings)
    assert published is not None and published.name == current_name(settings) == "build-7"
    assert published.job_id == 7 and published.indexes.root == directory / "indexes"
    assert published.records_path.parent == directory


def test_a_pointer_at_a_snapshot_without_a_manifest_is_an_error(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    directory = snapshot_dir(settings, 9)
    directory.mkdir(parents=True)
    point_at(settings, directory)
    with pytest.raises(JobError, match=r"has no build\.json"):
        current(settings)


def test_every_index_lies_under_its_root_by_one_name() -> None:
    layout = IndexLayout(Path("/x/indexes"))
    paths = [
        layout.item_text,
        layout.item_image,
        layout.image,
        layout.concept_prototype,
        layout.keyword,
        layout.items,
        layout.postings,
    ]
    assert all(p.parent == layout.root for p in paths)
    assert len({p.name for p in paths}) == len(paths)
    assert layout.keyword_keys.parent == layout.keyword
