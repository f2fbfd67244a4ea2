"""Build the configured encoders from :class:`~foundation.settings.Settings` (no I/O until load).

The image encoder directory is either ShopKG's own tower (``config.json`` says
``shopkg-image-tower``) or a transformers CLIP checkpoint; which one is read from its config.
With the ``image_encoder`` setting left at its default, a tower trained into the data directory
(``shopkg train image-encoder``) takes precedence over the one shipped with ShopKG
(:data:`BUNDLED_TOWER`, what that command made from the development data); ``none`` turns
photo understanding off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from encoders.base import ImageEncoder
from foundation.errors import EncoderError
from foundation.settings import Settings

BUNDLED_TOWER = Path(__file__).resolve().parent / "models" / "image-tower"
NO_IMAGE_ENCODER = "none"


def image_encoder_dir(settings: Settings) -> Path | None:
    """The image encoder the settings choose, or None when photos are not encoded: the
    ``image_encoder`` directory when it holds a model; with the setting at its default (the
    data directory's ``models/image-tower``) and no model there, the shipped tower."""
    if settings.image_encoder.strip().lower() == NO_IMAGE_ENCODER:
        return None
    directory = Path(settings.image_encoder)
    if (directory / "config.json").is_file():
        return directory
    default = settings.models_dir / "image-tower"
    if directory == default and (BUNDLED_TOWER / "config.json").is_file():
        return BUNDLED_TOWER
    return None


if TYPE_CHECKING:
    from encoders.sentence import SentenceTransformerTextEncoder


def text_encoder(settings: Settings, *, bulk: bool = False) -> SentenceTransformerTextEncoder:
    """The configured text encoder, loaded (bundled MiniLM by default), with every setting
    that concerns it. ``bulk`` (training and evaluation over whole data sets): batches of the
    settings' batch size, at most 256; else the encoder's own batch size."""
    from encoders.sentence import SentenceTransformerTextEncoder

    encoder = SentenceTransformerTextEncoder(
        settings.text_encoder, device=settings.device, cpu_bf16=settings.cpu_bf16
    )
    if bulk:
        encoder.batch_size = min(settings.batch_size, 256)
    return encoder.load()


def image_encoder_kind(directory: Path) -> str:
    """``"tower"`` or ``"clip"``: what kind of image model ``directory`` holds."""
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise EncoderError(
            f"no image encoder at {directory} (config.json missing); train ShopKG's tower with "
            "`shopkg train image-encoder` or set SHOPKG_IMAGE_ENCODER to a CLIP directory"
        )
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as e:
        raise EncoderError(f"{config_path} is not valid JSON: {e}") from e
    if config.get("architecture") == "shopkg-image-tower":
        return "tower"
    if config.get("model_type") == "clip" or "CLIPModel" in config.get("architectures", []):
        return "clip"
    raise EncoderError(
        f"{directory} holds neither a ShopKG image tower nor a CLIP checkpoint "
        f"(model_type={config.get('model_type')!r})"
    )


def image_encoder(settings: Settings, directory: str | Path | None = None) -> ImageEncoder:
    """The configured (or given) image encoder, loaded."""
    path = Path(directory or image_encoder_dir(settings) or settings.image_encoder)
    batch_size = min(settings.batch_size, 256)
    if image_encoder_kind(path) == "tower":
        from encoders.tower import TowerImageEncoder

        return TowerImageEncoder(
            path,
            device=settings.device,
            batch_size=batch_size,
            cpu_bf16=settings.cpu_bf16,
            onnx_runtime=settings.onnx_runtime,
        ).load()
    from encoders.clip import ClipCheckpoint, ClipImageEncoder

    return ClipImageEncoder(ClipCheckpoint(path, settings.device), batch_size=batch_size).load()
