"""ShopKG's own small image tower: a compact CNN that maps a photo into the text space.

It is trained against the frozen text encoder (see :mod:`encoders.training`), so its vectors
are comparable with MiniLM text vectors, and it is small enough to encode a catalog on a CPU.
Saved as ``model.safetensors`` + ``config.json``; :func:`save_tower` and :func:`load_tower`
are symmetric.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from encoders.base import Encoded, EncoderManifest, ImageEncoder, ImageSource, empty_encoded
from encoders.device import prepare_torch, resolve_device, torch_dtype
from encoders.images import load_batch, normalize_uint8
from foundation.errors import EncoderError

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
    """Stride-2 conv blocks → global average pool → linear projection (unnormalized)."""

    def __init__(self, config: TowerConfig) -> None:
        super().__init__()
        self.config = config
        widths = (3, *config.widths)
        self.features = nn.Sequential(*(_block(a, b) for a, b in itertools.pairwise(widths)))
        self.head = nn.Linear(widths[-1], config.embed_dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        features = self.features(pixels).mean(dim=(2, 3))
        return self.head(features)  # type: ignore[no-any-return]


def save_tower(tower: ImageTower, directory: Path, config: TowerConfig | None = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` into ``directory`` (created)."""
    from safetensors.torch import save_file

    config = config or tower.config
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tower.state_dict().items()
    }
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
        tower.load_state_dict(state)
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
    ) -> None:
        self.directory = Path(directory)
        self.device_setting = device
        self.batch_size = batch_size
        self._tower = tower
        self._device: str = "cpu"
        if tower is not None:
            self._tower = tower.eval()

    def load(self) -> TowerImageEncoder:
        if self._tower is None:
            prepare_torch()
            self._tower = load_tower(self.directory)
        device = resolve_device(self.device_setting)
        self._tower = self._tower.to(device=device, dtype=torch_dtype(device)).eval()
        self._device = device
        return self

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

    def encode(self, images: Sequence[ImageSource]) -> Encoded:
        tower = self.tower
        config = tower.config
        pixels, kept, skipped = load_batch(images, config.image_size)
        if not kept:
            return empty_encoded(self.dimension, skipped)
        vectors = encode_pixels(tower, pixels, self.batch_size, self._device)
        return Encoded(vectors, kept, skipped)


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
