"""Image retrieval metrics and the `shopkg train image-encoder` / `shopkg eval images` CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from encoders.evaluation import (
    histogram_embedder,
    score_methods,
    text_to_image_recall,
    top_k_accuracy,
)
from kg.prototypes import concept_prototypes
from shopkg.cli import cli


def test_top_k_accuracy_and_recall_on_known_scores() -> None:
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.8], [0.5, 0.4, 0.1]], np.float32)
    labels = np.array([0, 1, 1])
    assert top_k_accuracy(scores, labels, ks=(1, 2)) == {
        "top1": pytest.approx(1 / 3, abs=1e-4),
        "top2": 1.0,
    }
    texts = np.eye(3, dtype=np.float32)
    photos = np.array([[1, 0, 0], [0, 0.2, 0.9], [0, 1, 0]], np.float32)
    # text 1's photos are rows 1 and 2; row 2 is its best match, so R@1 holds for both queries
    assert text_to_image_recall(texts, photos, labels, ks=(1,)) == {"R@1": 1.0}
    recall = text_to_image_recall(
        texts, np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32), labels, ks=(1, 3)
    )
    assert recall == {"R@1": 0.0, "R@3": 1.0}


def test_prototypes_and_fusion() -> None:
    train = np.array([[1, 0], [0.8, 0.6], [0, 1]], np.float32)
    protos = concept_prototypes(train, np.array([0, 0, 1]), 3)
    assert np.allclose(protos[0], np.array([0.9, 0.3]) / np.linalg.norm([0.9, 0.3]))
    assert np.allclose(protos[2], 0.0)  # a concept without train photos has no prototype
    methods = score_methods(
        np.array([[0.0, 1.0]], np.float32),
        (train, np.array([0, 0, 1])),
        3,
        texts=np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float32),
        iconic=(np.array([[0, 1], [1, 0]], np.float32), np.array([2, 2])),
    )
    assert set(methods) == {"image_text", "image_image", "prototype", "fused"}
    assert methods["image_image"][0].tolist() == [-1.0, -1.0, 1.0]
    assert int(methods["fused"][0].argmax()) in (1, 2)


def test_histogram_baseline_tells_colours_apart(tmp_path: Path) -> None:
    paths = []
    for name, colour in (("red1", (208, 16, 16)), ("red2", (200, 20, 20)), ("blue", (16, 16, 208))):
        paths.append(tmp_path / f"{name}.png")
        Image.new("RGB", (40, 30), colour).save(paths[-1])
    vectors, kept = histogram_embedder()([*paths, tmp_path / "nope.png"])
    assert kept == [0, 1, 2]
    assert vectors[0] @ vectors[1] == pytest.approx(1.0)
    assert vectors[0] @ vectors[2] == pytest.approx(0.0)


def last_json(output: str) -> dict[str, object]:
    result = json.loads(output.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def test_train_then_eval_from_the_command_line(
    colour_clothing_dir: Path, tiny_st_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"SHOPKG_TEXT_ENCODER": str(tiny_st_dir), "SHOPKG_DEVICE": "cpu"}
    base = ["--data-dir", str(tmp_path)]
    trained = runner.invoke(
        cli,
        [
            *base,
            "train",
            "image-encoder",
            "--clothing",
            str(colour_clothing_dir),
            "--backbone",
            "none",
            "--epochs",
            "2",
            "--image-size",
            "32",
            "--batch-size",
            "8",
        ],
        env=env,
    )
    assert trained.exit_code == 0, trained.output
    summary = last_json(trained.stdout)
    assert summary["images"] == 24 and summary["skipped"] == 1 and summary["epochs"] == 2
    assert (tmp_path / "models" / "image-tower" / "model.safetensors").is_file()
    evaluated = runner.invoke(
        cli,
        [*base, "eval", "images", "--data", str(colour_clothing_dir), "--format", "clothing"],
        env=env,
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = last_json(evaluated.stdout)
    assert report["split"] == "validation" and report["eval_images"] == 12
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    assert set(metrics) == {"image_text", "image_image", "prototype", "fused"}
    assert report["reference"] == {
        "source": "the data set's own train photos",
        "train_images": 25,
        "iconic_images": 0,
    }
    baselines = report["baselines"]
    assert isinstance(baselines, dict)
    # three plain colours: a colour histogram must classify them perfectly by prototype
    assert baselines["colour_histogram"]["prototype"]["top1"] == 1.0
    assert set(baselines["random"]) == set(metrics)


def test_eval_with_a_clip_checkpoint_and_mismatched_text_encoder(
    colour_clothing_dir: Path, tiny_clip_dir: Path, tiny_st_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    args = [
        "--data-dir",
        str(tmp_path),
        "eval",
        "images",
        "--data",
        str(colour_clothing_dir),
        "--format",
        "clothing",
    ]
    clip = runner.invoke(
        cli, [*args, "--image-encoder", str(tiny_clip_dir)], env={"SHOPKG_DEVICE": "cpu"}
    )
    assert clip.exit_code == 0, clip.output
    assert str(last_json(clip.stdout)["image_encoder"]).startswith("clip:tiny-clip@")
    nowhere = {"SHOPKG_DEVICE": "cpu", "SHOPKG_IMAGE_ENCODER": str(tmp_path / "no-model")}
    missing = runner.invoke(cli, args, env=nowhere)
    assert missing.exit_code == 1 and "shopkg train image-encoder" in missing.output
    distilled = runner.invoke(
        cli,
        [
            "--data-dir",
            str(tmp_path),
            "train",
            "image-encoder",
            "--clothing",
            str(colour_clothing_dir),
            "--teacher",
            str(tiny_clip_dir),
            "--epochs",
            "1",
            "--image-size",
            "32",
            "--batch-size",
            "8",
        ],
        env={"SHOPKG_DEVICE": "cpu"},
    )
    assert distilled.exit_code == 0, distilled.output
    assert last_json(distilled.stdout)["images"] == 24
    # the distilled tower lives in the teacher's space: eval pairs it with the CLIP text tower
    tower_dir = tmp_path / "models" / "image-tower"
    config = json.loads((tower_dir / "config.json").read_text())
    assert config["text_encoder_id"].startswith("clip:tiny-clip@")


def test_a_backbone_tower_trains_from_the_command_line_and_evaluates_test_photos_only(
    colour_clothing_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    trained = runner.invoke(
        cli,
        [*base, "train", "image-encoder", "--clothing", str(colour_clothing_dir), "--epochs", "3"],
        env={"SHOPKG_DEVICE": "cpu"},
    )
    assert trained.exit_code == 0, trained.output
    assert last_json(trained.stdout)["images"] == 24  # the broken file is skipped
    config = json.loads((tmp_path / "models" / "image-tower" / "config.json").read_text())
    assert config["backbone"] == "efficientnet-lite0" and config["image_size"] == 192
    # a folder of test photos only: every channel and baseline needs a reference set
    only_test = tmp_path / "held-out"
    shutil.copytree(colour_clothing_dir / "validation", only_test / "test")
    args = [*base, "eval", "images", "--data", str(only_test), "--format", "clothing"]
    refused = runner.invoke(cli, args, env={"SHOPKG_DEVICE": "cpu"})
    assert refused.exit_code == 1 and "--reference DIR" in refused.output
    evaluated = runner.invoke(
        cli, [*args, "--reference", str(colour_clothing_dir)], env={"SHOPKG_DEVICE": "cpu"}
    )
    assert evaluated.exit_code == 0, evaluated.output
    report: dict[str, Any] = last_json(evaluated.stdout)
    assert report["split"] == "test" and report["eval_images"] == 12
    assert report["reference"]["source"] == f"the train photos of {colour_clothing_dir}"
    assert set(report["metrics"]) == {"image_text", "image_image", "prototype", "fused"}
    histogram = report["baselines"]["colour_histogram"]
    assert set(histogram) == {"image_image", "prototype", "fused"}
    assert histogram["prototype"]["top1"] == 1.0
