"""How other packages get a store, what importing ``kg`` costs, and the benchmark's contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from foundation.errors import ConfigError, GraphStoreError
from foundation.settings import load_settings
from kg import NodeRef, NodeRow, open_store, store_from_uri
from kg.kuzu_store import KuzuStore
from kg.neo4j_store import Neo4jStore

ROOT = Path(__file__).resolve().parents[2]


def test_open_store_from_settings_does_no_io_until_opened(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var", batch_size=64)
    store = open_store(settings)
    assert isinstance(store, KuzuStore)
    assert store.path == tmp_path / "var" / "graph"
    assert store.batch_size == 64
    assert not store.path.exists()
    with pytest.raises(GraphStoreError, match=r"not open; call \.open\(\)"):
        store.upsert_nodes([NodeRow("Item", {"key": "x"})])
    with store:
        store.upsert_nodes([NodeRow("Item", {"key": "x"})])
        assert store.get_node(NodeRef("Item", "x")) is not None
    assert not store.is_open


def test_neo4j_settings_give_a_neo4j_store(tmp_path: Path) -> None:
    settings = load_settings(
        graph="neo4j://graph.example:7687",
        neo4j_user="shop",
        neo4j_password="pw",
        neo4j_database="kg",
    )
    store = open_store(settings)
    assert isinstance(store, Neo4jStore)
    assert (store.uri, store.database) == ("neo4j://graph.example:7687", "kg")
    with pytest.raises(ConfigError, match="unsupported graph URI"):
        store_from_uri("mysql://nope")


def test_a_kuzu_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("not a graph")
    with pytest.raises(GraphStoreError, match="is not a directory"):
        KuzuStore(target).open()


def test_importing_kg_loads_no_heavy_or_backend_modules() -> None:
    code = (
        "import sys, kg, kg.analytics; "
        "print(','.join(sorted(m for m in ('torch', 'flask', 'kuzu', 'neo4j', 'transformers') "
        "if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_benchmark_prints_its_figures_as_json_on_the_last_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "kg_bench.py"),
            "--items",
            "300",
            "--queries",
            "5",
            "--baseline-rows",
            "20",
            "--buffer-pool-mb",
            "256",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["items"] == 300
    assert figures["relations"] >= figures["relations_created"] == figures["stored_relations"]
    assert figures["stored_relations"] > 300 * 10
    assert figures["reupsert_batch_unchanged"] is True
    for key in ("neighborhood_2hop_both", "neighborhood_2hop_out", "lookup"):
        assert figures[key]["p95_ms"] >= figures[key]["p50_ms"] > 0
    assert (
        figures["relation_upsert_per_s"]
        > figures["baseline"]["row_at_a_time_merge_relations_per_s"]
    )


def test_the_neo4j_driver_codes_bolt_messages_in_rust_and_the_bench_shows_the_gain() -> None:
    """The installed driver uses its Rust PackStream codec (``neo4j-rust-ext``); the bench
    measures it against the pure-Python codec on the same rows, which it gets back intact."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bolt_codec_bench.py"), "--rows", "2000"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["shipped"]["codec"] == "rust"
    assert figures["pure_python"]["codec"] == "python"
    assert figures["shipped"]["bytes"] == figures["pure_python"]["bytes"]
    assert figures["pack_speedup"] > 1 and figures["unpack_speedup"] > 1
