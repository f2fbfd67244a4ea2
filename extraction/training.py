"""Training the attribute tagger: a spaCy token tagger over BIO tags, trained from scratch.

Why not MiniLM fine-tuning: on one CPU thread a small CNN tagger trains in minutes over a few
thousand titles and runs at thousands of titles per second, which the pipeline's throughput
target needs; its subword features (prefix, suffix, shape) carry to unseen brands and model
numbers. Why a tagger rather than spaCy's NER: with ~100 attribute labels the transition-based
NER predicted about ten times slower on this CPU (measured: 600 titles in 10 s against 0.9 s),
since its cost grows with the number of actions; a softmax over BIO tags barely notices.
The dev fifth of each file is never trained on; a tenth of the rest decides when to stop and
gives each label's precision (kept in the manifest).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extraction.ave import AveExample, ave_training_files, read_ave
from extraction.minilm_tagger import ARCHITECTURE as MINILM_ARCHITECTURE
from extraction.tagger import DICTIONARY, MANIFEST, TRAIN_HASHES
from extraction.textnorm import blank_pipeline
from foundation.errors import ExtractionError
from foundation.files import file_sha256

log = logging.getLogger(__name__)
SPACY_ARCHITECTURE = "spaCy tagger over BIO tags (HashEmbedCNN tok2vec + softmax), from scratch"
VERSION_PREFIX = {SPACY_ARCHITECTURE: "1", MINILM_ARCHITECTURE: "2"}


@dataclass
class TrainingConfig:
    """Knobs of one training run; tests shrink them to seconds."""

    epochs: int = 25
    patience: int = 4
    min_label_count: int = 10
    dropout: float = 0.2
    batch_size: int = 32
    seed: int = 0
    max_seconds: float | None = None
    limit_per_file: int | None = None


@dataclass
class TrainingData:
    """Examples by split, and where they came from."""

    examples: list[AveExample]
    sources: list[dict[str, Any]] = field(default_factory=list)

    def split(self, name: str) -> list[AveExample]:
        return [example for example in self.examples if example.split == name]


def collect_training_data(
    ave_dir: Path | None,
    catalog_examples: Sequence[AveExample] = (),
    catalog_name: str = "catalog",
    limit_per_file: int | None = None,
) -> TrainingData:
    """AVE train files under ``ave_dir`` plus distant-supervision examples, deduplicated."""
    seen: set[str] = set()
    data = TrainingData([])

    def add(examples: Iterable[AveExample], source: dict[str, Any]) -> None:
        kept = 0
        for example in examples:
            if example.uid not in seen:
                seen.add(example.uid)
                data.examples.append(example)
                kept += 1
        data.sources.append({**source, "examples": kept})

    if ave_dir is not None:
        files = list(ave_training_files(ave_dir))
        if not files:
            raise ExtractionError(f"no */train*.jsonl AVE files under {ave_dir}")
        for path, data_format in files:
            examples = read_ave(path, data_format, limit=limit_per_file)
            add(examples, {"path": str(path), "format": data_format, "sha256": file_sha256(path)})
    if catalog_examples:
        add(catalog_examples, {"catalog": catalog_name, "format": "catalog"})
    if not data.examples:
        raise ExtractionError("no training examples: give AVE data or a catalog with attributes")
    return data


def training_labels(data: TrainingData, min_count: int) -> tuple[list[str], Counter[str]]:
    """The attributes with at least ``min_count`` spans in the fit split, and every count;
    an error when there is nothing (or no validation split) to train on."""
    fit, val = data.split("fit"), data.split("val")
    counts = Counter(label for example in fit for _, _, label in example.spans())
    labels = sorted(label for label, n in counts.items() if n >= min_count)
    if not labels or not val:
        raise ExtractionError(
            f"too little training data ({len(fit)} fit, {len(val)} validation examples, "
            f"no attribute with {min_count}+ spans); lower --min-label-count"
        )
    return labels, counts


def train_extractor(
    output_dir: Path,
    data: TrainingData,
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] = log.info,
) -> dict[str, Any]:
    """Train, pick the best epoch on the validation split, save model + manifest; the manifest."""
    from spacy.training import Example
    from spacy.util import filter_spans
    from thinc.api import fix_random_seed

    config = config or TrainingConfig()
    started = time.monotonic()
    fix_random_seed(config.seed)
    fit, val = data.split("fit"), data.split("val")
    labels, counts = training_labels(data, config.min_label_count)
    nlp = blank_pipeline()
    tagger = nlp.add_pipe("tagger")
    for label in labels:
        tagger.add_label(f"B-{label}")
        tagger.add_label(f"I-{label}")
    tagger.add_label("O")

    def to_example(example: AveExample) -> Any:
        doc = nlp.make_doc(example.text)
        spans = sorted(example.spans(labels), key=lambda s: -counts[s[2]])
        aligned = [
            span
            for start, end, label in spans
            if (span := doc.char_span(start, end, label, alignment_mode="strict"))
        ]
        tags = ["O"] * len(doc)
        for span in filter_spans(aligned):
            for i in range(span.start, span.end):
                tags[i] = f"{'B' if i == span.start else 'I'}-{span.label_}"
        return Example.from_dict(doc, {"tags": tags})

    train_examples = [to_example(example) for example in fit]
    nlp.initialize(lambda: train_examples[:1000])
    rng = random.Random(config.seed)  # noqa: S311 - shuffling, not secrets
    best: tuple[float, bytes, dict[str, Any]] | None = None
    stale = 0
    for epoch in range(1, config.epochs + 1):
        rng.shuffle(train_examples)
        losses: dict[str, float] = {"tagger": 0.0}
        for start in range(0, len(train_examples), config.batch_size):
            batch = train_examples[start : start + config.batch_size]
            nlp.update(batch, drop=config.dropout, losses=losses)
        scores = span_scores(nlp, val, labels)
        progress(f"epoch {epoch}: loss {losses['tagger']:.1f}, validation F1 {scores['f1']:.3f}")
        if best is None or scores["f1"] > best[0]:
            best, stale = (scores["f1"], nlp.to_bytes(), scores), 0
        else:
            stale += 1
        out_of_time = config.max_seconds is not None
        out_of_time = out_of_time and time.monotonic() - started > (config.max_seconds or 0)
        if stale >= config.patience or out_of_time:
            break
    assert best is not None
    nlp.from_bytes(best[1])
    manifest = training_manifest(data, config, labels, counts, SPACY_ARCHITECTURE)
    manifest.update(
        {
            "label_precision": best[2]["label_precision"],
            "validation": {k: v for k, v in best[2].items() if k != "label_precision"},
            "epochs": epoch,
            "training_seconds": round(time.monotonic() - started, 1),
        }
    )
    save_model_dir(output_dir, lambda staging: nlp.to_disk(staging / "model"), manifest, data)
    from extraction.evaluate import dev_scores

    manifest["dev"] = dev_scores(output_dir, data.split("dev"))
    (output_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def span_scores(nlp: Any, examples: Sequence[AveExample], labels: Sequence[str]) -> dict[str, Any]:
    """Span-level micro P/R/F1 and per-label precision on character spans."""
    gold = [set(example.spans(labels)) for example in examples]
    from extraction.tagger import decode_bio

    predicted = [
        {(span.start_char, span.end_char, span.label_) for span, _ in decode_bio(doc)}
        for doc in nlp.pipe([example.text for example in examples], batch_size=128)
    ]
    tp = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    n_pred, n_gold = sum(map(len, predicted)), sum(map(len, gold))
    per_label: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g, p in zip(gold, predicted, strict=True):
        for span in p:
            per_label[span[2]][0] += span in g
            per_label[span[2]][1] += 1
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        # smoothed so a label seen once is not "certain": (hits + 1) / (predicted + 2)
        "label_precision": {
            label: round((hit + 1) / (n + 2), 4) for label, (hit, n) in sorted(per_label.items())
        },
    }


def training_manifest(
    data: TrainingData,
    config: Any,
    labels: list[str],
    counts: Counter[str],
    architecture: str,
) -> dict[str, Any]:
    """What every extractor's manifest says: version, data, labels and the schemas."""
    trained = data.split("fit") + data.split("val")
    digest = hashlib.sha256()
    for uid in sorted(example.uid for example in trained):
        digest.update(uid.encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    by_format: dict[str, set[str]] = defaultdict(set)
    by_category: dict[str, set[str]] = defaultdict(set)
    for example in trained:
        by_format[example.data_format].update(example.gold)
        by_category[f"{example.data_format}\t{example.category}"].update(example.gold)
    return {
        "name": "shopkg.attribute_tagger",
        "version": f"{VERSION_PREFIX[architecture]}.{digest.hexdigest()[:10]}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "architecture": architecture,
        "training_data": data.sources,
        "examples": {s: len(data.split(s)) for s in ("fit", "val", "dev")},
        "config": asdict(config),
        "labels": labels,
        "label_counts": {label: counts[label] for label in labels},
        "schemas": {
            "by_format": {k: sorted(v) for k, v in sorted(by_format.items())},
            "by_category": {k: sorted(v) for k, v in sorted(by_category.items())},
        },
    }


def save_model_dir(
    output_dir: Path,
    write_model: Callable[[Path], None],
    manifest: dict[str, Any],
    data: TrainingData,
) -> None:
    """Write a model directory whole or not at all: the model (by ``write_model`` into the
    staging directory), the training split's dictionary and text hashes, the manifest."""
    trained = data.split("fit") + data.split("val")
    dictionary: dict[str, Counter[str]] = defaultdict(Counter)
    for example in trained:
        for attribute, values in example.gold.items():
            for value in values:
                dictionary[value.strip().lower()][attribute] += 1
    staging = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    write_model(staging)
    (staging / DICTIONARY).write_text(
        json.dumps({v: dict(c) for v, c in sorted(dictionary.items())}), encoding="utf-8"
    )
    (staging / TRAIN_HASHES).write_text(
        "\n".join(sorted(example.uid for example in trained)), encoding="utf-8"
    )
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)
