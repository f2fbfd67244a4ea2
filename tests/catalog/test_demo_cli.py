"""``shopkg demo-catalog``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from catalog.demo import GENERATED_NOTICE
from shopkg.cli import cli


def test_demo_catalog_command_writes_the_catalog_and_says_it_is_generated(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo-catalog", "--items", "25", "--out", str(out), "--seed", "3", "--truth"]
    result = CliRunner().invoke(cli, [*args, "--image-limit", "4"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["items"], summary["images"] >= 4) == (25, True)
    assert GENERATED_NOTICE in result.stderr
    assert len((out / "catalog.jsonl").read_text(encoding="utf-8").splitlines()) == 25
    assert len((out / "truth.jsonl").read_text(encoding="utf-8").splitlines()) == 25
    assert len(list((out / "images").rglob("*.jpg"))) == summary["images"]


def test_no_images_lists_and_draws_none(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo-catalog", "--items", "10", "--out", str(out), "--no-images"]
    result = CliRunner().invoke(cli, [*args, "--image-limit", "5"])
    assert result.exit_code == 0, result.output
    assert not (out / "images").exists()
    assert '"images"' not in (out / "catalog.jsonl").read_text(encoding="utf-8")


def test_zero_items_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo-catalog", "--items", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--items" in result.output
