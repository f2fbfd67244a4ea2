"""The build reads colours and patterns the text leaves out from the photos, with provenance."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from foundation.settings import load_settings
from jobs.build import BuildPlan, run_build
from jobs.image_values import EXTRACTOR, FROM_THE_PHOTO


def test_values_read_from_photos_are_facts_with_provenance_and_mostly_right(
    tmp_path: Path,
) -> None:
    from catalog.demo.generate import write_catalog
    from kg import open_store
    from shopkg.cli import cli
    from shopkg.evals.image_values import evaluate_image_values

    write_catalog(tmp_path / "demo", 300, 0, truth=True)
    settings = load_settings(data_dir=tmp_path / "var")  # the shipped image tower
    plan = BuildPlan(tmp_path / "demo" / "catalog.jsonl", "demo", tmp_path / "demo" / "images")
    result = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    assert result.status == "succeeded"
    stage = result.stages["image_values"]
    colour = stage["attributes"]["color"]
    assert colour["held_out_accuracy"] > 3 * colour["majority_accuracy"]
    own = sum(a["facts"] for a in stage["attributes"].values())
    assert own > 0 and stage["facts"] == own + stage["model"]["facts"]
    with open_store(settings) as store:
        report = evaluate_image_values(store, tmp_path / "demo" / "truth.jsonl")
        assert report["matched_items"] == 300
        written = report["attributes"]["color"]
        assert written["facts"] > 0 and written["precision"] >= 0.75  # 0.92 at 800 items
        assert written["precision"] > written["majority_accuracy"]
        relations = [
            r
            for page in store.iter_nodes("Item")
            for node in page
            for r in store.relations_of(store.ref("Item", key=node.key))
            if r.provenance.extractor == EXTRACTOR
        ]
        assert relations
        assert all(r.properties.get("raw") == FROM_THE_PHOTO for r in relations)
        assert all(0 < r.provenance.confidence <= 1 for r in relations)
    command = ["--data-dir", str(tmp_path / "var"), "eval", "image-values"]
    out = CliRunner().invoke(cli, [*command, "--data", str(tmp_path / "demo")])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout.splitlines()[-1])["attributes"]["color"] == written


IMPLICITAVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "implicitave"


def _implicitave_subset(root: Path, per_file: int) -> Path:
    """The first ``per_file`` products of each domain of the development set, with their
    photos and the options files (linked, not copied into the repository)."""
    (root / "texts").mkdir(parents=True)
    for file in sorted((IMPLICITAVE / "texts").glob("*.tsv")):
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        (root / "texts" / file.name).write_text("".join(lines[: per_file + 1]))
    for file in IMPLICITAVE.glob("options_*.json"):
        (root / file.name).symlink_to(file)
    (root / "images").symlink_to(IMPLICITAVE / "images")
    return root


@pytest.mark.slow
@pytest.mark.skipif(not IMPLICITAVE.is_dir(), reason="needs ../shared/data/implicitave")
def test_a_build_of_photographed_products_writes_the_values_their_photos_and_titles_show(
    tmp_path: Path,
) -> None:
    from catalog.implicitave import read_implicitave
    from encoders.value_model import load_value_model
    from extraction.values import canonical, canonical_attribute
    from kg import open_store

    data_dir = _implicitave_subset(tmp_path / "iave", 30)
    settings = load_settings(data_dir=tmp_path / "var")  # shipped tower and values model
    plan = BuildPlan(data_dir, "iave", data_dir / "images", data_format="implicitave")
    result = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    assert result.status == "succeeded"
    model = load_value_model(settings.models_dir)
    assert model is not None
    stage = result.stages["image_values"]["model"]
    assert stage["model"] == model.version and stage["facts"] > 0
    data = read_implicitave(data_dir, texts=False)
    truth = {
        (row.id, canonical_attribute(row.attribute)): canonical(row.value, row.attribute)
        for row, _, _ in data.labelled(data.photos)
    }
    with open_store(settings) as store:
        graph = store.export_networkx(labels=("Item", "Value"), relations=("HAS_VALUE",))
    right = judged = 0
    for (_, item), (_, value), _, relation in graph.edges(keys=True, data=True):
        provenance = relation.get("provenance", [relation])
        if not any(p.get("extractor") == EXTRACTOR for p in provenance):
            continue
        assert relation["raw"] == FROM_THE_PHOTO
        assert all(p["confidence"] >= model.threshold for p in provenance)
        node = graph.nodes[("Value", value)]
        labelled = truth.get((item, node["attribute"]))
        if labelled is not None:
            judged += 1
            right += labelled == node["value"]
    assert judged >= 10
    # these development photos trained the shipped model, so this checks the plumbing, not
    # the quality (cross-validated figures: `shopkg train image-values`)
    assert right / judged >= 0.6
