"""`shopkg train image-values` and `shopkg eval image-values --format implicitave` end to end
on a slice of the development data, with the real encoders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shopkg.cli import cli

IMPLICITAVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "implicitave"


def _slice(root: Path, photos: int, texts: int) -> Path:
    def head(source: Path, target: Path, rows: int) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        target.write_text("".join(lines[: rows + 1]), encoding="utf-8")

    for file in sorted((IMPLICITAVE / "texts").glob("*.tsv")):
        head(file, root / "texts" / file.name, photos)
    for file in sorted((IMPLICITAVE / "training_texts").glob("*/*.tsv")):
        head(file, root / "training_texts" / file.parent.name / file.name, texts)
    for file in IMPLICITAVE.glob("options_*.json"):
        (root / file.name).symlink_to(file)
    (root / "images").symlink_to(IMPLICITAVE / "images")
    return root


def _json(args: list[str], data_dir: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, args, env={"SHOPKG_DATA_DIR": str(data_dir)}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    last: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return last


@pytest.mark.slow
@pytest.mark.skipif(not IMPLICITAVE.is_dir(), reason="needs ../shared/data/implicitave")
def test_a_model_trained_on_a_slice_reports_unseen_photo_figures_and_evaluates_by_domain(
    tmp_path: Path,
) -> None:
    data = _slice(tmp_path / "iave", photos=40, texts=300)
    var = tmp_path / "var"
    trained = _json(["train", "image-values", "--data", str(data)], var)
    assert Path(str(trained["model"])) == var / "models" / "image-values"
    unseen = trained["cross_validated"]
    assert isinstance(unseen, dict) and unseen["rows"] == 200
    assert {"fused", "title", "photo", "majority", "chance", "at_threshold"} <= set(unseen)
    assert set(unseen["per_domain"]) == {"Clothing", "Food", "Footwear", "Home", "Jewlery"}

    report = _json(["eval", "image-values", "--format", "implicitave", "--data", str(data)], var)
    assert report["model"] == trained["version"]
    assert report["products_trained_on"] == 200  # it says these photos trained it
    assert report["photo_head"] == "used"
    assert isinstance(report["per_attribute"], dict) and len(report["per_attribute"]) >= 10
    for figures in report["per_domain"].values():
        assert figures["rows"] == 40


@pytest.mark.skipif(not IMPLICITAVE.is_dir(), reason="needs ../shared/data/implicitave")
def test_the_shipped_model_beats_the_majority_and_the_title_on_the_development_photos(
    tmp_path: Path,
) -> None:
    data = _slice(tmp_path / "iave", photos=1000, texts=0)
    report = _json(
        ["eval", "image-values", "--format", "implicitave", "--data", str(data)], tmp_path / "var"
    )
    assert report["rows"] == 764 and report["products_trained_on"] == 764
    assert report["fused"] > report["title"] > report["majority"]
    assert report["photo"] > report["majority"]
