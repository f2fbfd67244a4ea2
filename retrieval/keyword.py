"""The keyword channel: BM25 (the ``bm25s`` library) over item text, saved beside the indexes.

Also the item table: the few fields search shows and filters on (title, price, brand,
category, key values, images), one JSON line per item, written by the build.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from catalog.schema import CatalogRecord
from foundation.errors import VectorIndexError
from foundation.text import NAME_WORDS, SEARCH_TERMS, STOPWORDS, tokens

KEY_VALUES = 4


def quiet_bm25s() -> Any:
    """The ``bm25s`` module, with the DEBUG level it sets on its logger at import undone."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class KeywordIndex:
    """BM25 over ``(key, text)`` documents; scores come back per key."""

    def __init__(self, keys: list[str], model: Any) -> None:
        self.keys = keys
        self._model = model

    @classmethod
    def build(cls, documents: Sequence[tuple[str, str]]) -> KeywordIndex:
        from bm25s.tokenization import Tokenized

        bm25s = quiet_bm25s()

        model = bm25s.BM25()
        corpus = [tokens(text, SEARCH_TERMS) or ["∅"] for _, text in documents]
        if corpus:
            # word ids in sorted order: bm25s numbers them in set order, which changes with
            # each process's string hashing; this way the same documents give the same files
            vocab = {word: i for i, word in enumerate(sorted({w for doc in corpus for w in doc}))}
            ids = [[vocab[word] for word in doc] for doc in corpus]
            model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls([key for key, _ in documents], model)

    def __len__(self) -> int:
        return len(self.keys)

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """A BM25 score per document (zeros when no query word is in the vocabulary)."""
        if not self.keys:
            return np.zeros(0)
        words = [w for w in tokens(query, SEARCH_TERMS) if w in self._model.vocab_dict]
        if not words:
            return np.zeros(len(self.keys))
        return np.asarray(self._model.get_scores(words), dtype=np.float64)

    def known_share(self, query: str) -> float:
        """Of the query's words (any script, stop words and numbers left out), the share the
        catalog's text has: 0 for "xyzzy qwertyuiop", "wasserdichte Wanderschuhe" or
        "青いTシャツ" (a word in another script is unknown even where it holds a "t"), 1 for
        a query whose every word the catalog says; 1 when it has no such words."""
        vocabulary = self._model.vocab_dict if self.keys else {}
        words = [
            word
            for word in tokens(query, NAME_WORDS)
            if word not in STOPWORDS and not word.isdigit()
        ]
        if not words:
            return 1.0
        known = 0
        for word in words:
            terms = tokens(word, SEARCH_TERMS) if word.isascii() else []
            known += bool(terms) and all(term in vocabulary for term in terms)
        return known / len(words)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self.keys:
            self._model.save(str(directory / "bm25"))
        (directory / "keys.json").write_text(json.dumps(self.keys))

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex:
        bm25s = quiet_bm25s()

        keys_file = directory / "keys.json"
        if not keys_file.is_file():
            raise VectorIndexError(f"no keyword index at {directory}; run `shopkg build` first")
        keys = json.loads(keys_file.read_text())
        model = bm25s.BM25.load(str(directory / "bm25")) if keys else bm25s.BM25()
        return cls(keys, model)


def item_row(record: CatalogRecord) -> dict[str, Any]:
    """The item table's row for ``record``."""
    values: dict[str, str] = {}
    for name, value in record.attributes.items():
        if len(values) >= KEY_VALUES:
            break
        values[name] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return {
        "key": record.id,
        "title": record.title,
        "price": float(record.price) if record.price is not None else None,
        "currency": record.currency,
        "brand": record.brand,
        "category": record.category,
        "values": values,
        "images": record.images,
    }


def load_items(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise VectorIndexError(f"no item table at {path}; run `shopkg build` first")
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {row["key"]: row for row in rows}
