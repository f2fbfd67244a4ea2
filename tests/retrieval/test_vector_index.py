"""Vector indexes: exact and HNSW search, key bookkeeping, encoder binding and safe files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.errors import VectorIndexError
from retrieval import IndexConfig, VectorIndex

ENCODER = "tiny@1/8"


def unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), dtype=np.float32)


def keyed(n: int, prefix: str = "item") -> list[str]:
    return [f"{prefix}:{i}" for i in range(n)]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), k=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_exact_search_matches_brute_force(n: int, k: int, seed: int) -> None:
    vectors, queries = unit(n, seed=seed), unit(3, seed=seed + 1)
    index = VectorIndex("item_text", ENCODER, 8)
    index.add(keyed(n), vectors)
    hits = index.search(queries, k)
    similarities = queries @ vectors.T
    for row, scores in zip(hits, similarities, strict=True):
        order = np.argsort(-scores, kind="stable")[: min(k, n)]
        assert [hit.score for hit in row] == pytest.approx(scores[order].tolist(), abs=1e-5)
        assert [hit.key for hit in row] == [f"item:{i}" for i in order]


def test_add_update_remove_keep_keys_right() -> None:
    vectors = unit(10)
    index = VectorIndex("image", ENCODER, 8)
    index.add(keyed(10), vectors * 3.0)  # unnormalized input is normalized
    assert len(index) == 10 and "item:3" in index
    assert index.search(vectors[3], 1)[0][0].key == "item:3"
    assert index.search(vectors[3], 1)[0][0].score == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(VectorIndexError, match="already indexed"):
        index.add(["item:3"], vectors[:1])
    index.update(["item:3", "item:new"], np.stack([vectors[7], vectors[1]]))
    assert len(index) == 11
    assert {hit.key for hit in index.search(vectors[7], 2)[0]} == {"item:3", "item:7"}
    assert index.remove(["item:7", "item:7", "unknown"]) == 1
    assert index.search(vectors[7], 1)[0][0].key == "item:3"
    index.remove([*keyed(10), "item:new"])
    assert len(index) == 0 and index.search(vectors[0], 5) == [[]]


def test_grows_into_hnsw_and_skips_removed_vectors() -> None:
    vectors = unit(400, dim=16, seed=3)
    config = IndexConfig(exact_below=100, hnsw_m=8, ef_search=64)
    index = VectorIndex("concept", "tiny@1/16", 16, config)
    index.add(keyed(50), vectors[:50])
    assert str(index.kind) == "flat"
    index.add(keyed(350, "more"), vectors[50:])
    assert str(index.kind) == "hnsw" and len(index) == 400
    assert index.search(vectors[60], 1)[0][0].key == "more:10"
    index.remove(["more:10"])
    assert all(hit.key != "more:10" for hit in index.search(vectors[60], 20)[0])
    index.remove(keyed(120, "more"))  # past a quarter deleted: the graph is rebuilt
    assert index._deleted_count() == 0 and len(index) == 280
    assert index.search(vectors[300], 1)[0][0].key == "more:250"


@pytest.mark.parametrize("exact_below", [1000, 10])
def test_one_vector_is_read_by_key(exact_below: int) -> None:
    vectors = unit(40, seed=5)
    index = VectorIndex("item_text", ENCODER, 8, IndexConfig(exact_below=exact_below))
    index.add(keyed(40), vectors)
    index.remove(["item:3"])
    keys, stored = index.vectors()
    assert index.live_keys() == keys
    for key, row in zip(keys, stored, strict=True):
        found = index.vector(key)
        assert found is not None and np.array_equal(found, row)
    assert index.vector("item:3") is None and index.vector("nothing") is None


@pytest.mark.parametrize("exact_below", [1000, 10])
def test_save_and_load_round_trip(tmp_path: Path, exact_below: int) -> None:
    vectors = unit(40)
    index = VectorIndex("item_image", ENCODER, 8, IndexConfig(exact_below=exact_below))
    index.add(keyed(40), vectors)
    index.remove(["item:5"])
    manifest = index.save(tmp_path / "ix")
    assert manifest["count"] == 39 and manifest["encoder_id"] == ENCODER
    assert manifest["metric"] == "inner_product" and set(manifest["files"]) == {
        "index.faiss",
        "keys.json",
    }
    loaded = VectorIndex.load(tmp_path / "ix", encoder_id=ENCODER)
    assert loaded.kind == index.kind and len(loaded) == 39
    assert loaded.search(vectors[:5], 3) == index.search(vectors[:5], 3)
    assert all(hit.key != "item:5" for hit in loaded.search(vectors[5], 10)[0])


def test_other_encoder_is_refused_everywhere(tmp_path: Path) -> None:
    index = VectorIndex("item_text", ENCODER, 8)
    index.add(keyed(3), unit(3), encoder_id=ENCODER)
    with pytest.raises(VectorIndexError, match="re-encode"):
        index.add(["x"], unit(1), encoder_id="other@2/8")
    with pytest.raises(VectorIndexError, match="other@2/8"):
        index.search(unit(1), 1, encoder_id="other@2/8")
    with pytest.raises(VectorIndexError, match=r"expects \(n, 8\)"):
        index.search(np.ones((1, 16), np.float32), 1)
    with pytest.raises(VectorIndexError, match="NaN"):
        index.add(["nan"], np.full((1, 8), np.nan))
    index.save(tmp_path / "ix")
    with pytest.raises(VectorIndexError, match="other@2/8"):
        VectorIndex.load(tmp_path / "ix", encoder_id="other@2/8")


def test_corrupt_or_missing_files_are_refused(tmp_path: Path) -> None:
    index = VectorIndex("concept_prototype", ENCODER, 8)
    index.add(keyed(5), unit(5))
    directory = tmp_path / "ix"
    index.save(directory)
    data = bytearray((directory / "index.faiss").read_bytes())
    data[-3] ^= 0xFF
    (directory / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(VectorIndexError, match="corrupt or was changed"):
        VectorIndex.load(directory)
    index.save(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["count"] = 6
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(VectorIndexError, match="does not match its manifest"):
        VectorIndex.load(directory)
    (directory / "manifest.json").write_text("{")
    with pytest.raises(VectorIndexError, match="corrupt"):
        VectorIndex.load(directory)
    (directory / "manifest.json").unlink()
    with pytest.raises(VectorIndexError, match="missing"):
        VectorIndex.load(directory)


def test_bad_arguments() -> None:
    with pytest.raises(VectorIndexError, match="unknown collection"):
        VectorIndex("everything", ENCODER, 8)
    index = VectorIndex("item_text", ENCODER, 8)
    with pytest.raises(VectorIndexError, match="2 keys for 1 vectors"):
        index.add(["a", "b"], unit(1))
    with pytest.raises(VectorIndexError, match="twice"):
        index.add(["a", "a"], unit(2))
    index.add(["a"], unit(1))
    with pytest.raises(VectorIndexError, match="each key once"):
        index.update(["a", "a"], unit(2))
    assert len(index) == 1  # a refused update removes nothing
    with pytest.raises(VectorIndexError, match="k must be"):
        index.search(unit(1), 0)


def test_importing_retrieval_does_not_import_torch() -> None:
    code = "import sys, retrieval, encoders; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
