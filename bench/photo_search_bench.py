"""Search by photo: latency of the real assistant's ``search_image`` on a demo build.

Builds the demo catalog into a scratch data directory (``shopkg demo --items N --no-serve``,
the shipped image tower encoding every photo) unless ``--data-dir`` names a built one, loads
the assistant the server loads (:func:`assistant.loader.build_assistant`) and sends it
``--queries`` photos one at a time, as a shopper's upload arrives: real grocery photos from
``--photos`` (JPEGs of a few hundred pixels, decoded, resized and encoded per request) and
the demo's own item photos, alternately. Reports p50/p95/p99 of the whole call and, in the
same run, of its two parts: encoding the photo (decode + the tower at its encode size) and
the item-image index search (the rest is the hits' cards). Target (#16): p95 at most 100 ms.

    .venv/bin/python bench/photo_search_bench.py
    .venv/bin/python bench/photo_search_bench.py --data-dir var --queries 500

The last line of stdout is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGET_P95_MS = 100.0


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000.0
    return {f"p{q}_ms": round(float(np.percentile(ms, q)), 1) for q in (50, 95, 99)}


def _build(data_dir: Path, items: int) -> float:
    started = time.perf_counter()
    env = {**os.environ, "SHOPKG_DATA_DIR": str(data_dir)}
    shopkg = Path(sys.executable).with_name("shopkg")
    command = [str(shopkg), "demo", "--items", str(items), "--no-serve"]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _photos(photos: Path, demo_images: Path, count: int) -> list[bytes]:
    real = sorted(photos.rglob("*.jpg"))[: count // 2 + 1]
    drawn = sorted(demo_images.rglob("*.jpg"))[: count // 2 + 1]
    mixed = [p for pair in zip(real, drawn, strict=False) for p in pair]
    if len(mixed) < count:
        mixed += (real + drawn)[: count - len(mixed)]
    return [p.read_bytes() for p in mixed[:count]]


def run(data_dir: Path, photos: Path, queries: int, items: int) -> dict[str, Any]:
    from assistant.loader import build_assistant
    from foundation.artifacts import last_build
    from foundation.settings import load_settings

    built_s = None
    settings = load_settings(data_dir=data_dir)
    if last_build(settings) is None:
        built_s = round(_build(data_dir, items), 1)
    assistant = build_assistant(settings)
    if assistant.image_search is None:
        raise SystemExit(f"{data_dir}: this build has no image index (no image encoder)")
    encoder, index = assistant.image_search
    uploads = _photos(photos, data_dir / "demo-catalog", queries)
    for upload in uploads[:5]:  # warm-up: first calls allocate
        assistant.search_image(upload)
    whole, encode, lookup = [], [], []
    for upload in uploads:
        started = time.perf_counter()
        result = assistant.search_image(upload)
        whole.append(time.perf_counter() - started)
        assert result.hits, "a photo found nothing"
        started = time.perf_counter()
        encoded = encoder.encode([upload])
        encode.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.search(encoded.vectors, k=10, encoder_id=encoder.encoder_id)
        lookup.append(time.perf_counter() - started)
    p = _percentiles(whole)
    return {
        "benchmark": "photo_search",
        "data_dir": str(data_dir),
        "demo_build_s": built_s,
        "image_encoder": encoder.encoder_id,
        "encode_px": getattr(encoder, "input_size", None),
        "indexed_images": len(index),
        "queries": len(uploads),
        "search_image": p,
        "encode_only": _percentiles(encode),
        "index_search_only": _percentiles(lookup),
        "target_p95_ms": TARGET_P95_MS,
        "met": p["p95_ms"] <= TARGET_P95_MS,
        "threads": __import__("torch").get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="a built data directory (else a demo)")
    parser.add_argument("--items", type=int, default=2000, help="demo size when building")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--photos", type=Path, default=Path(__file__).parents[1] / "../shared/data/grocery/photos"
    )
    args = parser.parse_args()
    if args.data_dir is not None:
        figures = run(args.data_dir, args.photos, args.queries, args.items)
    else:
        with tempfile.TemporaryDirectory(prefix="shopkg-photo-bench-") as scratch:
            figures = run(Path(scratch), args.photos, args.queries, args.items)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
