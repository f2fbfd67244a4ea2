"""The fast paths of the extraction pipeline give exactly what the plain paths give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spacy.attrs import IDX, NORM, ORTH, SHAPE, SPACY

from extraction.pipeline import build_pipeline
from extraction.tagger import AttributeTagger, TokenEmbeddings
from extraction.textnorm import CachedTokenizer, blank_pipeline

TEXTS = [
    "Acme Men's Trail Shoe, Navy,4 M US\n\nIt's waterproof; don't worry.\nNo more wet feet!",
    "I can't believe it: 500ml, 3pcs/lot (e.g. a.m. use) :) cannot dont im",
    "Kelto Rain Jacket 77, Grey, 12 M US\nGreat for hikers.\n\n\u00a0Lightweight",
    "x",
]


def test_the_cached_tokenizer_splits_exactly_as_spacy_does() -> None:
    plain = blank_pipeline().tokenizer
    cached = CachedTokenizer(blank_pipeline().tokenizer)
    columns = [ORTH, NORM, SPACY, IDX, SHAPE]
    for _ in range(2):  # first with the cache cold, then warm
        for text in TEXTS:
            doc = cached(text)
            assert doc.to_array(columns).tolist() == plain(text).to_array(columns).tolist()
            assert doc.text == text


def test_the_pipeline_tags_its_own_tokens_as_the_tagger_tags_text(tiny_model: Path) -> None:
    pipeline = build_pipeline(model_dir=tiny_model)
    tagger = AttributeTagger.load(tiny_model)
    assert pipeline.nlp.get_pipe("attribute_tagger").shares_tokens
    titles = ["Quellx Men's Sun Hat 999, Black, 9 M US", "Numa Men's Trail Boot 5, Red, 7 M US"]
    facts = list(pipeline.extract_many({"id": str(i), "title": t} for i, t in enumerate(titles)))
    for title, record in zip(titles, facts, strict=True):
        found = {(m.attribute, m.text) for m in tagger.predict(title)}
        values = record.relations_of("HAS_VALUE")
        raws = {(r.target[1].split("=")[0], r.properties["raw"]) for r in values}
        assert found and found <= raws


def test_cached_token_embeddings_change_no_score(tiny_model: Path) -> None:
    tagger = AttributeTagger.load(tiny_model)
    model = tagger.nlp.get_pipe("tagger").model
    embeddings = TokenEmbeddings(model)
    assert embeddings.staged
    docs = [tagger.nlp.make_doc(text) for text in TEXTS]
    for _ in range(2):
        for plain, cached in zip(model.predict(docs), embeddings.predict(docs), strict=True):
            assert np.array_equal(plain, cached)


def test_a_record_that_breaks_a_step_fails_alone_in_its_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = build_pipeline()
    finder = pipeline.nlp.get_pipe("need_finder").finder
    real_read = finder.read  # what the need-finder step calls per Doc

    def read(doc: object, names: object = ()) -> object:
        if "boom" in str(doc):
            raise RuntimeError("boom")
        return real_read(doc, names)

    monkeypatch.setattr(finder, "read", read)
    records = [{"id": str(i), "title": "boom mug" if i == 3 else f"Mug {i}"} for i in range(8)]
    results = list(pipeline.extract_many(records, batch_size=4))
    assert [r.source_record for r in results] == [str(i) for i in range(8)]
    assert [r.error is not None for r in results] == [i == 3 for i in range(8)]
    assert "RuntimeError: boom" in (results[3].error or "")
    assert pipeline.report.failed == 1 and pipeline.report.extracted == 7
