"""Encoder throughput: texts/s (MiniLM) and images/s (ShopKG's towers, optionally a CLIP dir).

The shipped tower (EfficientNet-Lite0 + projection) is measured as the build runs it (192 px,
on ONNX Runtime in float32 where it is installed, else torch with bf16 weights), with the same
weights at 224 px, on torch (bf16 weights where the CPU has native bf16) and on torch in
float32 as same-run baselines, and the cosine of its vectors to torch float32's. ``--tower``
(default: the from-scratch CNN, random weights: encoding costs the same whatever they
learned) is measured too.

Where MiniLM encodes batches in bf16 (a CPU with AMX / AVX512-BF16, see encoders/sentence.py),
the fp32 rate is measured in the same run as the baseline.

Images are synthetic 224 px JPEGs held in memory, so decoding is measured as in a catalog
build but no data set is needed. Runs on CPU, and on CUDA too when torch sees a device.

    .venv/bin/python bench/encode_bench.py [--tower DIR] [--clip DIR]

The last line of stdout is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from encoders.base import ImageEncoder, TextEncoder

WORDS = [
    "organic",
    "fresh",
    "green",
    "apple",
    "red",
    "dress",
    "waterproof",
    "running",
    "shoe",
    "cotton",
    "shirt",
    "milk",
    "breathable",
    "summer",
    "hat",
    "toddlers",
    "rainy",
    "commute",
    "back",
    "pain",
    "sweaty",
    "feet",
]


def sample_texts(n: int, rng: np.random.Generator) -> list[str]:
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(6, 30)))) for _ in range(n)]


def sample_images(n: int, rng: np.random.Generator) -> list[bytes]:
    images = []
    for _ in range(n):
        array = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "JPEG", quality=85)
        images.append(buffer.getvalue())
    return images


def rate(encode: Any, items: list[Any], batch: int, repeats: int = 2) -> float:
    encode(items[:batch])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(items), batch):
            encode(items[start : start + batch])
        best = min(best, time.perf_counter() - started)
    return round(len(items) / best, 1)


def text_rate(encoder: TextEncoder, texts: list[str], batch: int) -> float:
    return rate(encoder.encode, texts, batch)


def image_rate(encoder: ImageEncoder, images: list[bytes], batch: int) -> float:
    return rate(encoder.encode, images, batch)


def stream_rate(encoder: ImageEncoder, images: list[bytes], batch: int) -> float:
    """Images/s of decoding the next batch in a thread while this one is encoded (what
    :meth:`ImageEncoder.encode_stream` does where a core is free) over all ``images``."""
    from concurrent.futures import ThreadPoolExecutor

    def run(chunk: list[bytes]) -> None:
        batches = [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(encoder.decode, batches[0])
            for upcoming in batches[1:]:
                following = pool.submit(encoder.decode, upcoming)
                encoder.encode_decoded(pending.result())
                pending = following
            encoder.encode_decoded(pending.result())

    return rate(run, images, len(images), repeats=2)


def shipped_rows(device: str, images: list[bytes], batch: int) -> dict[str, Any]:
    """The shipped EfficientNet-Lite0 tower as the build runs it (192 px, ONNX Runtime where
    installed), and the same weights at 224 px, on torch, and on torch in float32: the
    baselines of this run."""
    import dataclasses

    from encoders.factory import BUNDLED_TOWER
    from encoders.tower import TowerImageEncoder, load_tower

    shipped = TowerImageEncoder(BUNDLED_TOWER, device=device).load()
    tower = load_tower(BUNDLED_TOWER)
    tower.config = dataclasses.replace(tower.config, image_size=224)
    at_224 = TowerImageEncoder("-", device=device, tower=tower).load()
    on_torch = TowerImageEncoder(BUNDLED_TOWER, device=device, onnx_runtime=False).load()
    fp32 = TowerImageEncoder(
        BUNDLED_TOWER, device=device, cpu_bf16=False, onnx_runtime=False
    ).load()
    streamed = stream_rate(shipped, images, batch)
    at_224_rate = image_rate(at_224, images, batch)
    row: dict[str, Any] = {
        "shipped_id": shipped.encoder_id,
        "shipped_input_px": shipped.input_size,
        "shipped_runtime": shipped.runtime,
        "shipped_images_per_s": image_rate(shipped, images, batch),
        "shipped_stream_images_per_s": streamed,
        "shipped_at_224_px_images_per_s": at_224_rate,
        "shipped_on_torch_images_per_s": image_rate(on_torch, images, batch),
        "shipped_torch_fp32_images_per_s": image_rate(fp32, images, batch),
    }
    # the same photos' vectors: ONNX Runtime against torch in float32
    probe = [images[i] for i in range(min(64, len(images)))]
    mine, reference = shipped.encode(probe).vectors, fp32.encode(probe).vectors
    row["shipped_cosine_to_torch_fp32_min"] = round(float((mine * reference).sum(1).min()), 5)
    row["stream_over_in_line"] = round(streamed / row["shipped_images_per_s"], 2)
    row["shipped_over_224_px"] = round(row["shipped_images_per_s"] / at_224_rate, 2)
    row["shipped_over_torch"] = round(
        row["shipped_images_per_s"] / row["shipped_on_torch_images_per_s"], 2
    )
    row["shipped_over_torch_fp32"] = round(
        row["shipped_images_per_s"] / row["shipped_torch_fp32_images_per_s"], 2
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description="Encoder throughput benchmark")
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tower", type=Path, help="trained tower directory (default: random)")
    parser.add_argument("--clip", type=Path, help="a local CLIP checkpoint to measure too")
    args = parser.parse_args()

    import torch

    from encoders.clip import ClipImageEncoder
    from encoders.sentence import SentenceTransformerTextEncoder
    from encoders.tower import ImageTower, TowerConfig, TowerImageEncoder

    rng = np.random.default_rng(0)
    texts, images = sample_texts(args.texts, rng), sample_images(args.images, rng)
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    results: dict[str, Any] = {
        "benchmark": "encode",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
    }
    for device in devices:
        row: dict[str, Any] = {}
        minilm = SentenceTransformerTextEncoder(device=device, batch_size=args.batch).load()
        row["minilm_precision"] = minilm.precision
        row["minilm_texts_per_s"] = text_rate(minilm, texts, args.batch)
        if minilm.precision == "bf16":  # the fp32 baseline, in the same run
            fp32 = SentenceTransformerTextEncoder(
                device=device, batch_size=args.batch, cpu_bf16=False
            )
            row["minilm_fp32_texts_per_s"] = text_rate(fp32.load(), texts, args.batch)
            row["bf16_over_fp32"] = round(
                row["minilm_texts_per_s"] / row["minilm_fp32_texts_per_s"], 2
            )
        tower = (
            TowerImageEncoder(args.tower, device=device)
            if args.tower
            else TowerImageEncoder("random", device=device, tower=ImageTower(TowerConfig()))
        )
        row["tower_images_per_s"] = image_rate(tower.load(), images, args.batch)
        row["tower_id"] = tower.encoder_id
        row.update(shipped_rows(device, images, args.batch))
        if args.clip:
            row["clip_images_per_s"] = image_rate(
                ClipImageEncoder(args.clip).load(), images, args.batch
            )
        results[device] = row
        print(json.dumps({device: row}), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
