"""The image tower on ONNX Runtime: the same network and weights, run by ORT's CPU kernels.

torch's CPU kernels are slow for EfficientNet's depthwise convolutions. On this 2-core CPU the
shipped Lite0 tower (192 px, batch norms folded, batches of 32) encodes:

- 38 images/s in torch float32;
- 135 in torch bf16 (cosine 0.9995 to float32);
- 244 on ONNX Runtime in float32 (cosine 1.0000 to torch float32).

So on a CPU, when ``onnxruntime`` is installed, a loaded tower is exported to ONNX in memory
(about 1 s, nothing written to disk) and ORT encodes with it; torch keeps the GPU. The vectors
are float32 and deterministic for a given thread count, as a build's checksums need.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from foundation.errors import EncoderError

if TYPE_CHECKING:
    from encoders.tower import ImageTower

OPSET = 17


def onnx_runtime_available() -> bool:
    """Whether ONNX Runtime and the exporter's ``onnx`` package are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxTower:
    """A float32 image tower as an ONNX Runtime session: ``(N, 3, H, W)`` pixels → vectors
    (unnormalized, as :class:`~encoders.tower.ImageTower` gives them)."""

    def __init__(self, tower: ImageTower, threads: int | None = None) -> None:
        import onnxruntime as ort

        size = tower.config.image_size
        weights = next(tower.parameters())
        if weights.dtype != torch.float32 or weights.device.type != "cpu":
            raise EncoderError("ONNX Runtime runs a float32 tower on the CPU")
        graph: Any = io.BytesIO()  # the exporter writes to a file-like object too
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
            torch.onnx.export(
                tower.eval(),
                (torch.zeros(1, 3, size, size),),
                graph,
                input_names=["pixels"],
                output_names=["vectors"],
                dynamic_axes={"pixels": {0: "images"}, "vectors": {0: "images"}},
                opset_version=OPSET,
                dynamo=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self._session = ort.InferenceSession(
            graph.getvalue(), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, pixels: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, Any]:
        found: list[np.ndarray[Any, Any]] = self._session.run(
            None, {"pixels": np.ascontiguousarray(pixels, dtype=np.float32)}
        )
        return found[0]
