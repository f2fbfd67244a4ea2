from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shopkg.cli import cli


def test_ingest_command_reports_counts_and_quarantine(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    catalog = tmp_path / "shop.jsonl"
    catalog.write_text('{"id": "1", "title": "Mug"}\n{"id": "2"}\nnot json\n', encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "ingest", "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["catalog"] == "shop"
    assert (summary["read"], summary["new"], summary["quarantined"]) == (3, 1, 2)
    assert "shop.jsonl:2: title: required field is missing" in result.stderr
    again = runner.invoke(cli, ["--db", db, "ingest", "--catalog", str(catalog)])
    assert json.loads(again.stdout.strip().splitlines()[-1])["unchanged"] == 1
