"""End-to-end build throughput: generated catalog → ``shopkg build`` → KG and every index.

For each ``--items`` size: generate the demo catalog (seeded; not timed as part of the build),
run the real build (ingest, extraction, KG upserts, text encoding, images and their encoding,
concept prototypes, BM25) into a fresh data directory and report items/s overall, seconds
per stage and the image stage's images/s. ``--image-encoder`` chooses what encodes the photos,
each a separate build in the same run: ``shipped`` (the default: the tower ShopKG ships,
EfficientNet-Lite0 + its projection, what a user's build runs), ``cnn`` (the earlier
from-scratch CNN tower with seeded random weights, the same-run baseline: encoding costs
the same whatever the weights learned) and ``none`` (no photo encoding).

The baseline in the same run is the incremental rebuild: ``--changed`` of the records are
edited and the build runs again; the ratio says how much of a full build a small catalog
update costs.

    .venv/bin/python bench/build_bench.py --items 10000
    .venv/bin/python bench/build_bench.py --items 2000 --image-encoder shipped cnn
    .venv/bin/python bench/build_bench.py --items 1000 10000 100000 --device cuda

The last line of stdout is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from catalog.demo.generate import write_catalog
from foundation.db import Database, jobs
from foundation.settings import load_settings
from jobs.build import BuildPlan, run_build

TARGET = 50.0  # items/s on CPU, encoding included


def _tower(directory: Path) -> None:
    import torch

    from encoders.tower import ImageTower, TowerConfig, save_tower

    torch.manual_seed(0)
    save_tower(ImageTower(TowerConfig()), directory)


def _stage_seconds(db_url: str, job_id: int) -> dict[str, float]:
    database = Database(db_url).connect()
    try:
        with database.session() as session:
            job = jobs.get_job(session, job_id)
            return {stage.name: round(float(stage.seconds or 0.0), 2) for stage in job.stages}
    finally:
        database.close()


def _edit(catalog: Path, share: float, seed: int) -> int:
    """Change the description of ``share`` of the records; returns how many."""
    lines = catalog.read_text(encoding="utf-8").splitlines()
    rng = random.Random(seed)
    chosen = rng.sample(range(len(lines)), max(1, int(len(lines) * share)))
    for i in chosen:
        record = json.loads(lines[i])
        record["description"] = (record.get("description") or "") + " Now reinforced."
        lines[i] = json.dumps(record, ensure_ascii=False)
    catalog.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(chosen)


def run_size(
    items: int, args: argparse.Namespace, scratch: Path, image_encoder: str
) -> dict[str, Any]:
    root = scratch / f"n{items}-{image_encoder}"
    started = time.perf_counter()
    write_catalog(root / "catalog", items, args.seed, workers=args.workers)
    generated = time.perf_counter() - started
    settings = load_settings(
        data_dir=root / "var",
        device=args.device,
        image_encoder="none" if image_encoder == "none" else "",
    )
    if image_encoder == "cnn":
        _tower(Path(settings.image_encoder))
    plan = BuildPlan(
        root / "catalog" / "catalog.jsonl", "bench", root / "catalog" / "images", generated=True
    )
    cpu = time.process_time()
    started = time.perf_counter()
    full = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    changed = _edit(plan.catalog, args.changed, args.seed)
    started = time.perf_counter()
    again = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    incremental = time.perf_counter() - started
    images = full.stages.get("images", {})
    image_seconds = _stage_seconds(settings.db, full.job_id).get("images", 0.0)
    figures = {
        "items": items,
        "image_encoder": image_encoder,
        "catalog_generation_s": round(generated, 1),
        "build_s": round(seconds, 1),
        "build_cpu_s": round(cpu_seconds, 1),
        "items_per_s": round(items / seconds, 1),
        "target_items_per_s": TARGET,
        "stage_s": _stage_seconds(settings.db, full.job_id),
        "images": images.get("images", 0),
        "images_encoded": images.get("encoded", 0),
        "image_stage_images_per_s": (
            round(images.get("encoded", 0) / image_seconds, 1) if image_seconds else None
        ),
        "image_values_facts": full.stages.get("image_values", {}).get("facts", 0),
        "kg_nodes": sum(full.stages["extract"].get("nodes", {}).values()),
        "kg_relations": sum(full.stages["extract"].get("relations", {}).values()),
        "incremental": {
            "changed_records": changed,
            "build_s": round(incremental, 1),
            "stage_s": _stage_seconds(settings.db, again.job_id),
            "extracted": again.stages["extract"].get("extracted"),
            "written": again.stages["extract"].get("written"),
            "full_over_incremental": round(seconds / incremental, 2),
        },
    }
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--changed", type=float, default=0.01, help="share edited for the rebuild")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--workers", type=int, default=2, help="catalog generation workers")
    parser.add_argument(
        "--image-encoder",
        nargs="+",
        choices=["shipped", "cnn", "none"],
        default=["shipped"],
        help="what encodes the photos; several: one build each, in this order",
    )
    parser.add_argument("--no-image-encoder", action="store_true", help="same as none")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directories")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="shopkg-build-bench-"))
    results = []
    encoders = ["none"] if args.no_image_encoder else args.image_encoder
    for items in args.items:
        for image_encoder in encoders:
            figures = run_size(items, args, scratch, image_encoder)
            print(json.dumps(figures), flush=True)
            results.append(figures)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "bench": "build",
        "device": args.device,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "image_encoders": encoders,
        "sizes": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
