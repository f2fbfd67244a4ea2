"""What a build leaves on disk, described once.

A build writes into the data directory::

    indexes/                    IndexLayout: what search reads
        item_text/              vector index, one vector per item (its text)
        item_image/             vector index, one vector per item (the mean of its photos)
        image/                  vector index, one vector per photo
        concept_prototype/      vector index, one visual prototype per concept with photos
        keyword/                the BM25 index (keys.json + bm25s files)
        items.jsonl             the item table: the rows search shows and filters on
        graph_postings.json     the graph channel's postings (KG node → items)
    build.json                  BuildManifest of the last build that succeeded
    serving/current             the name of the published build the server answers from
    serving/build-<job>/        PublishedBuild: a snapshot of one build
        graph/                  a copy of the Kùzu database (none with Neo4j)
        indexes/                a copy of indexes/
        records.jsonl           the catalog records the cards show (catalog.records_file)
        records.index.json      each record's byte range in records.jsonl
        build.json              the same BuildManifest
        evidence-vectors.sqlite QA evidence vectors shared by server processes

The build (``jobs``) writes these; the assistant, search, ``shopkg check`` and the
evaluations read them through this module, never by spelling a name themselves.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from foundation.errors import JobError
from foundation.settings import Settings

# vector index collections (each a directory under indexes/, see retrieval.vector_index)
ITEM_TEXT = "item_text"
ITEM_IMAGE = "item_image"
IMAGE = "image"
CONCEPT_PROTOTYPE = "concept_prototype"

MANIFEST = "build.json"
SERVING_DIR = "serving"
POINTER = "current"
SNAPSHOT_PREFIX = "build-"
RECORDS = "records.jsonl"
EVIDENCE_VECTORS = "evidence-vectors.sqlite"


@dataclass(frozen=True)
class IndexLayout:
    """Where each index of a build lies under an index directory."""

    root: Path

    def vectors(self, collection: str) -> Path:
        """The directory of the vector index ``collection`` (:data:`ITEM_TEXT` …)."""
        return self.root / collection

    @property
    def item_text(self) -> Path:
        return self.vectors(ITEM_TEXT)

    @property
    def item_image(self) -> Path:
        return self.vectors(ITEM_IMAGE)

    @property
    def image(self) -> Path:
        return self.vectors(IMAGE)

    @property
    def concept_prototype(self) -> Path:
        return self.vectors(CONCEPT_PROTOTYPE)

    @property
    def keyword(self) -> Path:
        return self.root / "keyword"

    @property
    def keyword_keys(self) -> Path:
        return self.keyword / "keys.json"

    @property
    def items(self) -> Path:
        return self.root / "items.jsonl"

    @property
    def postings(self) -> Path:
        return self.root / "graph_postings.json"


class BuildManifest(BaseModel):
    """What one successful build made and from what: written last, read by whoever serves
    or evaluates the build (the image root and the demo flag come from here)."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # a newer build may say more

    job: int
    catalog: str
    name: str
    images: str | None = None
    format: str = "catalog"
    generated: bool = False  # the demo catalog: the UI says its data is generated
    force: bool = False
    graph: str | None = None  # the live graph a snapshot reads (Neo4j); None: its own copy

    @model_validator(mode="before")
    @classmethod
    def _flatten_older_snapshots(cls, data: Any) -> Any:
        """Snapshots published before the manifest held ``{"job", "parameters", "graph"}``."""
        if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
            flat = {k: v for k, v in data.items() if k != "parameters"}
            return {**data["parameters"], **flat}
        return data

    @classmethod
    def of_job(
        cls, job: int, parameters: dict[str, Any], graph: str | None = None
    ) -> BuildManifest:
        """The manifest of build ``job`` run with the job runner's ``parameters``."""
        return cls.model_validate({**parameters, "job": job, "graph": graph})

    @property
    def image_root(self) -> Path | None:
        return Path(self.images) if self.images else None

    def write(self, directory: Path) -> Path:
        """Write ``directory/build.json`` whole (atomically)."""
        path = directory / MANIFEST
        temporary = path.with_name(f".{MANIFEST}.tmp")
        temporary.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        os.replace(temporary, path)
        return path

    @classmethod
    def read(cls, directory: Path) -> BuildManifest | None:
        """``directory/build.json``, or None when no build wrote one there."""
        path = directory / MANIFEST
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise JobError(f"the build manifest {path} cannot be read: {e}") from e
        try:
            return cls.model_validate(json.loads(text))
        except (ValueError, ValidationError) as e:
            raise JobError(f"the build manifest {path} is not valid: {e}") from e


def index_layout(settings: Settings) -> IndexLayout:
    """The layout of the index directory the next build writes."""
    return IndexLayout(settings.index_dir)


def last_build(settings: Settings) -> BuildManifest | None:
    """The manifest of the last build that succeeded in ``settings``' data directory."""
    return BuildManifest.read(settings.data_dir)


@dataclass(frozen=True)
class PublishedBuild:
    """One published snapshot (``serving/build-<job>/``) and its manifest."""

    directory: Path
    manifest: BuildManifest

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def job_id(self) -> int:
        return self.manifest.job

    @property
    def indexes(self) -> IndexLayout:
        return IndexLayout(self.directory / "indexes")

    @property
    def graph_dir(self) -> Path:
        return self.directory / "graph"

    @property
    def records_path(self) -> Path:
        return self.directory / RECORDS

    @property
    def evidence_vectors(self) -> Path:
        return self.directory / EVIDENCE_VECTORS


def serving_dir(settings: Settings) -> Path:
    return settings.data_dir / SERVING_DIR


def snapshot_dir(settings: Settings, job_id: int) -> Path:
    return serving_dir(settings) / f"{SNAPSHOT_PREFIX}{job_id}"


def current_name(settings: Settings) -> str | None:
    """Just the name of the current published build (one small read, for polling)."""
    try:
        return (serving_dir(settings) / POINTER).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def current(settings: Settings) -> PublishedBuild | None:
    """The build the server should answer from, or None when none was published yet."""
    name = current_name(settings)
    if name is None:
        return None
    directory = serving_dir(settings) / name
    manifest = BuildManifest.read(directory)
    if manifest is None:
        raise JobError(f"the published build {directory} has no {MANIFEST}")
    return PublishedBuild(directory, manifest)


def point_at(settings: Settings, directory: Path) -> None:
    """Make the snapshot ``directory`` the current one (the pointer is replaced whole)."""
    root = serving_dir(settings)
    pointer = root / f".{POINTER}.tmp"
    pointer.write_text(directory.name + "\n", encoding="utf-8")
    pointer.replace(root / POINTER)
