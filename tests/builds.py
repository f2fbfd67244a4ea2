"""Builds the tests share: a tiny seeded image tower and the small generated demo catalog."""

from __future__ import annotations

import io
from pathlib import Path

from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build

DEMO_ITEMS = 60


def tiny_tower(directory: Path) -> None:
    """A small random image tower: the build's image stage needs an encoder, not a good one."""
    import torch

    from encoders.tower import ImageTower, TowerConfig, save_tower

    torch.manual_seed(0)
    save_tower(ImageTower(TowerConfig(image_size=32, widths=(8, 16), embed_dim=16)), directory)


def demo_plan(root: Path) -> BuildPlan:
    """The build plan of the demo catalog written under ``root / "demo"``."""

    images = root / "demo" / "images"
    return BuildPlan(root / "demo" / "catalog.jsonl", "demo", images, generated=True)


def build_demo(root: Path) -> Settings:
    """Write the demo catalog (:data:`DEMO_ITEMS` items) under ``root`` and build it into
    ``root / "var"`` with a tiny tower; returns the build's settings."""
    from catalog.demo.generate import write_catalog

    write_catalog(root / "demo", DEMO_ITEMS, 0)
    settings = load_settings(data_dir=root / "var")
    tiny_tower(Path(settings.image_encoder))
    result = run_build(settings, demo_plan(root), stream=io.StringIO(), interactive=False)
    assert result.status == "succeeded"
    return settings
