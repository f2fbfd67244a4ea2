"""Word tokens of text: the one tokenizer every package uses, with its options named.

Two ways of cutting text into words are in use, and both are load-bearing: the graph's
full-text index and its name lookups (:data:`NAME_WORDS`) read words in any script, while the
BM25 keyword index, query understanding, item filters and QA evidence (:data:`SEARCH_TERMS`)
read ASCII terms without stop words and with a light plural stem. Built indexes and every
evaluation depend on the exact tokens, so the options reproduce each one exactly; pick one of
the two named sets rather than mixing options ad hoc.

(spaCy's tokenizer in :mod:`extraction.textnorm` is another thing: it splits a text into the
Doc the extraction pipeline annotates, with offsets, not into index terms.)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ANY_SCRIPT = re.compile(r"[^\W_]+")
_ASCII = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")

STOPWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads best as words
        "a an the and or of to in on for with at by from is are was were be been it this that "
        "these those does do did can could will would should i my me you your we our they them "
        "there what which who how as if but not no so than too very just any all has have had"
    ).split()
)
"""English function words :attr:`Tokenization.drop_stopwords` leaves out."""


@dataclass(frozen=True)
class Tokenization:
    """How :func:`tokens` cuts text into words.

    ``ascii_only`` False: runs of letters and digits of any script in the case-folded text
    (``str.casefold``: "Straße" → "strasse"); everything else separates words, so "2.5" gives
    "2", "5", "men's" gives "men", "s", and "batteries_included" two words.

    ``ascii_only`` True: runs of ASCII letters and digits in the lower-cased text
    (``str.lower``), where a ``.`` or ``'`` between two runs joins them ("2.5", "don't",
    "v1.2.3"); every other character separates, so accented letters and CJK split words or
    vanish ("café" → "caf").

    ``drop_stopwords``: leave out :data:`STOPWORDS`. ``strip_plural_s``: drop a final ``s``
    from words longer than three letters not ending in ``ss`` ("boots" → "boot", "glasses" →
    "glasse"), checked after the stop words.
    """

    ascii_only: bool = False
    drop_stopwords: bool = False
    strip_plural_s: bool = False


NAME_WORDS = Tokenization()
"""Words of names and queries in the graph: its full-text index and its name lookups."""
SEARCH_TERMS = Tokenization(ascii_only=True, drop_stopwords=True, strip_plural_s=True)
"""Terms of keyword search: BM25, query phrases, item word filters, QA evidence ranking."""


def tokens(text: str, how: Tokenization) -> list[str]:
    """The words of ``text``, cut as ``how`` says (see :class:`Tokenization`), in order."""
    if how.ascii_only:
        words: list[str] = _ASCII.findall(text.lower())
    else:
        words = _ANY_SCRIPT.findall(text.casefold())
    if not (how.drop_stopwords or how.strip_plural_s):
        return words
    out = []
    for word in words:
        if how.drop_stopwords and word in STOPWORDS:
            continue
        out.append(singular(word) if how.strip_plural_s else word)
    return out


def singular(word: str) -> str:
    """The light plural stem of :attr:`Tokenization.strip_plural_s`: a final ``s`` dropped
    from words longer than three letters not ending in ``ss`` ("kids" → "kid")."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def strip_accents(word: str) -> str:
    """``word`` without combining marks ("jäger" → "jager", "café" → "cafe"); letters
    without a decomposition ("中", "ø") stay as they are."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
