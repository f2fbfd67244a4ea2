"""On a CPU the image tower runs on ONNX Runtime, with the vectors torch gives in float32."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from encoders.factory import BUNDLED_TOWER
from encoders.onnx_runtime import onnx_runtime_available
from encoders.tower import TowerImageEncoder


def _photos(count: int) -> list[bytes]:
    rng = np.random.default_rng(3)
    photos = []
    for i in range(count):
        # smooth colour fields with a few edges, not noise: what the network sees in a photo
        ramp = np.linspace(0, 255, 200, dtype=np.float32)
        pixels = np.stack([ramp[None, :] * (i % 3 == c) + rng.uniform(0, 80) for c in range(3)])
        array = np.broadcast_to(pixels.transpose(1, 2, 0), (200, 200, 3)).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="JPEG")
        photos.append(buffer.getvalue())
    return photos


@pytest.mark.skipif(not onnx_runtime_available(), reason="onnxruntime is not installed")
def test_the_shipped_tower_on_onnx_runtime_gives_torch_float32_vectors() -> None:
    on_ort = TowerImageEncoder(BUNDLED_TOWER, device="cpu", batch_size=4).load()
    on_torch = TowerImageEncoder(
        BUNDLED_TOWER, device="cpu", cpu_bf16=False, onnx_runtime=False
    ).load()
    assert (on_ort.runtime, on_torch.runtime) == ("onnxruntime", "torch")
    photos = [*_photos(6), b"not a photo"]
    mine, theirs = on_ort.encode(photos), on_torch.encode(photos)
    assert mine.positions == theirs.positions == list(range(6))  # both skip the unreadable one
    assert [s.reason for s in mine.skipped] == [s.reason for s in theirs.skipped]
    cosines = (mine.vectors * theirs.vectors).sum(axis=1)
    assert cosines.min() > 0.9999
    assert np.allclose(np.linalg.norm(mine.vectors, axis=1), 1.0, atol=1e-5)
    # batches of 4 and one batch of 6 agree: no state is carried between calls
    again = on_ort.encode(photos[:6])
    assert np.allclose(again.vectors, mine.vectors, atol=1e-5)
