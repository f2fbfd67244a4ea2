"""The searchable items as arrays: each item a row number, for fusion and constraints.

Search fuses thousands of candidates per query on a large catalog (a value or a concept
links up to 2,000 items per matched entry). Scored key by key in dicts that cost tens of
milliseconds at 100k items; over row numbers it is a few numpy operations: each channel
scatters its scores into a row-sized array, price constraints compare a price column, and a
negation masks the rows holding all its words (an inverted index of the words negations are
checked against: title, brand and values).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from foundation.text import SEARCH_TERMS, tokens

Rows = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


class ItemTable:
    """Row numbers, prices, key order and words of the items search may return."""

    def __init__(self, items: Mapping[str, Mapping[str, Any]]) -> None:
        self.keys: list[str] = list(items)
        self.rows: dict[str, int] = {key: row for row, key in enumerate(self.keys)}
        self.prices = np.array([_price(item.get("price")) for item in items.values()])
        # each row's place in key order: ties in fused score go to the smaller key
        self.key_rank = np.empty(len(self.keys), dtype=np.int64)
        self.key_rank[np.argsort(np.array(self.keys, dtype=object), kind="stable")] = np.arange(
            len(self.keys)
        )
        postings: dict[str, list[int]] = defaultdict(list)
        for row, item in enumerate(items.values()):
            for word in set(tokens(item_words(item), SEARCH_TERMS)):
                postings[word].append(row)
        self._word_rows = {word: np.array(rows, dtype=np.int64) for word, rows in postings.items()}
        # rows no channel may return any more (an admin deleted or merged the item)
        self.hidden: Mask = np.zeros(len(self.keys), dtype=bool)

    def __len__(self) -> int:
        return len(self.keys)

    def rows_of(self, keys: Iterable[str]) -> Rows:
        """The rows of ``keys`` that are items (others are left out), in the order given."""
        rows = self.rows
        return np.array([rows[key] for key in keys if key in rows], dtype=np.int64)

    def zeros(self) -> npt.NDArray[np.float64]:
        return np.zeros(len(self.keys))

    def within(self, mask: Mask, low: float | None, high: float | None) -> Mask:
        """``mask`` narrowed to items priced within [low, high] (unpriced items fall out)."""
        if low is not None:
            mask &= self.prices >= low  # NaN (no price) compares False
        if high is not None:
            mask &= self.prices <= high
        return mask

    def hide(self, key: str) -> None:
        """Leave ``key``'s row out of every result from now on (unknown keys: nothing)."""
        row = self.rows.get(key)
        if row is not None:
            self.hidden[row] = True

    def update(self, key: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """``key``'s row now holds ``after`` (was ``before``): its price and its words."""
        row = self.rows.get(key)
        if row is None:
            return
        self.prices[row] = _price(after.get("price"))
        old = set(tokens(item_words(before), SEARCH_TERMS))
        new = set(tokens(item_words(after), SEARCH_TERMS))
        one = np.array([row], dtype=np.int64)
        for word in old - new:
            self._word_rows[word] = np.setdiff1d(self._word_rows[word], one)
        for word in new - old:
            self._word_rows[word] = np.union1d(self._word_rows.get(word, one[:0]), one)

    def holding(self, words: frozenset[str]) -> Mask:
        """Rows whose words (title, brand, values) include every one of ``words``."""
        mask = np.zeros(len(self.keys), dtype=bool)
        found = [self._word_rows.get(word) for word in words]
        if not words or any(rows is None for rows in found):
            return mask
        ordered = sorted((rows for rows in found if rows is not None), key=len)
        common = ordered[0]
        for rows in ordered[1:]:
            common = np.intersect1d(common, rows, assume_unique=True)
        mask[common] = True
        return mask


def item_words(item: Mapping[str, Any]) -> str:
    """What a negation is checked against: title, brand and attribute values."""
    values = " ".join(f"{k} {v}" for k, v in (item.get("values") or {}).items())
    return " ".join([item.get("title") or "", item.get("brand") or "", values])


def _price(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)
