"""Throughput of the extraction pipeline (no encoders), in products per second.

Runs the whole pipeline (normalizer, dictionary, tagger, values, needs, concept candidates)
and, as the baseline in the same run, the normalization-only pipeline, on generated records
and on the ePQA products. Reports wall-clock and CPU-time rates (CPU time is the honest
"one core" figure on a shared machine) and prints one JSON object on the last line.

    .venv/bin/python bench/extract_bench.py [--model DIR] [--records N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from catalog.readers import read_dataset
from catalog.schema import CatalogRecord
from extraction.pipeline import ExtractionPipeline, build_pipeline

EPQA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pqa" / "ePQA"
WORDS = ["trail", "running", "shoe", "rain", "jacket", "steel", "bottle", "cotton", "sock"]


def synthetic_records(count: int, seed: int = 0) -> list[CatalogRecord]:
    """Simple generated products: a title, a few sentences, bullets, a review."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        kind = " ".join(rng.sample(WORDS, 2))
        records.append(
            CatalogRecord(
                id=f"syn-{i}",
                title=f"Brand{i % 50} {kind.title()} {rng.choice(['Red', 'Navy', 'Black'])}, "
                f"{rng.randint(100, 900)} ml",
                description=f"A {kind} that keeps your feet dry on rainy commutes. "
                "Waterproof and breathable, perfect for hikers. " * rng.randint(1, 3),
                bullets=["Lightweight", "Prevents blisters", "Machine washable"],
                reviews=[{"text": "Great for camping trips, no more wet socks."}],
                category=["Outdoor", kind.split()[-1].title()],
            )
        )
    return records


def epqa_records() -> list[CatalogRecord]:
    return [
        CatalogRecord.model_validate(raw.data)
        for raw in read_dataset(EPQA, "epqa")
        if raw.data is not None
    ]


def measure(pipeline: ExtractionPipeline, records: list[CatalogRecord]) -> dict[str, Any]:
    for record in records[:20]:  # warm the vocabulary
        pipeline.extract(record)
    wall, cpu = time.perf_counter(), time.process_time()
    failed = sum(facts.error is not None for facts in pipeline.extract_many(records))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "records": len(records),
        "failed": failed,
        "products_per_s_wall": round(len(records) / wall, 1),
        "products_per_cpu_s": round(len(records) / cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("var/models/extractor"))
    parser.add_argument("--records", type=int, default=500)
    args = parser.parse_args()
    model = args.model if (args.model / "manifest.json").is_file() else None
    full = build_pipeline(model_dir=model)
    baseline = build_pipeline(steps=["normalizer"])
    sets = {"synthetic": synthetic_records(args.records)}
    if EPQA.is_dir():
        sets["epqa"] = epqa_records()
    result: dict[str, Any] = {
        "steps": full.steps,
        "tagger": str(model) if model else None,
        "load_average": os.getloadavg()[0],
    }
    for name, records in sets.items():
        result[name] = {"pipeline": measure(full, records), "baseline": measure(baseline, records)}
        ratio = result[name]["pipeline"]["products_per_cpu_s"]
        ratio /= result[name]["baseline"]["products_per_cpu_s"]
        result[name]["pipeline_over_baseline"] = round(ratio, 3)
        print(name, json.dumps(result[name]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
