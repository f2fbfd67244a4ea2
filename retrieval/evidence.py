"""Ranking evidence for a product question: BM25, dense similarity and a learned fusion.

The same ranker serves the assistant (rank an item's attributes, bullets, description
sentences, reviews, Q&A and KG facts for a shopper's question) and ``shopkg eval qa``. Each
channel's score is kept on the result, so an answer can say why it rests on a piece of
evidence. The fusion is a logistic regression over per-question normalized channel scores and
the evidence's source, trained on labelled evidence (:mod:`retrieval.qa_train`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from foundation.errors import RetrievalError
from foundation.text import SEARCH_TERMS, tokens

SOURCES = ("attribute", "bullet", "description", "review", "qa", "kg")
_YES_NO = re.compile(r"^(is|are|does|do|did|can|could|will|would|should|has|have|was|were)\b")
RANKER_VERSION = "1"


class Embedder(Protocol):
    """What the ranker needs of a text encoder: unit vectors for a list of texts."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class Evidence:
    """A piece of product information a question might be answered from."""

    text: str
    source: str
    ref: str = ""  # where it came from, e.g. "attribute:colour" or "review:3"


@dataclass(frozen=True)
class ScoredEvidence:
    evidence: Evidence
    score: float  # probability-like: the fused model's estimate that this answers
    channels: dict[str, float] = field(default_factory=dict)


def readable(evidence: Evidence) -> str:
    """Attribute candidates like ``'batteries_included: { value:false }'`` as plain text."""
    if evidence.source != "attribute":
        return evidence.text
    from catalog.readers import parse_attribute

    parsed = parse_attribute(evidence.text)
    if parsed is None:
        return evidence.text.replace("_", " ")
    name, value = parsed
    return f"{name}: {', '.join(value) if isinstance(value, list) else value}"


def attribute_name(evidence: Evidence) -> str:
    if evidence.source != "attribute":
        return ""
    return readable(evidence).split(":", 1)[0]


class Bm25Scorer:
    """BM25 (the ``bm25s`` library) over a background corpus; scores any subset of it."""

    def __init__(self, corpus: Sequence[str]) -> None:
        import bm25s

        self._position = {text: i for i, text in enumerate(dict.fromkeys(corpus))}
        self._model = bm25s.BM25()
        documents = [tokens(text, SEARCH_TERMS) or ["∅"] for text in self._position]
        self._model.index(documents, show_progress=False)

    def scores(self, query: str, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        query_tokens = [t for t in tokens(query, SEARCH_TERMS) if t in self._model.vocab_dict]
        if not query_tokens:
            return np.zeros(len(texts))
        all_scores = self._model.get_scores(query_tokens)
        out = np.zeros(len(texts))
        for i, text in enumerate(texts):
            position = self._position.get(text)
            if position is None:
                raise RetrievalError("BM25 asked to score a text outside its corpus")
            out[i] = all_scores[position]
        return out


FEATURES = (
    "bm25_z",
    "bm25_ratio",
    "dense",
    "dense_z",
    "name_dense",
    "name_overlap",
    "log_length",
    *(f"source_{s}" for s in SOURCES),
    *(f"yes_no_{s}" for s in SOURCES),
)


def question_features(
    question: str,
    evidence: Sequence[Evidence],
    bm25: npt.NDArray[np.float64],
    dense: npt.NDArray[np.float64],
    name_dense: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """One row of :data:`FEATURES` per evidence, normalized within this question's set."""
    rows = np.zeros((len(evidence), len(FEATURES)))
    question_tokens = set(tokens(question, SEARCH_TERMS))
    yes_no = bool(_YES_NO.match(question.strip().lower()))
    column = {name: i for i, name in enumerate(FEATURES)}
    rows[:, column["bm25_z"]] = _zscore(bm25)
    rows[:, column["bm25_ratio"]] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    rows[:, column["dense"]] = dense
    rows[:, column["dense_z"]] = _zscore(dense)
    rows[:, column["name_dense"]] = name_dense
    for i, item in enumerate(evidence):
        name_tokens = set(tokens(attribute_name(item), SEARCH_TERMS))
        if name_tokens:
            rows[i, column["name_overlap"]] = len(name_tokens & question_tokens) / len(name_tokens)
        rows[i, column["log_length"]] = math.log1p(len(tokens(readable(item), SEARCH_TERMS)))
        source = item.source if item.source in SOURCES else "description"
        rows[i, column[f"source_{source}"]] = 1.0
        rows[i, column[f"yes_no_{source}"]] = float(yes_no)
    return rows


def _zscore(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if len(values) < 2:
        return np.zeros_like(values)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


@dataclass
class FusionModel:
    """Logistic regression weights over :data:`FEATURES` (standardized)."""

    weights: npt.NDArray[np.float64]
    bias: float
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def beats_dense(self) -> bool:
        """Whether training showed this fusion ranking better than dense similarity on
        product-QA files it never saw (see :func:`retrieval.qa_train.train_ranker`); a ranker
        trained before that check counts as not shown."""
        return bool(self.meta.get("beats_dense", False))

    def predict(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        logits = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        document = {
            "kind": "shopkg-qa-ranker",
            "version": RANKER_VERSION,
            "features": list(FEATURES),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "meta": self.meta,
        }
        (directory / "ranker.json").write_text(json.dumps(document, indent=2))

    @classmethod
    def load(cls, directory: Path) -> FusionModel:
        path = directory / "ranker.json"
        if not path.is_file():
            raise RetrievalError(
                f"no trained QA ranker at {path}; train one with `shopkg train qa-ranker`"
            )
        document = json.loads(path.read_text())
        if document.get("kind") != "shopkg-qa-ranker" or document.get("features") != list(FEATURES):
            raise RetrievalError(
                f"{path} was trained with other features (ranker v{document.get('version')}); "
                "retrain with `shopkg train qa-ranker`"
            )
        return cls(
            np.asarray(document["weights"]),
            float(document["bias"]),
            np.asarray(document["mean"]),
            np.asarray(document["scale"]),
            dict(document.get("meta", {})),
        )


BUNDLED_RANKER = Path(__file__).resolve().parent / "models" / "qa-ranker"


def load_fusion(models_dir: Path) -> FusionModel:
    """The ranker trained into ``models_dir/qa-ranker``, else the one shipped with ShopKG.

    The shipped ``ranker.json`` is what ``shopkg train qa-ranker`` wrote from the public
    product-QA sets (its ``meta`` names the files and their SHA-256): 19 weights, no data.
    """
    trained = models_dir / "qa-ranker"
    if (trained / "ranker.json").is_file():
        return FusionModel.load(trained)
    return FusionModel.load(BUNDLED_RANKER)


def fit_fusion(
    rows: npt.NDArray[np.float64],
    labels: npt.NDArray[np.float64],
    *,
    l2: float = 1e-2,
    steps: int = 400,
    learning_rate: float = 0.5,
) -> FusionModel:
    """L2-regularized logistic regression by full-batch gradient descent (deterministic)."""
    if len(rows) == 0 or labels.min() == labels.max():
        raise RetrievalError("the QA ranker needs both relevant and irrelevant examples")
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    x = (rows - mean) / scale
    positive = labels.mean()
    sample_weight = np.where(labels > 0, 0.5 / positive, 0.5 / (1 - positive))
    weights = np.zeros(x.shape[1])
    bias = 0.0
    for _ in range(steps):
        predictions = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        error = (predictions - labels) * sample_weight
        weights -= learning_rate * (x.T @ error / len(x) + l2 * weights)
        bias -= learning_rate * float(error.mean())
    return FusionModel(weights, bias, mean, scale)


class EvidenceRanker:
    """Ranks evidence for a question with BM25, dense similarity and, when trained, fusion."""

    def __init__(self, embedder: Embedder, fusion: FusionModel | None = None) -> None:
        self.embedder = embedder
        self.fusion = fusion

    def warm(self, evidence: Sequence[Evidence]) -> None:
        """Encode ``evidence`` ahead of a question (an embedder that remembers keeps it)."""
        self.embedder.embed(_embedded_texts(evidence))

    def channels(
        self, question: str, evidence: Sequence[Evidence], bm25: Bm25Scorer | None = None
    ) -> dict[str, npt.NDArray[np.float64]]:
        """Each channel's raw scores for ``evidence``."""
        texts = [readable(item) for item in evidence]
        if bm25 is None:
            bm25 = Bm25Scorer(texts)
        vectors = self.embedder.embed([question, *_embedded_texts(evidence)]).astype(np.float64)
        q, docs, name_vectors = vectors[0], vectors[1 : 1 + len(texts)], vectors[1 + len(texts) :]
        name_dense = np.where([bool(attribute_name(e)) for e in evidence], name_vectors @ q, 0.0)
        return {"bm25": bm25.scores(question, texts), "dense": docs @ q, "name_dense": name_dense}

    def rank(
        self, question: str, evidence: Sequence[Evidence], bm25: Bm25Scorer | None = None
    ) -> list[ScoredEvidence]:
        """``evidence`` best first, with the fused score and each channel's score."""
        if not evidence:
            return []
        channels = self.channels(question, evidence, bm25)
        if self.fusion is None:
            fused = channels["dense"]
        else:
            rows = question_features(
                question, evidence, channels["bm25"], channels["dense"], channels["name_dense"]
            )
            fused = self.fusion.predict(rows)
        order = sorted(range(len(evidence)), key=lambda i: (-fused[i], i))
        return [
            ScoredEvidence(
                evidence[i],
                float(fused[i]),
                {name: float(values[i]) for name, values in channels.items()},
            )
            for i in order
        ]


def _embedded_texts(evidence: Sequence[Evidence]) -> list[str]:
    """What the dense channels encode of ``evidence``: each readable text, then each name."""
    texts = [readable(item) for item in evidence]
    return texts + [attribute_name(item) or "∅" for item in evidence]
