"""Image decoding and preprocessing with PIL and numpy (there is no CPU torchvision here).

Every catalog image goes through :func:`open_rgb`, which turns CMYK, palette, grey and
alpha images into plain RGB (alpha composited on white, as shops show them) and refuses
decompression bombs, so one hostile upload cannot eat the machine. :func:`to_array` then
resizes the short side and center-crops to a square of the model's input size.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, UnidentifiedImageError

ImageSource = str | Path | bytes | Any  # a path, raw bytes, or an already opened PIL image


@dataclass(frozen=True)
class Skipped:
    """One input that was not encoded: its position in the batch and why."""

    position: int
    reason: str


# 8k x 8k is more than any catalog photo needs; refusing larger ones before decoding keeps a
# hostile upload from eating memory, and stays below PIL's own decompression-bomb warning
MAX_IMAGE_PIXELS = 8_000 * 8_000
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ImageLoadError(ValueError):
    """An image could not be read; the message is the reason recorded in :class:`Skipped`."""


SERVED_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
                "WEBP": "image/webp", "BMP": "image/bmp"}  # fmt: skip


def web_image_type(path: Path) -> str | None:
    """The media type to serve the file at ``path`` as, when it is a raster image a browser
    shows (JPEG, PNG, GIF, WebP, BMP) within :data:`MAX_IMAGE_PIXELS`, judged from its
    header (never its name); None for anything else (SVG, HTML, a key file, a bomb)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=list(SERVED_TYPES)) as image:
                width, height = image.size
                media_type = SERVED_TYPES.get(str(image.format))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    except (OSError, SyntaxError, ValueError):
        return None
    if media_type is None or not 0 < width * height <= MAX_IMAGE_PIXELS:
        return None
    return media_type


def inspect_image(path: Path, max_pixels: int | None = None) -> tuple[int, int, str]:
    """Width, height and PIL format of the image file at ``path``, read from its header and
    checked for structural damage (``verify``) without decoding the pixels.

    Raises :class:`ImageLoadError` with the reason for anything that is not a readable
    image within ``max_pixels`` (default :data:`MAX_IMAGE_PIXELS`): a decompression bomb
    (a 20000x20000 PNG is 389 KB on disk), a non-image, a truncated or corrupt file.
    """
    limit = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > limit:
                    raise ImageLoadError(
                        f"image is {width}x{height} pixels, over the limit of {limit}"
                    )
                if width == 0 or height == 0:
                    raise ImageLoadError("image has no pixels")
                image_format = str(image.format or "")
                image.verify()
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError(f"image too large: {e}") from e
    except UnidentifiedImageError as e:
        raise ImageLoadError("not a readable image") from e
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"corrupt or truncated image: {e}") from e
    return int(width), int(height), image_format


def open_rgb(
    source: ImageSource, max_pixels: int | None = None, draft: int | None = None
) -> Image.Image:
    """Decode ``source`` (path, bytes or PIL image) into a fully loaded RGB image.

    ``max_pixels`` defaults to :data:`MAX_IMAGE_PIXELS`, read when called. ``draft``: a JPEG
    may be decoded at a reduced scale whose sides stay at least this long (fast; for
    thumbnails and colour statistics, not for the encoders' inputs).
    """
    limit = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        if isinstance(source, Image.Image):
            return _decode(source, limit)
        if isinstance(source, bytes | bytearray):
            with Image.open(io.BytesIO(source)) as image:
                return _decode(image, limit, draft)
        if isinstance(source, str | Path):
            path = Path(source)
            if not path.is_file():
                raise ImageLoadError(f"no such image file: {path}")
            with Image.open(path) as image:
                return _decode(image, limit, draft)
        raise ImageLoadError(f"not an image source: {type(source).__name__}")
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError(f"image too large: {e}") from e
    except UnidentifiedImageError as e:
        # PIL's message names the stream object (<_io.BytesIO object at 0x…>): say it plainly
        what = source if isinstance(source, str | Path) else "the data"
        raise ImageLoadError(f"not a readable image: cannot identify {what} as an image") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"corrupt or truncated image: {e}") from e


def _decode(image: Image.Image, max_pixels: int, draft: int | None = None) -> Image.Image:
    """Check the declared size first, then decode fully and return an independent RGB copy."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageLoadError(f"image is {width}x{height} pixels, over the limit of {max_pixels}")
    if width == 0 or height == 0:
        raise ImageLoadError("image has no pixels")
    if draft is not None and image.format == "JPEG":
        image.draft("RGB", (draft, draft))
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    rgb = _to_rgb(image)
    return rgb.copy() if rgb is image else rgb


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        span = max(float(array.max() - array.min()), 1.0)
        scaled = ((array - array.min()) / span * 255.0).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB")
    return image.convert("RGB")  # CMYK, L, 1, YCbCr, LAB, HSV, F


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Scale the short side to ``size`` and cut the central ``size`` x ``size`` square."""
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    resized = image.resize((new_w, new_h), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return resized.crop((left, top, left + size, top + size))


def to_uint8(image: Image.Image, size: int) -> npt.NDArray[np.uint8]:
    """An RGB image as an ``(size, size, 3)`` uint8 array, resized and center-cropped."""
    return np.asarray(resize_center_crop(image, size), dtype=np.uint8)


def normalize_uint8(
    pixels: npt.NDArray[np.uint8],
    mean: Sequence[float] = CLIP_MEAN,
    std: Sequence[float] = CLIP_STD,
) -> npt.NDArray[np.float32]:
    """``(..., H, W, 3)`` uint8 → ``(..., 3, H, W)`` float32, scaled to [0, 1] and standardized."""
    scale = np.float32(1.0 / 255.0)
    shift = np.asarray(mean, dtype=np.float32)
    spread = np.asarray(std, dtype=np.float32)
    standardized = np.subtract(pixels.astype(np.float32) * scale, shift) / spread
    return np.ascontiguousarray(np.moveaxis(standardized, -1, -3), dtype=np.float32)


def load_batch(
    sources: Sequence[ImageSource], size: int
) -> tuple[npt.NDArray[np.uint8], list[int], list[Skipped]]:
    """Decode a batch: uint8 arrays of the readable images, their positions, and the skipped."""
    arrays: list[npt.NDArray[np.uint8]] = []
    kept: list[int] = []
    skipped: list[Skipped] = []
    for position, source in enumerate(sources):
        try:
            arrays.append(to_uint8(open_rgb(source), size))
            kept.append(position)
        except ImageLoadError as e:
            skipped.append(Skipped(position, str(e)))
    stacked = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), dtype=np.uint8)
    return stacked, kept, skipped


COLOUR_BINS = 6  # per RGB channel: a 216-bin joint histogram


def colour_histograms(
    pixels: npt.NDArray[np.uint8], bins: int = COLOUR_BINS
) -> npt.NDArray[np.float32]:
    """``(N, H, W, 3)`` uint8 images → ``(N, bins³)`` joint RGB histograms, square-rooted and
    scaled to unit length, so the cosine of two is the Hellinger affinity of their colours."""
    codes = (pixels.reshape(len(pixels), -1, 3).astype(np.int64) * bins) // 256
    flat = (codes[..., 0] * bins + codes[..., 1]) * bins + codes[..., 2]
    counts = np.zeros((len(pixels), bins**3), dtype=np.float64)
    for row, cells in zip(counts, flat, strict=True):
        row += np.bincount(cells, minlength=bins**3)
    root = np.sqrt(counts)
    norms = np.maximum(np.linalg.norm(root, axis=1, keepdims=True), 1e-12)
    result: npt.NDArray[np.float32] = (root / norms).astype(np.float32)
    return result


def colour_histogram(source: ImageSource, side: int = 48) -> npt.NDArray[np.float32]:
    """The colours of the middle of a photo (where the product is): :func:`colour_histograms`
    of the central 70% of its ``side`` x ``side`` center crop. Raises
    :class:`ImageLoadError` for an unusable image."""
    pixels = to_uint8(open_rgb(source, draft=side), side)
    margin = round(side * 0.15)
    middle = pixels[None, margin : side - margin, margin : side - margin]
    histogram: npt.NDArray[np.float32] = colour_histograms(middle)[0]
    return histogram
