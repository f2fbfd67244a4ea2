"""End-to-end build throughput: generated catalog → ``shopkg build`` → KG and every index.

For each ``--items`` size: generate the demo catalog (seeded; not timed as part of the build),
run the real build (ingest, extraction, KG upserts, text encoding, images and their encoding,
concept prototypes, BM25) into a fresh data directory and report items/s overall, seconds
per stage and the image stage's images/s. ``--image-encoder`` chooses what encodes the photos,
each a separate build in the same run: ``shipped`` (the default: the tower ShopKG ships,
EfficientNet-Lite0 + its projection, on ONNX Runtime: what a user's build runs),
``shipped-torch`` (the same tower on torch, bf16 weights where the CPU has native bf16: the
runtime before ONNX Runtime), ``cnn`` (the earlier
from-scratch CNN tower with seeded random weights, the same-run baseline: encoding costs
the same whatever the weights learned) and ``none`` (no photo encoding).

The baseline in the same run is the incremental rebuild: ``--changed`` of the records are
edited and the build runs again; the ratio says how much of a full build a small catalog
update costs.

    .venv/bin/python bench/build_bench.py --items 10000
    .venv/bin/python bench/build_bench.py --items 2000 --image-encoder shipped cnn
    .venv/bin/python bench/build_bench.py --items 1000 10000 100000 --device cuda

``--engine ray`` builds the same catalog on a local Ray (``shopkg build --engine ray``) once
per ``--workers`` count, after the in-process build of it as the same-run baseline, each into
a fresh data directory (no incremental rebuild then), and reports items/s per worker and the
scaling ratio of the largest worker count over the smallest:

    .venv/bin/python bench/build_bench.py --items 10000 --engine ray --workers 1 2

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
from jobs.build import BuildPlan, make_engine, run_build

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
    items: int,
    args: argparse.Namespace,
    scratch: Path,
    image_encoder: str,
    engine: str = "in-process",
    workers: int | None = None,
) -> dict[str, Any]:
    root = scratch / f"n{items}-{image_encoder}"
    started = time.perf_counter()
    if not (root / "catalog" / "catalog.jsonl").is_file():  # one catalog for every engine
        write_catalog(root / "catalog", items, args.seed, workers=args.generate_workers)
    generated = time.perf_counter() - started
    label = "var" if engine == "in-process" else f"var-{engine}-{workers}"
    settings = load_settings(
        data_dir=root / label,
        device=args.device,
        image_encoder="none" if image_encoder == "none" else "",
        onnx_runtime=image_encoder != "shipped-torch",
    )
    if image_encoder == "cnn":
        _tower(Path(settings.image_encoder))
    plan = BuildPlan(
        root / "catalog" / "catalog.jsonl", "bench", root / "catalog" / "images", generated=True
    )
    cpu = time.process_time()
    started = time.perf_counter()
    runner = make_engine(engine, workers=workers)
    full = run_build(settings, plan, stream=io.StringIO(), interactive=False, engine=runner)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu  # this process's: with Ray, the driver's alone
    if args.engine != "in-process":  # the engines build the same catalog: it stays as it is
        figures = _figures(items, image_encoder, generated, seconds, cpu_seconds, settings, full)
        figures.update(engine=engine, workers=workers)
        figures["ray_wait_s"] = {  # per stage: the driver waiting on Ray, the rest its own
            name: stage["ray_wait_s"]
            for name, stage in full.stages.items()
            if isinstance(stage, dict) and "ray_wait_s" in stage
        }
        if not args.keep:
            shutil.rmtree(root / label, ignore_errors=True)
        return figures
    changed = _edit(plan.catalog, args.changed, args.seed)
    started = time.perf_counter()
    again = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    incremental = time.perf_counter() - started
    figures = _figures(items, image_encoder, generated, seconds, cpu_seconds, settings, full)
    figures["incremental"] = {
        "changed_records": changed,
        "build_s": round(incremental, 1),
        "stage_s": _stage_seconds(settings.db, again.job_id),
        "extracted": again.stages["extract"].get("extracted"),
        "written": again.stages["extract"].get("written"),
        "full_over_incremental": round(seconds / incremental, 2),
    }
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def _figures(
    items: int,
    image_encoder: str,
    generated: float,
    seconds: float,
    cpu_seconds: float,
    settings: Any,
    full: Any,
) -> dict[str, Any]:
    images = full.stages.get("images", {})
    stage_s = _stage_seconds(settings.db, full.job_id)
    image_seconds = stage_s.get("images", 0.0)
    return {
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
        # per-stage rates: records (or images) per second of each stage
        "stage_items_per_s": {
            name: round(items / stage_s[name], 1)
            for name in ("extract", "text_index", "keyword_index")
            if stage_s.get(name)
        },
    }


def engine_comparison(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The Ray builds against the in-process one of the same catalog: items/s, items/s per
    worker, and the scaling ratio (most workers over fewest), overall and per stage."""
    baseline = next(run for run in runs if run["engine"] == "in-process")
    ray_runs = sorted((run for run in runs if run["engine"] == "ray"), key=lambda r: r["workers"])
    summary: dict[str, Any] = {
        "in_process_items_per_s": baseline["items_per_s"],
        "ray": {
            str(run["workers"]): {
                "items_per_s": run["items_per_s"],
                "items_per_s_per_worker": round(run["items_per_s"] / run["workers"], 1),
                "over_in_process": round(run["items_per_s"] / baseline["items_per_s"], 2),
                "stage_s": run["stage_s"],
                "ray_wait_s": run["ray_wait_s"],
                "driver_cpu_s": run["build_cpu_s"],
            }
            for run in ray_runs
        },
    }
    if len(ray_runs) > 1:
        fewest, most = ray_runs[0], ray_runs[-1]
        summary["scaling"] = {
            "workers": [fewest["workers"], most["workers"]],
            "build": round(most["items_per_s"] / fewest["items_per_s"], 2),
            "stages": {
                name: round(fewest["stage_s"][name] / most["stage_s"][name], 2)
                for name in ("extract", "text_index", "images")
                if most["stage_s"].get(name)
            },
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--changed", type=float, default=0.01, help="share edited for the rebuild")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument(
        "--generate-workers", type=int, default=2, help="catalog generation processes"
    )
    parser.add_argument(
        "--engine",
        choices=["in-process", "ray"],
        default="in-process",
        help="ray: build each catalog in process (the baseline), then on a local Ray once "
        "per --workers count",
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="with --engine ray: actors per stage"
    )
    parser.add_argument(
        "--image-encoder",
        nargs="+",
        choices=["shipped", "shipped-torch", "cnn", "none"],
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
    comparisons = []
    for items in args.items:
        for image_encoder in encoders:
            if args.engine == "in-process":
                figures = run_size(items, args, scratch, image_encoder)
                print(json.dumps(figures), flush=True)
                results.append(figures)
                continue
            runs = []
            for engine, workers in [("in-process", None)] + [("ray", n) for n in args.workers]:
                figures = run_size(items, args, scratch, image_encoder, engine, workers)
                print(json.dumps(figures), flush=True)
                runs.append(figures)
            results.extend(runs)
            comparisons.append({"items": items, **engine_comparison(runs)})
            if not args.keep:
                shutil.rmtree(scratch / f"n{items}-{image_encoder}", ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "bench": "build",
        "device": args.device,
        "engine": args.engine,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "image_encoders": encoders,
        "sizes": results,
        **({"engines": comparisons} if comparisons else {}),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
