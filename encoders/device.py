"""Device choice and determinism for the torch-based encoders.

``auto`` picks CUDA when torch sees a device and CPU otherwise; CUDA runs in fp16, CPU in
fp32, except that batches may run under bf16 autocast on a CPU with native bf16 matrix units
(:func:`cpu_has_native_bf16`; each encoder checks its own vectors before using it). Threads are
capped because the encoders share small machines with other jobs.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Literal

import numpy as np

from foundation.errors import EncoderError, require

if TYPE_CHECKING:
    import torch

DeviceName = Literal["cpu", "cuda"]
MAX_CPU_THREADS = 2
_IMPORTS = threading.Lock()


def import_transformers() -> None:
    """Import the transformers model classes ShopKG uses, once and under a lock.

    transformers resolves its names lazily, and two threads resolving at once can fail with
    ``cannot import name 'AutoModel'`` (the build's extraction loads the MiniLM tagger while
    its prefetch thread loads the sentence encoder).
    """
    require("transformers")
    with _IMPORTS:
        import sentence_transformers  # noqa: F401
        from transformers import AutoModel, AutoTokenizer  # noqa: F401


def resolve_device(setting: str = "auto") -> DeviceName:
    """``auto``/``cpu``/``cuda`` → the device to use; ``cuda`` without a GPU is an error."""
    import torch

    if setting == "cpu":
        return "cpu"
    if setting == "cuda":
        if not torch.cuda.is_available():
            raise EncoderError(
                "device 'cuda' was asked for but torch sees no CUDA device; "
                "set SHOPKG_DEVICE=cpu or auto"
            )
        return "cuda"
    if setting != "auto":
        raise EncoderError(f"unknown device {setting!r}; use auto, cpu or cuda")
    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_dtype(device: DeviceName) -> torch.dtype:
    import torch

    return torch.float16 if device == "cuda" else torch.float32


def cpu_has_native_bf16() -> bool:
    """True on a CPU whose bf16 matrix products run natively (Intel AMX or AVX512-BF16) and
    whose torch uses oneDNN for them. Elsewhere bf16 is emulated, slower than fp32."""
    import torch

    cpu = getattr(torch, "cpu", None)
    native = any(
        bool(getattr(cpu, probe, lambda: False)())
        for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    )
    try:
        return native and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        return False


def prepare_torch(seed: int = 0) -> None:
    """Seed every generator and cap CPU threads, so runs are repeatable and polite."""
    require("torch")
    import torch as _torch

    if _torch.get_num_threads() > MAX_CPU_THREADS:
        _torch.set_num_threads(MAX_CPU_THREADS)
    random.seed(seed)
    np.random.seed(seed)
    _torch.manual_seed(seed)
