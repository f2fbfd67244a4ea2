"""The evidence ranker and its evaluation, with a small deterministic embedder."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from encoders.base import Encoded, EncoderManifest, TextEncoder, Vectors
from foundation.errors import RetrievalError
from foundation.text import SEARCH_TERMS, tokens
from retrieval.evidence import (
    Bm25Scorer,
    Evidence,
    EvidenceRanker,
    FusionModel,
    fit_fusion,
    load_fusion,
    readable,
)
from retrieval.qa_data import is_dev, read_questions, split
from retrieval.qa_train import (
    CachedEmbedder,
    _beats_dense,
    evaluate,
    ranking_metrics,
    train_ranker,
)


class HashingEmbedder:
    """Bag of hashed word tokens: similar wording → similar vectors (a real, tiny embedder)."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokens(text, SEARCH_TERMS):
                out[row, hashlib.sha256(token.encode()).digest()[0] % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-9), dtype=np.float32)


def _epqa_file(path: Path, questions: int = 40) -> Path:
    lines = ["qid,question,ASIN,candidate,source,qa_pair_id,title,label,answer"]
    for q in range(questions):
        colour = ["red", "blue", "green", "black"][q % 4]
        lines += [
            f'{q},"what colour is the kettle {q}?",A{q},"colour:  {{ value:""{colour}"" }}",'
            f"attribute,{q}1,Kettle,2,{colour}",
            f'{q},"what colour is the kettle {q}?",A{q},"holds 1.7 litres of water",'
            f"bullet,{q}2,Kettle,0,",
            f'{q},"what colour is the kettle {q}?",A{q},"boils fast and quietly",'
            f"review,{q}3,Kettle,0,",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_attribute_candidates_read_as_plain_text() -> None:
    assert readable(Evidence("batteries_included:  { value:false }", "attribute")) == (
        "batteries included: false"
    )
    assert readable(Evidence("keeps feet dry", "review")) == "keeps feet dry"


def test_bm25_scores_a_subset_of_its_corpus() -> None:
    corpus = ["waterproof hiking boot", "ceramic coffee mug", "boot laces"]
    scores = Bm25Scorer(corpus).scores("waterproof boots", ["boot laces", "waterproof hiking boot"])
    assert scores[1] > scores[0] > 0
    with pytest.raises(RetrievalError, match="outside its corpus"):
        Bm25Scorer(corpus).scores("boot", ["not in corpus"])


def test_ranking_metrics_count_only_answerable_questions() -> None:
    ranked = [[2, 0, 1], [0, 1, 2], [0, 0, 0]]
    assert ranking_metrics(ranked, 1) == {"p@1": 0.5, "mrr": 0.75, "questions": 2}
    assert ranking_metrics(ranked, 2) == {"p@1": 0.5, "mrr": pytest.approx(0.6667), "questions": 2}
    with pytest.raises(RetrievalError):
        ranking_metrics([[0, 0]], 1)


def test_the_dev_split_is_stable_and_disjoint(tmp_path: Path) -> None:
    questions = read_questions(_epqa_file(tmp_path / "e.csv"), "epqa")
    train, dev = split(questions)
    assert {q.qid for q in train}.isdisjoint({q.qid for q in dev})
    assert len(train) + len(dev) == len(questions) == 40
    assert all(is_dev(q.qid) for q in dev)
    assert questions[0].candidates[0].source == "attribute"


def test_fusion_learns_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(400, 19))
    labels = (rows[:, 2] + 0.1 * rng.normal(size=400) > 0).astype(float)
    model = fit_fusion(rows, labels)
    accuracy = ((model.predict(rows) > 0.5) == (labels > 0)).mean()
    assert accuracy > 0.9
    model.save(tmp_path)
    again = FusionModel.load(tmp_path)
    assert np.allclose(again.predict(rows), model.predict(rows))
    (tmp_path / "ranker.json").write_text('{"kind": "shopkg-qa-ranker", "features": ["x"]}')
    with pytest.raises(RetrievalError, match="other features"):
        FusionModel.load(tmp_path)
    with pytest.raises(RetrievalError, match="both relevant and irrelevant"):
        fit_fusion(rows, np.ones(400))


def test_a_trained_ranker_puts_the_answer_first_and_explains_channels(tmp_path: Path) -> None:
    data = _epqa_file(tmp_path / "e.csv")
    model = train_ranker(HashingEmbedder(), {"epqa": data})
    assert model.meta["trained_on"]["epqa"]["train_questions"] > 0
    ranked = EvidenceRanker(HashingEmbedder(), model).rank(
        "what colour is this kettle?",
        [Evidence("boils fast", "review"), Evidence('colour:  { value:"red" }', "attribute")],
    )
    assert ranked[0].evidence.source == "attribute"
    assert set(ranked[0].channels) == {"bm25", "dense", "name_dense"}
    assert 0.0 <= ranked[1].score <= ranked[0].score <= 1.0
    assert EvidenceRanker(HashingEmbedder(), model).rank("anything?", []) == []


def test_evaluation_measures_only_the_dev_half_of_a_file_it_trained_on(tmp_path: Path) -> None:
    data = _epqa_file(tmp_path / "e.csv")
    model = train_ranker(HashingEmbedder(), {"epqa": data})
    metrics = evaluate(HashingEmbedder(), model, data, "epqa")
    assert metrics["scope"].startswith("dev half")
    assert metrics["questions"] == len(split(read_questions(data, "epqa"))[1])
    assert metrics["fused"]["label>=2"]["p@1"] == 1.0
    assert set(metrics) >= {"fused", "bm25", "dense"}
    other = _epqa_file(tmp_path / "other.csv", questions=12)
    assert evaluate(HashingEmbedder(), model, other, "epqa")["scope"].startswith("all")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("qid\tquestion\n1\tq\n", "lacks the column"),
        ("qid\tquestion\tcandidate\tlabel\n1\tq\tc\tyes\n", "label 'yes' is not a number"),
        ("qid\tquestion\tcandidate\tlabel\tsource\n1\tq\tc\t1\tforum\n", "unknown evidence"),
    ],
)
def test_malformed_qa_files_are_reported(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(RetrievalError, match=expected):
        read_questions(path, "hetpqa")


def test_a_trained_ranker_takes_precedence_over_the_bundled_one(tmp_path: Path) -> None:
    bundled = load_fusion(tmp_path)
    assert set(bundled.meta["trained_on"]) == {"epqa", "hetpqa", "semipqa"}
    assert all(len(entry["sha256"]) == 64 for entry in bundled.meta["trained_on"].values())
    model = train_ranker(HashingEmbedder(), {"epqa": _epqa_file(tmp_path / "e.csv")})
    model.save(tmp_path / "qa-ranker")
    assert set(load_fusion(tmp_path).meta["trained_on"]) == {"epqa"}


def _held_out(*pairs: tuple[float, float]) -> dict[str, object]:
    return {
        f"file{i}": {"fused": {"p@1": fused}, "dense": {"p@1": dense}}
        for i, (fused, dense) in enumerate(pairs)
    }


def test_the_fusion_is_used_only_where_it_beat_dense_on_every_file_it_never_saw() -> None:
    assert _beats_dense(_held_out((0.79, 0.78), (0.72, 0.67), (0.85, 0.85)))
    # higher on average is not enough: one held-out file where it ranks worse vetoes it
    assert not _beats_dense(_held_out((0.79, 0.78), (0.72, 0.67), (0.845, 0.849)))
    assert not _beats_dense(_held_out((0.8, 0.8)))  # no better anywhere
    assert not _beats_dense({})  # never checked


def test_a_ranker_trained_on_one_file_has_no_held_out_check_and_is_not_used(
    tmp_path: Path,
) -> None:
    model = train_ranker(HashingEmbedder(), {"epqa": _epqa_file(tmp_path / "e.csv")})
    assert model.meta["held_out_files"] == {} and not model.beats_dense


def test_the_shipped_ranker_says_how_it_did_on_each_file_held_out_whole(
    tmp_path: Path,
) -> None:
    shipped = load_fusion(tmp_path)
    held_out = shipped.meta["held_out_files"]
    assert set(held_out) == {"epqa", "hetpqa", "semipqa"}
    assert all(held_out[f]["fused"]["questions"] > 300 for f in held_out)
    assert shipped.beats_dense == _beats_dense(held_out)


def test_the_evidence_cache_keeps_only_its_capacity() -> None:

    class Counting(TextEncoder):
        manifest = EncoderManifest("counting", "1", 2, "text")

        def __init__(self) -> None:
            self.calls = 0

        def encode(self, texts: Sequence[str]) -> Encoded:
            self.calls += len(texts)
            vectors = np.ones((len(texts), 2), dtype=np.float32)
            return Encoded(vectors, list(range(len(texts))), [])

        def _encode_texts(self, texts: list[str]) -> Vectors:
            raise NotImplementedError  # encode above answers every call

    encoder = Counting()
    embedder = CachedEmbedder(encoder, capacity=3)
    embedder.embed(["a", "b", "c"])
    embedder.embed(["a", "d"])  # "b", the least recently used, goes
    assert len(embedder) == 3 and encoder.calls == 4
    embedder.embed(["a", "c", "d"])
    assert encoder.calls == 4
    embedder.embed(["b"])
    assert encoder.calls == 5
