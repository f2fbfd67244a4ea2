"""CLIP checkpoints and ShopKG's image tower behind the same ImageEncoder seam."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from encoders.clip import ClipCheckpoint, ClipImageEncoder, ClipTextEncoder
from encoders.factory import BUNDLED_TOWER, image_encoder, image_encoder_kind
from encoders.tower import (
    ImageTower,
    TowerConfig,
    TowerImageEncoder,
    load_tower,
    read_tower_config,
    save_tower,
)
from foundation.errors import EncoderError
from foundation.settings import load_settings

SMALL = TowerConfig(image_size=32, widths=(8, 16), embed_dim=12, version="test")


def test_clip_image_and_text_towers(
    good_and_bad: tuple[tuple[str, ...], tuple[str, ...]],
    tiny_clip_dir: Path,
    odd_images: dict[str, object],
) -> None:
    good_kinds, bad_kinds = good_and_bad
    checkpoint = ClipCheckpoint(tiny_clip_dir, device="cpu")
    images = ClipImageEncoder(checkpoint).load()
    texts = ClipTextEncoder(checkpoint).load()
    encoded = images.encode([odd_images[k] for k in (*good_kinds, *bad_kinds)])
    assert encoded.vectors.shape == (len(good_kinds), 16)
    assert len(encoded.skipped) == len(bad_kinds)
    assert np.allclose(np.linalg.norm(encoded.vectors, axis=1), 1.0, atol=1e-5)
    words = texts.encode(["a red dress", "green apple", ""])
    assert words.vectors.shape == (2, 16) and words.skipped[0].position == 2
    assert not np.allclose(words.vectors[0], words.vectors[1])
    assert images.manifest.modality == "image" and texts.manifest.modality == "text"
    assert images.encoder_id.startswith("clip:tiny-clip@")
    again = ClipImageEncoder(tiny_clip_dir).load().encode([odd_images["jpeg"]]).vectors
    assert np.allclose(again[0], encoded.vectors[0], atol=1e-6)


def test_clip_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="not a CLIP model directory"):
        ClipCheckpoint(tmp_path).load()
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "clip"}))
    with pytest.raises(EncoderError, match="cannot load a CLIPModel"):
        ClipCheckpoint(tmp_path).load()


def test_tower_save_load_is_symmetric(
    good_and_bad: tuple[tuple[str, ...], tuple[str, ...]],
    tmp_path: Path,
    odd_images: dict[str, object],
) -> None:
    good_kinds, bad_kinds = good_and_bad
    import torch

    torch.manual_seed(1)
    tower = ImageTower(SMALL).eval()
    save_tower(tower, tmp_path / "tower")
    assert read_tower_config(tmp_path / "tower") == SMALL
    loaded = load_tower(tmp_path / "tower")
    for key, value in tower.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    encoder = TowerImageEncoder(tmp_path / "tower", device="cpu").load()
    first = encoder.encode([odd_images[k] for k in (*bad_kinds, *good_kinds)])
    assert first.positions == list(range(len(bad_kinds), len(bad_kinds) + len(good_kinds)))
    assert first.vectors.shape == (len(good_kinds), 12)
    in_memory = TowerImageEncoder("unused", device="cpu", tower=tower).load()
    single = in_memory.encode([odd_images["jpeg"]]).vectors[0]
    assert np.allclose(single, first.vectors[0], atol=1e-6)  # batch size may change rounding
    assert encoder.encoder_id == "shopkg-image-tower@test/12"


def test_tower_with_only_bad_inputs_returns_empty(tmp_path: Path) -> None:
    encoder = TowerImageEncoder(tmp_path, device="cpu", tower=ImageTower(SMALL)).load()
    result = encoder.encode([tmp_path / "missing.jpg", b"junk"])
    assert result.vectors.shape == (0, 12) and len(result.skipped) == 2
    assert result.full(2).shape == (2, 12)
    with pytest.raises(EncoderError, match="could not be encoded"):
        result.require_all()


def test_tower_files_missing_or_corrupt(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="train image-encoder"):
        TowerImageEncoder(tmp_path / "none").load()
    save_tower(ImageTower(SMALL), tmp_path / "t")
    (tmp_path / "t" / "model.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(EncoderError, match="cannot load image tower weights"):
        load_tower(tmp_path / "t")


def test_factory_tells_tower_from_clip(tmp_path: Path, tiny_clip_dir: Path) -> None:
    save_tower(ImageTower(SMALL), tmp_path / "tower")
    settings = load_settings(data_dir=tmp_path, device="cpu")
    assert image_encoder_kind(tmp_path / "tower") == "tower"
    assert image_encoder_kind(tiny_clip_dir) == "clip"
    assert isinstance(image_encoder(settings, tmp_path / "tower"), TowerImageEncoder)
    assert isinstance(image_encoder(settings, tiny_clip_dir), ClipImageEncoder)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(EncoderError, match="neither"):
        image_encoder_kind(tmp_path / "other")
    # nothing trained into <data_dir>/models/image-tower: the shipped tower
    assert image_encoder(settings).manifest.version == load_tower(BUNDLED_TOWER).config.version
    missing = load_settings(data_dir=tmp_path, device="cpu", image_encoder=str(tmp_path / "no"))
    with pytest.raises(EncoderError, match=r"config\.json missing"):
        image_encoder(missing)  # a directory given on purpose is never replaced
