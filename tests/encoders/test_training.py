"""LiT + prototype training of the image tower on a tiny generated data set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from encoders.datasets import read_dataset
from encoders.sentence import SentenceTransformerTextEncoder
from encoders.tower import TowerImageEncoder, read_tower_config
from encoders.training import TrainingConfig, build_pairs, train_image_tower
from foundation.errors import EncoderError

TINY = TrainingConfig(epochs=4, batch_size=8, learning_rate=5e-3, image_size=32, widths=(8, 16))


def test_reads_the_clothing_layout(colour_clothing_dir: Path) -> None:
    data = read_dataset(colour_clothing_dir, "clothing")
    assert data.concepts == ["blue", "green", "red"]
    assert data.texts[2] == "a photo of red"
    assert len(data.train) == 25 and len(data.evaluation) == 12
    assert data.evaluation_split == "validation"


def test_training_lowers_the_loss_and_saves_a_loadable_tower(
    colour_clothing_dir: Path, tiny_st_dir: Path, tmp_path: Path
) -> None:
    data = read_dataset(colour_clothing_dir, "clothing")
    pairs = build_pairs([data], TINY.image_size)
    assert len(pairs.concepts) == 24 and len(pairs.skipped) == 1
    assert "broken.jpg" in pairs.skipped[0][0]
    text_encoder = SentenceTransformerTextEncoder(tiny_st_dir, device="cpu").load()
    result = train_image_tower(pairs, text_encoder, tmp_path / "tower", TINY)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0]
    curve = json.loads((tmp_path / "tower" / "training_log.json").read_text())
    assert curve == result.history
    assert (tmp_path / "tower" / "training_log.csv").read_text().startswith("epoch,loss")
    config = read_tower_config(tmp_path / "tower")
    assert config.text_encoder_id == text_encoder.encoder_id
    assert config.version.startswith("lit-") and config.embed_dim == 32
    encoder = TowerImageEncoder(tmp_path / "tower", device="cpu").load()
    vectors = encoder.encode(data.evaluation.paths).vectors
    assert vectors.shape == (12, 32)
    # same seed, same data: the same curve and weights
    again = train_image_tower(pairs, text_encoder, tmp_path / "again", TINY)

    def without_time(history: list[dict[str, float]]) -> list[dict[str, float]]:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert without_time(again.history) == without_time(result.history)
    assert read_tower_config(tmp_path / "again").version == config.version
    other = TowerImageEncoder(tmp_path / "again", device="cpu").load()
    assert np.allclose(other.encode(data.evaluation.paths[:3]).vectors, vectors[:3], atol=1e-6)


def test_training_needs_readable_images(
    tmp_path: Path, tiny_st_dir: Path, colour_clothing_dir: Path
) -> None:
    data = read_dataset(colour_clothing_dir, "clothing")
    data.train.paths = [tmp_path / "missing.jpg"] * 3
    pairs = build_pairs([data], TINY.image_size)
    text_encoder = SentenceTransformerTextEncoder(tiny_st_dir, device="cpu").load()
    with pytest.raises(EncoderError, match="at least 2 readable"):
        train_image_tower(pairs, text_encoder, tmp_path / "t", TINY)
