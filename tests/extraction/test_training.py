from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from extraction.ave import AveExample, locate, read_ave
from extraction.evaluate import evaluate_file
from extraction.pipeline import build_pipeline
from extraction.tagger import AttributeTagger
from shopkg.cli import cli
from tests.extraction.conftest import write_tiny_ave


def test_gold_values_become_spans_case_insensitively_on_word_boundaries() -> None:
    text = "Acme Men's Red Shoe, red, Redwood"
    assert locate(text, "RED") == [(11, 14), (21, 24)]
    assert locate(text, "n/a") == []
    example = AveExample(text, "Shoes", "oa-mine", {"color": ["red"], "brand": ["Nike"]})
    assert example.spans() == [(11, 14, "color"), (21, 24, "color")]
    assert example.split == AveExample(text, "x", "ae-110k").split  # a hash of the text


def test_wdc_pave_records_read_title_description_and_scored_values(tmp_path: Path) -> None:
    row = {
        "input_title": "Canon Ink",
        "input_description": "<b>Glossy</b> paper",
        "category": "Office",
        "target_scores": {"Brand": {"Canon": {"pid": [0], "score": 1}}, "Color": {"n/a": 1}},
    }
    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (example,) = read_ave(path, "wdc-pave")
    assert example.text == "Canon Ink\nGlossy paper"
    assert example.gold == {"brand": ["Canon"]}


def test_tiny_model_learns_attributes_and_ships_a_manifest(tiny_model: Path) -> None:
    tagger = AttributeTagger.load(tiny_model)
    manifest = tagger.manifest
    assert manifest["labels"] == ["brand", "color", "size"]
    assert manifest["version"].startswith("1.")
    assert manifest["training_data"][0]["sha256"]
    assert set(manifest["dev"]) == {"oa-mine"}
    found = {
        (m.attribute, m.text) for m in tagger.predict("Quellx Men's Sun Hat 999, Black, 9 M US")
    }
    assert ("color", "Black") in found
    assert ("size", "9 M US") in found
    assert all(
        0 < m.confidence <= 1 for m in tagger.predict("Numa Men's Trail Boot 5, Red, 7 M US")
    )


def test_pipeline_with_the_tagger_writes_values_with_its_version(tiny_model: Path) -> None:
    pipeline = build_pipeline(model_dir=tiny_model)
    facts = pipeline.extract({"id": "1", "title": "Pavox Men's Rain Jacket 77, Grey, 12 M US"})
    extractors = {r.provenance.extractor for r in facts.relations_of("HAS_VALUE")}
    assert extractors == {AttributeTagger.load(tiny_model).extractor}
    assert ("Value", "color=grey") in {r.target for r in facts.relations_of("HAS_VALUE")}


def test_eval_scores_the_dev_split_of_a_training_file(tiny_model: Path) -> None:
    train_file = Path(AttributeTagger.load(tiny_model).manifest["training_data"][0]["path"])
    result = evaluate_file(train_file, "oa-mine", tiny_model)
    dev = [e for e in read_ave(train_file, "oa-mine") if e.split == "dev"]
    assert result["records"] == len(dev)
    assert result["model"]["normalized"]["f1"] > 0.5
    assert set(result["model"]["exact"]["per_attribute"]) == {"brand", "color", "size"}
    assert 0 <= result["dictionary_baseline"]["exact"]["f1"] <= 1


def test_cli_train_and_eval_print_json_on_the_last_line(tmp_path: Path) -> None:
    ave = write_tiny_ave(tmp_path / "ave", records=100)
    model = tmp_path / "model"
    runner = CliRunner()
    trained = runner.invoke(
        cli,
        [
            "--data-dir",
            str(tmp_path),
            "train",
            "extractor",
            "--kind",
            "spacy",
            "--ave-dir",
            str(ave),
            "--output",
            str(model),
            "--epochs",
            "2",
            "--min-label-count",
            "3",
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout.strip().splitlines()[-1])["labels"]
    evaluated = runner.invoke(
        cli,
        [
            "--data-dir",
            str(tmp_path),
            "eval",
            "extraction",
            "--data",
            str(ave / "oa-mine" / "train.jsonl"),
            "--format",
            "oa-mine",
            "--model",
            str(model),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert {"model", "dictionary_baseline"} <= set(metrics)
    missing = runner.invoke(
        cli,
        [
            "--data-dir",
            str(tmp_path),
            "eval",
            "extraction",
            "--data",
            str(ave / "oa-mine" / "train.jsonl"),
            "--format",
            "oa-mine",
            "--model",
            str(tmp_path / "nothing-here"),
        ],
    )
    assert missing.exit_code == 1 and "shopkg train extractor" in missing.stderr
