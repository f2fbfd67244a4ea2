"""ConaCLIP-style distillation from a tiny random CLIP teacher into the small tower."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from encoders.clip import ClipCheckpoint, ClipImageEncoder, ClipTextEncoder
from encoders.distillation import DistillationConfig, distill_image_tower, distillation_losses
from encoders.tower import ImageTower, TowerImageEncoder, read_tower_config
from foundation.errors import EncoderError

TINY = DistillationConfig(
    epochs=20, batch_size=8, learning_rate=5e-3, image_size=32, widths=(8, 16)
)


def test_losses_vanish_when_student_equals_teacher() -> None:
    teacher = torch.nn.functional.normalize(
        torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    same = distillation_losses(teacher, teacher, 0.05)
    assert float(same["feature"]) == pytest.approx(0.0, abs=1e-6)
    assert float(same["relational"]) == pytest.approx(0.0, abs=1e-5)
    shuffled = distillation_losses(teacher.flip(0), teacher, 0.05)
    assert float(shuffled["contrastive"]) > float(same["contrastive"])
    assert float(shuffled["feature"]) > 0.1


def test_distilled_tower_moves_toward_the_teacher(
    tiny_clip_dir: Path, colour_clothing_dir: Path, tmp_path: Path
) -> None:
    images = sorted((colour_clothing_dir / "train").rglob("*.*"))
    result = distill_image_tower(tiny_clip_dir, images, tmp_path / "student", TINY, device="cpu")
    assert result.images == 24 and result.skipped == 1
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < losses[0]
    config = read_tower_config(tmp_path / "student")
    checkpoint = ClipCheckpoint(tiny_clip_dir, "cpu")
    assert config.embed_dim == 16
    assert config.text_encoder_id == ClipTextEncoder(checkpoint).load().encoder_id
    student = TowerImageEncoder(tmp_path / "student", device="cpu").load()
    probe = [p for p in images if p.suffix == ".png"][:12]
    teacher_vectors = ClipImageEncoder(checkpoint).load().encode(probe).vectors
    student_vectors = student.encode(probe).vectors
    untrained = TowerImageEncoder("-", device="cpu", tower=ImageTower(config)).load()
    untrained_vectors = untrained.encode(probe).vectors
    agreement = float((teacher_vectors * student_vectors).sum(axis=1).mean())
    baseline = float((teacher_vectors * untrained_vectors).sum(axis=1).mean())
    assert agreement > max(0.5, baseline + 0.3), (agreement, baseline)
    # relational knowledge: which probe images are alike should agree with the teacher
    teacher_sim = (teacher_vectors @ teacher_vectors.T)[np.triu_indices(12, 1)]
    student_sim = (student_vectors @ student_vectors.T)[np.triu_indices(12, 1)]
    assert np.corrcoef(teacher_sim, student_sim)[0, 1] > 0.3


def test_distilling_into_the_pretrained_backbone_trains_its_projection_only(
    tiny_clip_dir: Path, colour_clothing_dir: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    images = sorted((colour_clothing_dir / "train").rglob("*.*"))
    config = replace(TINY, backbone="efficientnet-lite0", epochs=30, learning_rate=1e-2)
    result = distill_image_tower(tiny_clip_dir, images, tmp_path / "student", config, "cpu")
    assert result.images == 24 and result.history[-1]["loss"] < result.history[0]["loss"]
    saved = read_tower_config(tmp_path / "student")
    assert saved.backbone == "efficientnet-lite0" and saved.tuned_blocks == 0
    assert saved.image_size == 192 and saved.embed_dim == 16  # encodes at Lite0's 192 px
    assert (tmp_path / "student" / "model.safetensors").stat().st_size < 200_000  # the head
    checkpoint = ClipCheckpoint(tiny_clip_dir, "cpu")
    probe = [p for p in images if p.suffix == ".png"][:12]
    teacher_vectors = ClipImageEncoder(checkpoint).load().encode(probe).vectors
    student = TowerImageEncoder(tmp_path / "student", device="cpu").load()
    untrained = TowerImageEncoder("-", device="cpu", tower=ImageTower(saved)).load()
    agreement = float((teacher_vectors * student.encode(probe).vectors).sum(axis=1).mean())
    baseline = float((teacher_vectors * untrained.encode(probe).vectors).sum(axis=1).mean())
    assert agreement > max(0.5, baseline + 0.3), (agreement, baseline)


def test_distillation_needs_images(tiny_clip_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="at least 2 readable"):
        distill_image_tower(tiny_clip_dir, [tmp_path / "x.jpg"], tmp_path / "s", TINY, "cpu")
