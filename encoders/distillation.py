"""ConaCLIP-style distillation of a CLIP image tower into ShopKG's small tower.

The teacher is any local transformers CLIP checkpoint; the student is :class:`ImageTower`
with the teacher's projection size, so its vectors live in the teacher's space and the
teacher's *text* tower can still be used for zero-shot search. Three losses, as in ConaCLIP's
"fully-connected knowledge interaction graph" reduced to the image side:

* feature: cosine distance between student and teacher embeddings of the same image;
* contrastive: InfoNCE, each student embedding must pick out its own teacher embedding
  among the batch's;
* relational: the student's image–image similarity distribution over the batch (softmax)
  must match the teacher's (KL divergence).

Teacher embeddings are computed once per image (center view). The student is ShopKG's tower
over a pretrained backbone (``backbone``, EfficientNet-Lite0 from the command line), whose
frozen features of every image and its mirror image are computed once, so only its
projection into the teacher's space is trained; or, with no backbone, the small CNN trained
whole on random crops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from encoders.base import ImageSource
from encoders.clip import ClipCheckpoint, ClipTextEncoder
from encoders.device import prepare_torch
from encoders.images import load_batch, normalize_uint8, resize_center_crop
from encoders.tower import ImageTower, TowerConfig, save_tower
from encoders.training import TrainingResult, augment, decode_size, weights_digest, write_curve
from foundation.errors import EncoderError


@dataclass(frozen=True)
class DistillationConfig:
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    image_size: int = 64
    widths: tuple[int, ...] = (24, 48, 96, 192)
    feature_weight: float = 1.0
    contrastive_weight: float = 1.0
    relational_weight: float = 1.0
    temperature: float = 0.05
    seed: int = 0
    backbone: str = ""  # a pretrained backbone (encoders.backbone.BACKBONES): its projection


def distillation_losses(
    student: torch.Tensor, teacher: torch.Tensor, temperature: float
) -> dict[str, torch.Tensor]:
    """Feature, contrastive and relational losses between unit student/teacher embeddings."""
    feature = (1 - (student * teacher).sum(dim=-1)).mean()
    targets = torch.arange(len(student))
    contrastive = nn.functional.cross_entropy(student @ teacher.T / temperature, targets)
    mask = torch.eye(len(student), dtype=torch.bool)
    student_relations = (student @ student.T / temperature).masked_fill(mask, -1e4)
    teacher_relations = (teacher @ teacher.T / temperature).masked_fill(mask, -1e4)
    relational = nn.functional.kl_div(
        nn.functional.log_softmax(student_relations, dim=-1),
        nn.functional.log_softmax(teacher_relations, dim=-1),
        reduction="batchmean",
        log_target=True,
    )
    return {"feature": feature, "contrastive": contrastive, "relational": relational}


def teacher_embeddings(
    checkpoint: ClipCheckpoint, pixels: np.ndarray, batch_size: int = 64
) -> torch.Tensor:
    """Unit teacher embeddings of pre-decoded images, resized to the teacher's input size."""
    from PIL import Image

    size = checkpoint.image_size
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(pixels), batch_size):
            chunk = np.stack(
                [
                    np.asarray(resize_center_crop(Image.fromarray(p), size))
                    for p in pixels[start : start + batch_size]
                ]
            )
            features = checkpoint.image_features(chunk).float()
            outputs.append(nn.functional.normalize(features, dim=-1).cpu())
    return torch.cat(outputs)


def distill_image_tower(
    teacher_dir: Path,
    images: Sequence[ImageSource],
    output_dir: Path,
    config: DistillationConfig | None = None,
    device: str = "auto",
) -> TrainingResult:
    """Distil the CLIP checkpoint at ``teacher_dir`` into a small tower saved at ``output_dir``."""
    config = config or DistillationConfig()
    checkpoint = ClipCheckpoint(teacher_dir, device).load()
    image_size = config.image_size
    if config.backbone:
        from encoders.backbone import backbone_spec

        image_size = backbone_spec(config.backbone).image_size
    pixels, kept, skipped = load_batch(
        images, image_size if config.backbone else decode_size(image_size)
    )
    if len(kept) < 2:
        raise EncoderError(f"need at least 2 readable images to distil, got {len(kept)}")
    prepare_torch(config.seed)
    rng = np.random.default_rng(config.seed)
    teacher = teacher_embeddings(checkpoint, pixels)
    tower_config = TowerConfig(
        image_size=image_size,
        widths=config.widths,
        embed_dim=checkpoint.dimension,
        name="shopkg-image-tower-distilled",
        text_encoder_id=ClipTextEncoder(checkpoint).encoder_id,
        backbone=config.backbone,
    )
    student = ImageTower(tower_config)
    views: torch.Tensor | None = None  # (n, 2, features): frozen features, image and mirror
    if config.backbone:
        from encoders.backbone import backbone_spec

        student.features.requires_grad_(False)
        views = _frozen_views(student, pixels, tower_config)
        tower_config = replace(tower_config, image_size=backbone_spec(config.backbone).encode_size)
    trained = student.head.parameters() if config.backbone else student.parameters()
    optimizer = torch.optim.AdamW(
        trained, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    n = len(kept)
    batch_size = min(config.batch_size, n)
    steps = max(1, n // batch_size)
    total = steps * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    )
    weights = {
        "feature": config.feature_weight,
        "contrastive": config.contrastive_weight,
        "relational": config.relational_weight,
    }
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        student.train()
        order = rng.permutation(n)
        sums = dict.fromkeys(("loss", *weights), 0.0)
        for step in range(steps):
            index = order[step * batch_size : (step + 1) * batch_size]
            if views is not None:  # the image or its mirror, at random
                mirrored = torch.from_numpy(rng.random(len(index)) < 0.5).long()
                pooled = views[torch.from_numpy(index), mirrored]
                embedded = nn.functional.normalize(student.head(pooled), dim=-1)
            else:
                crops = augment(pixels[index], image_size, rng)
                batch = torch.from_numpy(
                    normalize_uint8(crops, tower_config.mean, tower_config.std)
                )
                embedded = nn.functional.normalize(student(batch), dim=-1)
            parts = distillation_losses(embedded, teacher[index], config.temperature)
            loss = sum((weights[name] * value for name, value in parts.items()), torch.tensor(0.0))
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            schedule.step()
            for name, value in (("loss", loss), *parts.items()):
                sums[name] += float(value.detach()) / steps
        history.append({"epoch": float(epoch), **{k: round(v, 5) for k, v in sums.items()}})
    seconds = time.perf_counter() - started
    student.eval()
    final = replace(
        tower_config,
        version=f"distilled-{weights_digest(student)[4:]}",
        extra={
            "distillation": {
                **asdict(config),
                "teacher": checkpoint.manifest("image").encoder_id,
                "images": n,
                "seconds": round(seconds, 1),
            },
        },
    )
    student.config = final
    save_tower(student, output_dir, final)
    write_curve(output_dir, history)
    return TrainingResult(output_dir, history, seconds, n, len(skipped))


def _frozen_views(
    student: ImageTower, pixels: np.ndarray, config: TowerConfig, batch_size: int = 64
) -> torch.Tensor:
    """The frozen backbone's pooled features of each image and of its mirror image."""
    student.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(pixels), batch_size):
            chunk = normalize_uint8(pixels[start : start + batch_size], config.mean, config.std)
            batch = torch.from_numpy(chunk)
            pair = [student.pooled(batch), student.pooled(torch.flip(batch, dims=(3,)))]
            out.append(torch.stack(pair, dim=1).float())
    return torch.cat(out).clone()
