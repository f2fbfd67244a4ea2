"""The pretrained EfficientNet-Lite backbone under ShopKG's image tower, its projection's
training, and which tower a build uses by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from encoders.backbone import BACKBONES, MEAN, STD, BackboneSpec, load_backbone
from encoders.base import EncoderManifest, TextEncoder, Vectors
from encoders.factory import BUNDLED_TOWER, image_encoder_dir
from encoders.images import load_batch, normalize_uint8
from encoders.tower import ImageTower, TowerConfig, load_tower, save_tower
from encoders.training import FeaturePairs, HeadConfig, train_backbone_tower
from foundation.errors import EncoderError
from foundation.settings import load_settings
from tests.builds import tiny_tower

BANANA = "grocery/photos/train/Fruit/Banana/Banana_001.jpg"
IMAGENET_BANANA = 954


class WordHashEncoder(TextEncoder):
    """Deterministic text vectors: a seeded random vector per text."""

    @property
    def manifest(self) -> EncoderManifest:
        return EncoderManifest("word-hash", "1", 16, "text")

    def _encode_texts(self, texts: list[str]) -> Vectors:
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(16) for t in texts]
        return np.asarray(rows, dtype=np.float32)


def test_the_pretrained_backbone_sees_a_banana_as_imagenet_does(shared_data: Path) -> None:
    backbone = load_backbone("efficientnet-lite0")
    pixels, kept, _ = load_batch([shared_data / BANANA], backbone.spec.image_size)
    assert kept == [0]
    with torch.inference_mode():
        logits = backbone.classify(torch.from_numpy(normalize_uint8(pixels, MEAN, STD)))
    assert int(logits.argmax()) == IMAGENET_BANANA


def test_backbone_weights_that_are_not_the_published_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import encoders.backbone as module

    fake = tmp_path / "efficientnet-lite0-57934424.pth"
    fake.write_bytes(b"not the published weights")
    monkeypatch.setattr(module, "weights_path", lambda spec: fake)
    with pytest.raises(EncoderError, match="SHA-256"):
        load_backbone("efficientnet-lite0")


def test_an_unknown_backbone_is_a_clear_error() -> None:
    with pytest.raises(EncoderError, match="efficientnet-lite0, efficientnet-lite2"):
        load_backbone("resnet-50")


def test_every_known_backbone_names_its_package_checksum_and_input_size() -> None:
    for spec in BACKBONES.values():
        assert isinstance(spec, BackboneSpec)
        assert len(spec.sha256) == 64 and spec.weights.endswith(".pth")
        assert spec.image_size in (224, 260) and spec.features == 1280


def test_a_backbone_tower_saves_only_its_projection_and_loads_back_the_same(
    tmp_path: Path,
) -> None:
    torch.manual_seed(0)
    config = TowerConfig(image_size=64, widths=(), embed_dim=16, backbone="efficientnet-lite0")
    tower = ImageTower(config).eval()
    save_tower(tower, tmp_path)
    from safetensors.torch import load_file

    assert set(load_file(str(tmp_path / "model.safetensors"))) == {"head.weight", "head.bias"}
    assert (tmp_path / "model.safetensors").stat().st_size < 200_000
    pixels = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(load_tower(tmp_path)(pixels), tower(pixels), atol=1e-6)


def _pairs(n: int = 48, concepts: int = 4) -> FeaturePairs:
    rng = np.random.default_rng(3)
    labels = np.arange(n) % concepts
    centres = rng.standard_normal((concepts, 1280)).astype(np.float32)
    features = centres[labels][:, None, :] + 0.3 * rng.standard_normal((n, 2, 1280))
    names = [f"shop:c{i}" for i in range(concepts)]
    texts = [f"a photo of thing number {i}" for i in range(concepts)]
    return FeaturePairs(features.astype(np.float32), labels, names, texts)


def test_the_projection_learns_to_place_photos_near_their_texts_deterministically(
    tmp_path: Path,
) -> None:
    pairs = _pairs()
    backbone = load_backbone("efficientnet-lite0", pretrained=False)
    config = HeadConfig(epochs=40, batch_size=16, dropout=0.0)
    first = train_backbone_tower(pairs, WordHashEncoder(), tmp_path / "a", config, backbone)
    again = train_backbone_tower(pairs, WordHashEncoder(), tmp_path / "b", config, backbone)
    assert [r["loss"] for r in again.history] == [r["loss"] for r in first.history]
    assert first.history[-1]["accuracy"] > 0.9
    a, b = load_tower(tmp_path / "a"), load_tower(tmp_path / "b")
    assert a.config.version == b.config.version  # same seed, same weights
    assert a.config.backbone == "efficientnet-lite0" and a.config.image_size == 192
    assert a.config.text_encoder_id == WordHashEncoder().encoder_id


def test_the_shipped_tower_is_the_default_and_one_trained_into_the_data_dir_wins(
    tmp_path: Path,
) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert image_encoder_dir(settings) == BUNDLED_TOWER
    assert load_tower(BUNDLED_TOWER).config.backbone == "efficientnet-lite0"
    tiny_tower(settings.models_dir / "image-tower")
    assert image_encoder_dir(settings) == settings.models_dir / "image-tower"
    assert image_encoder_dir(load_settings(data_dir=tmp_path, image_encoder="none")) is None
    elsewhere = load_settings(data_dir=tmp_path, image_encoder=str(tmp_path / "nothing"))
    assert image_encoder_dir(elsewhere) is None  # a path given on purpose is not replaced


def test_a_fine_tuned_tower_keeps_its_tuned_blocks_in_fp16_and_loads_back_the_same(
    tmp_path: Path,
) -> None:
    torch.manual_seed(0)
    config = TowerConfig(
        image_size=64, widths=(), embed_dim=16, backbone="efficientnet-lite0", tuned_blocks=2
    )
    tower = ImageTower(config).eval()
    save_tower(tower, tmp_path)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "model.safetensors"))
    blocks = {k.split(".")[3] for k in stored if k.startswith("features.network._blocks.")}
    assert blocks == {"14", "15"}
    assert any(k.startswith("features.network._conv_head.") for k in stored)
    assert stored["features.network._blocks.15._project_conv.weight"].dtype == torch.float16
    assert stored["head.weight"].dtype == torch.float32
    pixels = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(load_tower(tmp_path)(pixels), tower(pixels), atol=2e-2)


def test_fine_tuning_the_last_blocks_trains_them_and_the_projection_deterministically(
    tmp_path: Path,
) -> None:
    from encoders.training import finetune_backbone_tower

    rng = np.random.default_rng(5)
    n, concepts = 32, 4
    labels = np.arange(n) % concepts
    centres = rng.standard_normal((concepts, 192, 7, 7))
    inputs = centres[labels][:, None] + 0.5 * rng.standard_normal((n, 2, 192, 7, 7))
    pairs = FeaturePairs(
        inputs.astype(np.float16),
        labels,
        [f"shop:c{i}" for i in range(concepts)],
        [f"a photo of thing number {i}" for i in range(concepts)],
    )
    config = HeadConfig(epochs=10, batch_size=8, dropout=0.0)
    results = []
    for name in ("a", "b"):
        backbone = load_backbone("efficientnet-lite0")
        network: Any = backbone.network
        before = network._blocks[15]._project_conv.weight.detach().clone()
        results.append(
            finetune_backbone_tower(pairs, WordHashEncoder(), tmp_path / name, backbone, 1, config)
        )
        assert not torch.equal(before, network._blocks[15]._project_conv.weight)
    curve = results[0].history
    assert curve[-1]["loss"] < 0.5 * curve[0]["loss"] and curve[-1]["accuracy"] > 0.25  # chance
    assert [r["loss"] for r in results[0].history] == [r["loss"] for r in results[1].history]
    a, b = load_tower(tmp_path / "a"), load_tower(tmp_path / "b")
    assert a.config.version == b.config.version and a.config.tuned_blocks == 1
