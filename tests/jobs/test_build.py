"""The batch build end to end on a small generated catalog (the assistant over it:
tests/assistant/test_assistant_over_a_build.py)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build
from kg import NodeRef, open_store
from retrieval.graph_postings import LIMIT, SECTIONS, load_postings
from retrieval.vector_index import VectorIndex
from tests.builds import demo_plan


@pytest.fixture
def built(demo_build: tuple[Settings, Path]) -> tuple[Settings, Path]:
    """The shared demo build (tests/conftest.py); tests here only read it or rebuild it
    unchanged, except the last, which works on a copy."""
    return demo_build


def _plan(root: Path) -> BuildPlan:
    return demo_plan(root)


def test_the_build_fills_the_kg_and_the_indexes(built: tuple[Settings, Path]) -> None:
    settings, _ = built
    with open_store(settings) as store:
        stats = store.stats()
        assert stats.nodes["Item"] == 60
        for label in ("Category", "Brand", "Value", "POI", "Problem", "Concept", "Entry"):
            assert stats.nodes[label] > 0, label
        for rel in ("IN_CATEGORY", "HAS_VALUE", "HAS_POI", "SOLVES", "SUITS", "MENTIONS"):
            assert stats.relations[rel] > 0, rel
    index = VectorIndex.load(settings.index_dir / "item_text")
    assert len(index) == 60


def test_images_become_nodes_vectors_and_concept_prototypes(
    built: tuple[Settings, Path],
) -> None:
    settings, _ = built
    with open_store(settings) as store:
        stats = store.stats()
        assert stats.nodes["Image"] > 0
        assert stats.relations["HAS_IMAGE"] == stats.nodes["Image"]
        assert stats.relations["DEPICTS"] > 0
        concepts = [n for page in store.iter_nodes("Concept") for n in page]
    with_prototype = [c for c in concepts if c.properties.get("image_count")]
    assert with_prototype
    concept = with_prototype[0].properties
    assert len(concept["prototype"]) == 16
    assert 0.0 <= concept["spread"] <= 2.0
    assert concept["prototype_encoder"].startswith("shopkg-image-tower")
    prototypes = VectorIndex.load(settings.index_dir / "concept_prototype")
    assert len(prototypes) == len(with_prototype)


def test_graph_postings_say_what_the_store_says(built: tuple[Settings, Path]) -> None:
    settings, _ = built
    postings = load_postings(settings.index_dir)
    assert postings is not None
    checked = 0
    with open_store(settings) as store:
        for section, (label, relations, hops) in SECTIONS.items():
            for key, items in sorted(postings[section].items())[:12]:
                asked = store.neighborhood(
                    NodeRef(label, key),
                    hops=hops,
                    limit=LIMIT,
                    labels=["Item"],
                    relations=relations,
                    direction="in",
                )
                assert items == [n.node.key for n in asked], (section, key)
                checked += len(items) > 0
    assert checked > 20


def test_a_rebuild_of_an_unchanged_catalog_does_no_work(built: tuple[Settings, Path]) -> None:
    settings, root = built
    result = run_build(settings, _plan(root), stream=io.StringIO(), interactive=False)
    assert result.stages["ingest"]["unchanged"] == 60
    assert result.stages["extract"] == {"records": 0, "note": "nothing changed"}
    assert result.stages["text_index"]["encoded"] == 0


def test_removed_records_leave_the_kg_and_the_index(
    built: tuple[Settings, Path], tmp_path: Path
) -> None:
    shutil.copytree(built[1], tmp_path / "copy")
    root = tmp_path / "copy"
    settings = load_settings(data_dir=root / "var")
    catalog = root / "demo" / "catalog.jsonl"
    lines = catalog.read_text(encoding="utf-8").splitlines()
    gone = json.loads(lines[0])["id"]
    changed = json.loads(lines[1])
    changed["title"] = changed["title"] + " (new edition)"
    catalog.write_text("\n".join([json.dumps(changed), *lines[2:]]) + "\n", encoding="utf-8")
    result = run_build(settings, _plan(root), stream=io.StringIO(), interactive=False)
    ingest = result.stages["ingest"]
    assert (ingest["changed"], ingest["removed"], ingest["unchanged"]) == (1, 1, 58)
    assert result.stages["extract"]["removed_from_kg"] == 1
    with open_store(settings) as store:
        assert store.get_node(NodeRef("Item", gone)) is None
        assert store.stats().nodes["Item"] == 59
    index = VectorIndex.load(settings.index_dir / "item_text")
    assert len(index) == 59 and gone not in index
