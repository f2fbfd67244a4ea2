"""The batching encoder: concurrent callers share forward passes and get their own rows."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from encoders.base import EncoderManifest, TextEncoder, Vectors
from encoders.batching import BatchingTextEncoder
from foundation.errors import EncoderError


class SlowHashEncoder(TextEncoder):
    """A deterministic encoder whose every call takes a while (as a transformer's would)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    @property
    def manifest(self) -> EncoderManifest:
        return EncoderManifest("slow-hash", "1", 8, "text")

    def _encode_texts(self, texts: list[str]) -> Vectors:
        if any(text == "boom" for text in texts):
            raise ValueError("cannot encode boom")
        self.calls.append(len(texts))
        time.sleep(0.02)
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(8) for t in texts]
        return np.asarray(rows, dtype=np.float32)


def test_concurrent_callers_share_batches_and_get_their_own_vectors() -> None:
    inner = SlowHashEncoder()
    batching = BatchingTextEncoder(inner)
    texts = [[f"query {i}", f"evidence {i}"] for i in range(24)]
    got: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        got[i] = batching.encode(texts[i]).require_all()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batching.close()
    alone = SlowHashEncoder()
    for i, pair in enumerate(texts):
        np.testing.assert_allclose(got[i], alone.encode(pair).require_all(), rtol=1e-6)
    assert sum(inner.calls) == 48
    assert len(inner.calls) < len(texts)  # callers waiting during a batch went together
    assert batching.encoder_id == inner.encoder_id and batching.dimension == 8


def test_an_encoding_error_reaches_its_caller_and_the_encoder_goes_on() -> None:
    batching = BatchingTextEncoder(SlowHashEncoder())
    with pytest.raises(EncoderError, match="cannot encode boom"):
        batching.encode(["boom"])
    assert batching.encode(["fine"]).count == 1
    assert not batching.busy
    batching.close()
    with pytest.raises(EncoderError, match="closed"):
        batching.encode(["after close"])
