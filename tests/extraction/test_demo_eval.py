"""`eval extraction --format demo`: the built KG scored against the demo catalog's truth."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from shopkg.evals.extraction_demo import FACT_TYPES, score


def test_a_fact_counts_when_it_names_the_truth_or_one_of_its_wordings() -> None:
    gold = {"a": {"camping", "hiking"}, "b": {"office"}}
    found = {"a": {"camping trip", "festival"}, "b": {"office"}}
    wordings = {"camping": frozenset({"camping", "camping trip"})}
    result = score(gold, found, wordings)
    assert (result["precision"], result["recall"]) == (round(2 / 3, 4), round(2 / 3, 4))
    assert result["missed_most"] == [("hiking", 1)]
    assert result["added_most"] == [("festival", 1)]
    # without the wordings "camping trip" is not "camping"
    assert score(gold, found)["recall"] == round(1 / 3, 4)


def test_an_item_the_kg_lacks_counts_every_true_fact_as_missed() -> None:
    result = score({"a": {"x", "y"}}, {})
    assert (result["precision"], result["recall"], result["f1"]) == (0.0, 0.0, 0.0)
    assert result["true"] == 2 and result["found"] == 0


def test_the_demo_eval_scores_every_fact_type_of_a_built_demo(tmp_path: Path) -> None:
    from catalog.demo.generate import write_catalog
    from foundation.settings import load_settings
    from jobs.build import BuildPlan, run_build
    from shopkg.cli import cli

    write_catalog(tmp_path / "demo", 120, 3, image_limit=0, truth=True)
    settings = load_settings(data_dir=tmp_path / "var")
    plan = BuildPlan(tmp_path / "demo" / "catalog.jsonl", "demo", generated=True)
    assert run_build(settings, plan, stream=io.StringIO(), interactive=False).status == (
        "succeeded"
    )
    command = ["--data-dir", str(tmp_path / "var"), "eval", "extraction", "--format", "demo"]
    out = CliRunner().invoke(cli, [*command, "--data", str(tmp_path / "demo")])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["matched_items"] == report["truth_items"] == 120
    types = report["fact_types"]
    assert set(types) == set(FACT_TYPES)
    # the record states its category and brand: the KG holds them
    assert types["category"]["f1"] == 1.0
    assert types["brand"]["precision"] == 1.0
    assert all(types[kind]["recall"] > 0 for kind in FACT_TYPES)
    # what the text never states is not found (problems may be, through a POI it names)
    for kind in ("category", "brand", "poi", "scene", "crowd"):
        assert types[kind]["recall"] <= types[kind]["stated_in_text"], kind
    assert types["value"]["f1"] > 0.85
    assert report["lowest_f1"] == min(t["f1"] for t in types.values())


def test_the_demo_eval_asks_for_a_truth_file(tmp_path: Path) -> None:
    from shopkg.cli import cli

    (tmp_path / "demo").mkdir()
    command = ["--data-dir", str(tmp_path / "var"), "eval", "extraction", "--format", "demo"]
    out = CliRunner().invoke(cli, [*command, "--data", str(tmp_path / "demo")])
    assert out.exit_code == 2
    assert "truth.jsonl" in out.output
