"""Text vectors shared on disk between server processes (retrieval/vector_cache.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encoders.base import EncoderManifest, TextEncoder, Vectors
from retrieval.qa_train import CachedEmbedder
from retrieval.vector_cache import DiskVectorCache


class CountingEncoder(TextEncoder):
    def __init__(self, name: str = "counting") -> None:
        self.name = name
        self.encoded: list[str] = []

    @property
    def manifest(self) -> EncoderManifest:
        return EncoderManifest(self.name, "1", 4, "text")

    def _encode_texts(self, texts: list[str]) -> Vectors:
        self.encoded += texts
        return np.asarray([[len(t), t.count("e"), 1.0, ord(t[0])] for t in texts], np.float32)


def test_a_second_process_reads_what_the_first_encoded_instead_of_encoding_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "evidence-vectors.sqlite"
    first, second = CountingEncoder(), CountingEncoder()
    texts = ["it is waterproof", "material: leather", "great for hiking"]
    one = CachedEmbedder(first, shared=DiskVectorCache(path, first.encoder_id, 4))
    two = CachedEmbedder(second, shared=DiskVectorCache(path, second.encoder_id, 4))
    vectors = one.embed(texts)
    again = two.embed([*texts, "new text"])
    assert first.encoded == texts and second.encoded == ["new text"]
    np.testing.assert_array_equal(again[:3], vectors)


def test_vectors_of_another_encoder_are_never_returned(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    DiskVectorCache(path, "minilm@1", 4).put_many({"a": np.ones(4, np.float32)})
    assert DiskVectorCache(path, "other@2", 4).get_many(["a"]) == {}
    assert list(DiskVectorCache(path, "minilm@1", 4).get_many(["a"])) == ["a"]


def test_an_unusable_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    encoder = CountingEncoder()
    embedder = CachedEmbedder(encoder, shared=DiskVectorCache(path, encoder.encoder_id, 4))
    assert embedder.embed(["still works"]).shape == (1, 4)
