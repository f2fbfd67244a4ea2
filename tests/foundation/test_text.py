"""The one tokenizer: each named option set cuts text exactly as its callers always have.

Built indexes (the graph's full-text index, the BM25 files) and every evaluation depend on
these exact tokens, so the expected lists below were taken from the two tokenizers this one
replaced (``kg.validation.tokens`` and ``retrieval.evidence.tokens``) and must not change.
"""

from __future__ import annotations

import pytest

from foundation.text import NAME_WORDS, SEARCH_TERMS, STOPWORDS, Tokenization, tokens

TRICKY = {
    "accents": "Café crème BRÛLÉE",
    "apostrophes": "Men's don't l'été 'quoted'",
    "decimals": "2.5 kg, 3.0L, v1.2.3 and .5 or 5.",
    "underscores": "batteries_included: { value:false }",
    "cjk": "防水 靴 ブーツ 3人",
    "case": "STRAẞE Straße ΣΊΣΥΦΟΣ İstanbul",
    "plurals_and_stopwords": "boots Glasses dress shoes is this the",
    "ligatures_and_spacing": "ﬁne  \t tabs\nnew-line   x²",
    "empty": "",
}

NAME_WORDS_BEFORE = {
    "accents": ["café", "crème", "brûlée"],
    "apostrophes": ["men", "s", "don", "t", "l", "été", "quoted"],
    "decimals": ["2", "5", "kg", "3", "0l", "v1", "2", "3", "and", "5", "or", "5"],
    "underscores": ["batteries", "included", "value", "false"],
    "cjk": ["防水", "靴", "ブーツ", "3人"],
    "case": ["strasse", "strasse", "σίσυφοσ", "i", "stanbul"],
    "plurals_and_stopwords": ["boots", "glasses", "dress", "shoes", "is", "this", "the"],
    "ligatures_and_spacing": ["fine", "tabs", "new", "line", "x²"],
    "empty": [],
}
SEARCH_TERMS_BEFORE = {
    "accents": ["caf", "cr", "br", "l", "e"],
    "apostrophes": ["men'", "don't", "l", "t", "quoted"],
    "decimals": ["2.5", "kg", "3.0l", "v1.2.3", "5", "5"],
    "underscores": ["batterie", "included", "value", "false"],
    "cjk": ["3"],
    "case": ["stra", "e", "stra", "e", "stanbul"],
    "plurals_and_stopwords": ["boot", "glasse", "dress", "shoe"],
    "ligatures_and_spacing": ["ne", "tab", "new", "line", "x"],
    "empty": [],
}


@pytest.mark.parametrize("case", sorted(TRICKY))
def test_name_words_are_the_graph_index_words_they_always_were(case: str) -> None:
    assert tokens(TRICKY[case], NAME_WORDS) == NAME_WORDS_BEFORE[case]


@pytest.mark.parametrize("case", sorted(TRICKY))
def test_search_terms_are_the_keyword_terms_they_always_were(case: str) -> None:
    assert tokens(TRICKY[case], SEARCH_TERMS) == SEARCH_TERMS_BEFORE[case]


def test_ascii_terms_keep_stop_words_and_plurals_unless_asked() -> None:
    plain = Tokenization(ascii_only=True)
    assert tokens("The boots, 2.5 kg", plain) == ["the", "boots", "2.5", "kg"]
    assert tokens("The boots", Tokenization(ascii_only=True, drop_stopwords=True)) == ["boots"]
    assert tokens("The boots", Tokenization(ascii_only=True, strip_plural_s=True)) == [
        "the",
        "boot",
    ]


def test_stop_words_are_dropped_before_plurals_are_stripped() -> None:
    assert "thi" not in STOPWORDS and "this" in STOPWORDS
    assert tokens("this bass runs", SEARCH_TERMS) == ["bass", "run"]
