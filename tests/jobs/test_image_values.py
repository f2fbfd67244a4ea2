"""The build reads colours and patterns the text leaves out from the photos, with provenance."""

from __future__ import annotations

import io
import json
from pathlib import Path

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
    assert stage["facts"] == sum(a["facts"] for a in stage["attributes"].values()) > 0
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
