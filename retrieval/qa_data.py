"""Product-QA evidence-ranking data: ePQA, hetPQA and semiPQA files as questions with candidates.

Each question comes with the candidate evidence of its product and a relevance label per
candidate (ePQA: 0 irrelevant, 1 partly, 2 answers it; hetPQA and semiPQA: 0 or 1). The dev
split is deterministic (a hash of the question id), so training never sees dev questions.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from foundation.errors import RetrievalError

FORMATS = ("epqa", "hetpqa", "semipqa")
SOURCE_NAMES = {
    "attribute": "attribute",
    "bullet": "bullet",
    "description": "description",
    "desc": "description",
    "osp": "description",  # hetPQA's on-site publications: editorial text about the product
    "review": "review",
    "cqa": "qa",
    "qa": "qa",
}


@dataclass(frozen=True)
class Candidate:
    text: str
    source: str  # attribute, bullet, description, review, qa
    label: int


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    product: str | None
    candidates: tuple[Candidate, ...]

    @property
    def max_label(self) -> int:
        return max((c.label for c in self.candidates), default=0)


def read_questions(path: Path, data_format: str) -> list[Question]:
    """The questions of an evidence-ranking file, candidates in file order."""
    if data_format not in FORMATS:
        raise RetrievalError(f"unknown QA format {data_format!r}; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise RetrievalError(f"QA data file {path} not found")
    delimiter = "," if data_format == "epqa" else "\t"
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        needed = {"qid", "question", "candidate", "label"}
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise RetrievalError(
                f"{path} lacks the column(s) {sorted(missing)}; is it a {data_format} "
                "evidence-ranking file?"
            )
        grouped: dict[str, tuple[str, str | None, list[Candidate]]] = {}
        for number, row in enumerate(reader, start=2):
            try:
                label = int(row["label"])
            except (TypeError, ValueError) as e:
                raise RetrievalError(
                    f"{path}:{number}: label {row['label']!r} is not a number"
                ) from e
            source = SOURCE_NAMES.get((row.get("source") or "attribute").strip().lower())
            if source is None:
                raise RetrievalError(f"{path}:{number}: unknown evidence source {row['source']!r}")
            entry = grouped.setdefault(row["qid"], (row["question"], row.get("ASIN"), []))
            entry[2].append(Candidate(row["candidate"].strip(), source, label))
    return [
        Question(qid, text, product, tuple(candidates))
        for qid, (text, product, candidates) in grouped.items()
    ]


def is_dev(qid: str, dev_share: float = 0.5) -> bool:
    """Whether a question belongs to the dev half: a stable hash, the same on every machine."""
    digest = hashlib.sha256(qid.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < dev_share


def split(
    questions: Iterable[Question], dev_share: float = 0.5
) -> tuple[list[Question], list[Question]]:
    """``(train, dev)`` by :func:`is_dev`."""
    train: list[Question] = []
    dev: list[Question] = []
    for question in questions:
        (dev if is_dev(question.qid, dev_share) else train).append(question)
    return train, dev


def default_files(root: Path) -> dict[str, Path]:
    """The evidence-ranking files of ``../shared/data/pqa`` by format."""
    return {
        "epqa": root / "ePQA" / "dev.csv",
        "hetpqa": root / "hetPQA" / "evidence_ranking" / "dev.csv",
        "semipqa": root / "semiPQA" / "attribute_ranking" / "dev.csv",
    }


def texts_of(questions: Sequence[Question]) -> list[str]:
    """Every question and candidate text, for encoding in one go."""
    out: list[str] = []
    for question in questions:
        out.append(question.text)
        out.extend(candidate.text for candidate in question.candidates)
    return out
