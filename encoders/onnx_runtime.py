"""Models on ONNX Runtime: the same network and weights, run by ORT's CPU kernels.

torch's CPU kernels are slow for EfficientNet's depthwise convolutions. On this 2-core CPU the
shipped Lite0 image tower (192 px, batch norms folded, batches of 32) encodes:

- 38 images/s in torch float32;
- 135 in torch bf16 (cosine 0.9995 to float32);
- 244 on ONNX Runtime in float32 (cosine 1.0000 to torch float32).

So on a CPU, when ``onnxruntime`` is installed, a loaded tower is exported to ONNX in memory
(about 1 s, nothing written to disk) and ORT runs it; torch keeps the GPU. The outputs are
float32 and deterministic for a given thread count, as a build's checksums need.

Transformers stay on torch: there bf16 on a CPU with native bf16 wins. The MiniLM tagger
(400 demo texts, windows of up to 128 pieces) tags 68-72 texts/s in torch bf16, 39-44 on ORT
float32, and 77 on ORT with int8 weights, whose tags differ from float32's on 0.44% of pieces.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from foundation.errors import EncoderError

OPSET = 17


def onnx_runtime_available() -> bool:
    """Whether ONNX Runtime and the exporter's ``onnx`` package are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxModel:
    """A float32 CPU torch module as an ONNX Runtime session: named numpy inputs → its first
    output. ``dynamic`` names each input's axes that vary between calls (batch, length)."""

    def __init__(
        self,
        module: torch.nn.Module,
        example: Sequence[torch.Tensor],
        inputs: Sequence[str],
        dynamic: dict[str, dict[int, str]],
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        weights = next(module.parameters())
        if weights.dtype != torch.float32 or weights.device.type != "cpu":
            raise EncoderError("ONNX Runtime runs a float32 model on the CPU")
        graph: Any = io.BytesIO()  # the exporter writes to a file-like object too
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
            torch.onnx.export(
                module.eval(),
                tuple(example),
                graph,
                input_names=list(inputs),
                output_names=["output"],
                dynamic_axes={**dynamic, "output": {0: "rows"}},
                opset_version=OPSET,
                dynamo=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.inputs = tuple(inputs)
        self._session = ort.InferenceSession(
            graph.getvalue(), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, *arrays: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        feed = {name: np.ascontiguousarray(a) for name, a in zip(self.inputs, arrays, strict=True)}
        found: list[np.ndarray[Any, Any]] = self._session.run(None, feed)
        return found[0]


def onnx_tower(
    tower: torch.nn.Module, size: int, mean: Sequence[float], std: Sequence[float]
) -> OnnxModel:
    """A float32 image tower (:class:`~encoders.tower.ImageTower`) on ONNX Runtime: ``(N,
    size, size, 3)`` uint8 pixels → its vectors, unnormalized. Scaling by ``mean`` and
    ``std`` and the move to channels-first run in the graph: a third of the time numpy took
    for them (:func:`encoders.images.normalize_uint8` computes the same)."""
    return OnnxModel(
        _FromPixels(tower, mean, std),
        [torch.zeros(1, size, size, 3, dtype=torch.uint8)],
        ["pixels"],
        {"pixels": {0: "images"}},
    )


class _FromPixels(torch.nn.Module):
    """uint8 ``(N, H, W, 3)`` → the tower's input, as ``normalize_uint8`` makes it → vectors."""

    def __init__(self, tower: torch.nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.tower = tower
        self.shift = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.spread = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        scaled = pixels.permute(0, 3, 1, 2).float() * (1.0 / 255.0)
        out: torch.Tensor = self.tower((scaled - self.shift) / self.spread)
        return out
