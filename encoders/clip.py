"""CLIP dual encoders from a local transformers ``CLIPModel`` directory.

:class:`ClipCheckpoint` loads the directory once; :class:`ClipImageEncoder` and
:class:`ClipTextEncoder` are its two towers behind the common encoder seam. Images are
prepared with PIL + numpy using the checkpoint's own size, mean and std, so no torchvision
is needed. Used as a stronger image encoder where a CLIP checkpoint is available and as the
teacher for distillation into ShopKG's small tower.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from encoders.base import (
    EncoderManifest,
    ImageEncoder,
    TextEncoder,
    Vectors,
)
from encoders.device import prepare_torch, resolve_device, torch_dtype
from encoders.images import CLIP_MEAN, CLIP_STD, normalize_uint8
from encoders.sentence import _directory_version, set_offline_env
from foundation.errors import EncoderError, require


class ClipCheckpoint:
    """A local CLIP checkpoint; :meth:`load` reads model, tokenizer and preprocessing."""

    def __init__(self, directory: str | Path, device: str = "auto") -> None:
        self.directory = Path(directory)
        self.device_setting = device
        self.model: Any = None
        self.tokenizer: Any = None
        self.device = "cpu"
        self.image_size = 224
        self.mean: tuple[float, ...] = CLIP_MEAN
        self.std: tuple[float, ...] = CLIP_STD
        self.version = "unknown"

    def load(self) -> ClipCheckpoint:
        if self.model is not None:
            return self
        if not (self.directory / "config.json").is_file():
            raise EncoderError(
                f"{self.directory} is not a CLIP model directory (no config.json); "
                "give a directory saved with CLIPModel.save_pretrained"
            )
        require("transformers")
        from transformers import AutoTokenizer, CLIPModel

        prepare_torch()
        set_offline_env()
        self.device = resolve_device(self.device_setting)
        try:
            model: Any = CLIPModel.from_pretrained(str(self.directory), local_files_only=True)
        except Exception as e:  # transformers raises OSError, ValueError, KeyError, ...
            raise EncoderError(f"cannot load a CLIPModel from {self.directory}: {e}") from e
        self.model = model.to(device=self.device, dtype=torch_dtype(self.device)).eval()
        self.image_size = int(model.config.vision_config.image_size)
        self._read_preprocessing()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                str(self.directory), local_files_only=True
            )
        except Exception:  # a vision-only checkpoint is still usable as an image encoder
            self.tokenizer = None
        self.version = _directory_version(self.directory)
        return self

    def _read_preprocessing(self) -> None:
        path = self.directory / "preprocessor_config.json"
        if not path.is_file():
            return
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise EncoderError(f"{path} is not valid JSON: {e}") from e
        self.mean = tuple(config.get("image_mean", CLIP_MEAN))
        self.std = tuple(config.get("image_std", CLIP_STD))

    @property
    def dimension(self) -> int:
        return int(self.model.config.projection_dim)

    def manifest(self, modality: str) -> EncoderManifest:
        if self.model is None:
            raise EncoderError("the CLIP checkpoint is not loaded yet; call load() first")
        return EncoderManifest(
            f"clip:{self.directory.resolve().name}", self.version, self.dimension, modality
        )

    def image_features(self, pixels: np.ndarray[Any, np.dtype[np.uint8]]) -> Any:
        """Unnormalized projected image features (a torch tensor) for uint8 HWC images."""
        import torch

        batch = torch.from_numpy(normalize_uint8(pixels, self.mean, self.std))
        batch = batch.to(device=self.device, dtype=next(self.model.parameters()).dtype)
        pooled = self.model.vision_model(pixel_values=batch).pooler_output
        return self.model.visual_projection(pooled)

    def text_features(self, texts: list[str]) -> Any:
        if self.tokenizer is None:
            raise EncoderError(f"CLIP checkpoint {self.directory} has no tokenizer files")
        tokens = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            return_tensors="pt",
            max_length=int(self.model.config.text_config.max_position_embeddings),
        ).to(self.device)
        pooled = self.model.text_model(
            input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
        ).pooler_output
        return self.model.text_projection(pooled)


class ClipImageEncoder(ImageEncoder):
    """The image tower of a local CLIP checkpoint."""

    def __init__(self, checkpoint: ClipCheckpoint | str | Path, batch_size: int = 64) -> None:
        self.checkpoint = (
            checkpoint if isinstance(checkpoint, ClipCheckpoint) else ClipCheckpoint(checkpoint)
        )
        self.batch_size = batch_size

    def load(self) -> ClipImageEncoder:
        self.checkpoint.load()
        return self

    @property
    def manifest(self) -> EncoderManifest:
        return self.checkpoint.manifest("image")

    @property
    def input_size(self) -> int:
        return self.checkpoint.image_size

    def _encode_pixels(self, pixels: npt.NDArray[np.uint8]) -> Vectors:
        import torch

        outputs = []
        with torch.inference_mode():
            for start in range(0, len(pixels), self.batch_size):
                features = self.checkpoint.image_features(pixels[start : start + self.batch_size])
                outputs.append(torch.nn.functional.normalize(features.float(), dim=-1).cpu())
        return torch.cat(outputs).numpy().astype(np.float32)


class ClipTextEncoder(TextEncoder):
    """The text tower of a local CLIP checkpoint."""

    def __init__(self, checkpoint: ClipCheckpoint | str | Path, batch_size: int = 64) -> None:
        self.checkpoint = (
            checkpoint if isinstance(checkpoint, ClipCheckpoint) else ClipCheckpoint(checkpoint)
        )
        self.batch_size = batch_size

    def load(self) -> ClipTextEncoder:
        self.checkpoint.load()
        return self

    @property
    def manifest(self) -> EncoderManifest:
        return self.checkpoint.manifest("text")

    def _encode_texts(self, texts: list[str]) -> Vectors:
        import torch

        outputs = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                features = self.checkpoint.text_features(texts[start : start + self.batch_size])
                outputs.append(features.float().cpu())
        return torch.cat(outputs).numpy().astype(np.float32)
