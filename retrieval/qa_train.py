"""Training and evaluating the evidence ranker on the product-QA sets.

Training uses the train half (:func:`retrieval.qa_data.split`) of each evidence-ranking file
and records the files' SHA-256, so evaluating on one of those files automatically measures
only its dev half. Evaluation reports P@1 and MRR (relevant = label ≥ 1, and = 2 where the
format has that grade) for the trained fusion and, in the same run, for a BM25-only and a
dense-only baseline.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from foundation.errors import RetrievalError
from foundation.files import file_sha256
from retrieval.evidence import (
    Bm25Scorer,
    Embedder,
    Evidence,
    EvidenceRanker,
    FusionModel,
    fit_fusion,
    question_features,
    readable,
)
from retrieval.qa_data import Question, default_files, read_questions, split
from retrieval.vector_cache import DiskVectorCache

if TYPE_CHECKING:
    from encoders.base import TextEncoder


class CachedEmbedder:
    """Wraps a ShopKG :class:`~encoders.base.TextEncoder`; remembers the texts it encoded.

    ``capacity`` bounds how many vectors are kept (least recently used out first): a server
    answering questions about many items must not grow without end. ``None`` keeps all (a
    training run over a fixed set). Safe to share between threads; two threads missing the
    same text may both encode it.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        batch_size: int = 128,
        capacity: int | None = None,
        shared: DiskVectorCache | None = None,
    ) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.capacity = capacity
        self.shared = shared  # vectors other processes (or an earlier run) encoded
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        found: dict[str, npt.NDArray[np.float32]] = {}
        with self._lock:
            for text in dict.fromkeys(texts):
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing and self.shared is not None:
            found.update(self.shared.get_many(missing))
        encoded: dict[str, npt.NDArray[np.float32]] = {}
        for start in range(0, len(missing), self.batch_size):
            chunk = [t for t in missing[start : start + self.batch_size] if t not in found]
            if not chunk:
                continue
            vectors = self.encoder.encode(chunk).full(len(chunk))
            encoded.update(zip(chunk, vectors, strict=True))
        found.update(encoded)
        if encoded and self.shared is not None:
            self.shared.put_many(encoded)
        if missing:
            with self._lock:
                self._cache.update((t, found[t]) for t in missing)
                while self.capacity is not None and len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    def warm(self, texts: Sequence[str]) -> None:
        self.embed(list(texts))


def _evidence(question: Question) -> list[Evidence]:
    return [Evidence(c.text, c.source) for c in question.candidates]


def _corpus(questions: Sequence[Question]) -> Bm25Scorer:
    return Bm25Scorer([readable(e) for q in questions for e in _evidence(q)])


def feature_rows(
    ranker: EvidenceRanker, questions: Sequence[Question], bm25: Bm25Scorer
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    rows: list[npt.NDArray[np.float64]] = []
    labels: list[float] = []
    for question in questions:
        evidence = _evidence(question)
        channels = ranker.channels(question.text, evidence, bm25)
        rows.append(
            question_features(
                question.text, evidence, channels["bm25"], channels["dense"], channels["name_dense"]
            )
        )
        labels.extend(1.0 if c.label >= 1 else 0.0 for c in question.candidates)
    return np.vstack(rows), np.asarray(labels)


def train_ranker(
    embedder: Embedder, files: dict[str, Path], *, dev_share: float = 0.5
) -> FusionModel:
    """Fit the fusion on the train half of each file; the model's meta says what it saw.

    Before that, each file is held out whole in turn: a fusion fitted on the other files'
    train halves ranks every question of the held-out file, beside dense ranking alone. The
    meta records those figures and ``beats_dense``: whether the fusion ranked better than
    dense (P@1 at least as high on every held-out file, and higher on average). Where it did
    not, the assistant ranks by dense similarity (:attr:`FusionModel.beats_dense`).
    """
    ranker = EvidenceRanker(embedder)
    parts: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
    whole: dict[str, list[Question]] = {}
    seen: dict[str, Any] = {}
    for data_format, path in sorted(files.items()):
        questions = read_questions(path, data_format)
        train, _ = split(questions, dev_share)
        parts[data_format] = feature_rows(ranker, train, _corpus(questions))
        whole[data_format] = questions
        seen[data_format] = {
            "file": str(path),
            "sha256": file_sha256(path),
            "train_questions": len(train),
            "train_candidates": len(parts[data_format][1]),
        }
    held_out: dict[str, Any] = {}
    if len(parts) > 1:
        for data_format, questions in whole.items():
            others = [parts[f] for f in sorted(parts) if f != data_format]
            fusion = fit_fusion(
                np.vstack([rows for rows, _ in others]), np.concatenate([y for _, y in others])
            )
            rankings = _rankings(embedder, fusion, questions, _corpus(questions))
            held_out[data_format] = {
                name: ranking_metrics(ranked, 1) for name, ranked in rankings.items()
            }
    model = fit_fusion(
        np.vstack([rows for rows, _ in parts.values()]),
        np.concatenate([y for _, y in parts.values()]),
    )
    model.meta = {
        "trained_on": seen,
        "dev_share": dev_share,
        "held_out_files": held_out,
        "beats_dense": _beats_dense(held_out),
    }
    return model


def _beats_dense(held_out: dict[str, Any]) -> bool:
    """Whether the fusion ranked better than dense on files it never saw: P@1 never lower,
    and higher on average."""
    if not held_out:
        return False
    fused = [figures["fused"]["p@1"] for figures in held_out.values()]
    dense = [figures["dense"]["p@1"] for figures in held_out.values()]
    never_lower = all(f >= d for f, d in zip(fused, dense, strict=True))
    return never_lower and sum(fused) > sum(dense)


def _rankings(
    embedder: Embedder, fusion: FusionModel, questions: Sequence[Question], bm25: Bm25Scorer
) -> dict[str, list[list[int]]]:
    """Per ranker (fused, BM25, dense), each question's candidate labels in ranked order."""
    ranker = EvidenceRanker(embedder, fusion)
    rankings: dict[str, list[list[int]]] = {"fused": [], "bm25": [], "dense": []}
    for question in questions:
        evidence = _evidence(question)
        labels = [c.label for c in question.candidates]
        channels = ranker.channels(question.text, evidence, bm25)
        scores = {
            "bm25": channels["bm25"],
            "dense": channels["dense"],
            "fused": fusion.predict(
                question_features(
                    question.text,
                    evidence,
                    channels["bm25"],
                    channels["dense"],
                    channels["name_dense"],
                )
            ),
        }
        for name, values in scores.items():
            order = sorted(range(len(labels)), key=lambda i: (-values[i], i))
            rankings[name].append([labels[i] for i in order])
    return rankings


def evaluate(
    embedder: Embedder, fusion: FusionModel, path: Path, data_format: str
) -> dict[str, Any]:
    """Metrics of the fused ranker and both baselines on ``path`` (its dev half if trained on)."""
    questions = read_questions(path, data_format)
    digest = file_sha256(path)
    trained = {entry["sha256"]: entry for entry in fusion.meta.get("trained_on", {}).values()}
    if digest in trained:
        _, questions_eval = split(questions, float(fusion.meta.get("dev_share", 0.5)))
        scope = "dev half (the ranker was trained on the other half of this file)"
    else:
        questions_eval = questions
        scope = "all questions (the ranker never saw this file)"
    rankings = _rankings(embedder, fusion, questions_eval, _corpus(questions))
    grades = [1, 2] if data_format == "epqa" else [1]
    metrics: dict[str, Any] = {
        "format": data_format,
        "file": str(path),
        "scope": scope,
        "questions": len(questions_eval),
        "assistant_ranks_by": "fused" if fusion.beats_dense else "dense",
    }
    for name, ranked in rankings.items():
        metrics[name] = {f"label>={g}": ranking_metrics(ranked, g) for g in grades}
    return metrics


def ranking_metrics(ranked_labels: Sequence[Sequence[int]], grade: int) -> dict[str, float]:
    """P@1 and MRR over the questions that have at least one candidate of ``grade``."""
    precision, reciprocal, counted = 0.0, 0.0, 0
    for labels in ranked_labels:
        hits = [i for i, label in enumerate(labels) if label >= grade]
        if not hits:
            continue
        counted += 1
        precision += 1.0 if hits[0] == 0 else 0.0
        reciprocal += 1.0 / (hits[0] + 1)
    if counted == 0:
        raise RetrievalError(f"no question has a candidate with label >= {grade}")
    return {
        "p@1": round(precision / counted, 4),
        "mrr": round(reciprocal / counted, 4),
        "questions": counted,
    }


def shared_pqa_files(root: Path) -> dict[str, Path]:
    files = default_files(root)
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise RetrievalError(f"product-QA training files not found: {', '.join(missing)}")
    return files
