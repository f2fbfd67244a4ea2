"""Fixtures of the job tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def _tiny_tower(directory: Path) -> None:
    """A small random image tower: the build's image stage needs an encoder, not a good one."""
    import torch

    from encoders.tower import ImageTower, TowerConfig, save_tower

    torch.manual_seed(0)
    save_tower(ImageTower(TowerConfig(image_size=32, widths=(8, 16), embed_dim=16)), directory)


@pytest.fixture(scope="session")
def tiny_tower() -> Callable[[Path], None]:
    """Writes a tiny seeded image tower into a directory (the same one every time)."""
    return _tiny_tower
