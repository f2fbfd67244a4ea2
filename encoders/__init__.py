"""Text and image encoders behind one small seam (see :mod:`encoders.base`).

Importing this package does not import torch; the implementations
(:mod:`encoders.sentence`, :mod:`encoders.clip`, :mod:`encoders.tower`) do, when used.
"""

from encoders.base import (
    Encoded,
    EncoderManifest,
    ImageEncoder,
    Skipped,
    TextEncoder,
    l2_normalize,
)

__all__ = [
    "Encoded",
    "EncoderManifest",
    "ImageEncoder",
    "Skipped",
    "TextEncoder",
    "l2_normalize",
]
