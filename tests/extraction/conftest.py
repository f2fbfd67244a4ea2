from __future__ import annotations

from pathlib import Path

import pytest

TINY_BRANDS = ["Acme", "Zorbix", "Kelto", "Numa", "Brisk", "Oakly", "Pavo", "Quell", "Rivo"]
TINY_COLORS = ["Red", "Navy Blue", "Black", "Olive Green", "White", "Grey"]
TINY_TYPES = ["Running Shoe", "Trail Boot", "Rain Jacket", "Hiking Sock", "Sun Hat"]


def write_tiny_ave(root: Path, records: int = 160) -> Path:
    """An AVE directory in the oa-mine layout with generated titles (no shared data needed)."""
    import json
    import random

    rng = random.Random(7)
    (root / "oa-mine").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(records):
        brand = rng.choice(TINY_BRANDS) + ("" if i % 3 else "x")
        color, kind = rng.choice(TINY_COLORS), rng.choice(TINY_TYPES)
        size = f"{rng.randint(4, 14)} M US"
        title = f"{brand} Men's {kind} {i}, {color}, {size}"
        target = {"Brand": {brand: 1}, "Color": {color: 1}, "Size": {size: 1}, "Gender": {"n/a": 1}}
        lines.append(json.dumps({"input": title, "category": "Shoes", "target_scores": target}))
    (root / "oa-mine" / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tagger trained for a few seconds on generated titles, once per test session."""
    from extraction.training import TrainingConfig, collect_training_data, train_extractor

    root = tmp_path_factory.mktemp("ave")
    write_tiny_ave(root)
    data = collect_training_data(root)
    out = root / "extractor"
    train_extractor(out, data, TrainingConfig(epochs=6, patience=6, min_label_count=5))
    return out
