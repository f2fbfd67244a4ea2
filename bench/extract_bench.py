"""Throughput of the extraction pipeline (no encoders), in products per second.

Runs the whole pipeline (normalizer, dictionary, tagger, values, needs, concept candidates)
with the extractor the build uses (the MiniLM tagger: trained into var/models, else the
shipped one) and, as baselines in the same run, the same pipeline with the previous spaCy
tagger (``--previous DIR``, when given) and the normalization-only pipeline, on generated
records and on the ePQA products. Reports wall-clock and CPU-time rates (CPU time is the
honest "one core" figure on a shared machine) and prints one JSON object on the last line.

    .venv/bin/python bench/extract_bench.py [--model DIR] [--previous DIR] [--records N]
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
from extraction.value_taggers import extractor_dir

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
    parser.add_argument("--model", type=Path, help="default: what the build uses")
    parser.add_argument("--previous", type=Path, help="the spaCy tagger, for the same run")
    parser.add_argument("--records", type=int, default=500)
    args = parser.parse_args()
    model = args.model or extractor_dir(Path("var/models"))
    pipelines = {"pipeline": build_pipeline(model_dir=model)}
    if args.previous is not None:
        pipelines["previous_tagger"] = build_pipeline(model_dir=args.previous)
    pipelines["baseline"] = build_pipeline(steps=["normalizer"])
    sets = {"synthetic": synthetic_records(args.records)}
    if EPQA.is_dir():
        sets["epqa"] = epqa_records()
    result: dict[str, Any] = {
        "steps": pipelines["pipeline"].steps,
        "tagger": str(model) if model else None,
        "previous_tagger": str(args.previous) if args.previous else None,
        "load_average": os.getloadavg()[0],
    }
    for name, records in sets.items():
        result[name] = {key: measure(p, records) for key, p in pipelines.items()}
        ratio = result[name]["pipeline"]["products_per_cpu_s"]
        ratio /= result[name]["baseline"]["products_per_cpu_s"]
        result[name]["pipeline_over_baseline"] = round(ratio, 3)
        print(name, json.dumps(result[name]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
