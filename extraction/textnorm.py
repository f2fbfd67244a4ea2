"""Text normalization before anything reads the text, and the tokenizer every step shares.

Catalog text arrives as HTML fragments, with entities, mojibake from a wrong decode, odd
whitespace and decomposed unicode. Normalizing first means the dictionary, the tagger and the
patterns all see the same clean text; the tokenizer tweak splits ``Navy,4`` and ``500ml`` so
values align with token boundaries in training and at run time alike.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

_TAG = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>|<!--.*?-->|<[^>]{0,2000}>", re.S | re.I)
_BLOCK_TAG = re.compile(r"<\s*/?\s*(br|p|div|li|ul|ol|tr|h[1-6])\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str) -> str:
    """HTML stripped and unescaped, mojibake fixed (ftfy), NFC, whitespace collapsed.

    Line breaks survive as single ``\\n`` because bullets and sentences end there.
    """
    if not text:
        return ""
    if "<" in text:
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        import ftfy

        text = ftfy.fix_text(text, normalization="NFC")
        text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


_EXTRA_INFIXES = (
    r"(?<=[A-Za-z\)]),(?=[A-Za-z0-9])",  # "Navy,4 M US" → "Navy , 4"
    r"(?<=[0-9]),(?=[A-Za-z])",
    r"(?<=[0-9])(?=[A-Za-z]{1,4}\b)",  # "500ml", "0.5L", "3pcs"
    r"(?<=[A-Za-z]{2})/(?=[A-Za-z0-9])",  # "pcs/lot"
)


def customize_tokenizer(nlp: Any) -> Any:
    """Add ShopKG's infix rules to a blank English pipeline's tokenizer (saved with it)."""
    from spacy.util import compile_infix_regex

    infixes = [*nlp.Defaults.infixes, *_EXTRA_INFIXES]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    return nlp


class CachedTokenizer:
    """spaCy's tokenizer with its chunk cache kept in use: same tokens, less work.

    spaCy caches how it split each whitespace-separated chunk, but stops saving to that cache
    for the rest of a text once any special case ("\\n", "don't", ...) occurred in it, and
    saves nothing past ``max_cache_size`` (10,000) chunks; on catalog text nearly every chunk
    is split again each time. Here each chunk not seen before is first tokenized on its own
    (where nothing earlier blocks the save), so tokenizing the whole text finds it cached. The
    Doc is still made by spaCy's tokenizer, from its own cache, exactly as before.
    """

    def __init__(self, tokenizer: Any, max_chunks: int = 200_000) -> None:
        self.tokenizer = tokenizer
        self.max_chunks = max_chunks
        tokenizer.max_cache_size = max(tokenizer.max_cache_size, 2 * max_chunks)
        self.seen: set[str] = set()

    def __call__(self, text: str) -> Any:
        if len(self.seen) < self.max_chunks:
            new = set(text.split()) - self.seen
            if new:
                self._cache(new)
                self.seen |= new
        return self.tokenizer(text)

    def _cache(self, chunks: set[str]) -> None:
        # plain words split no further and are no special case, so they can go in one call;
        # the rest (which may be or contain a special case) one by one
        rules = self.tokenizer.rules
        words = [chunk for chunk in chunks if chunk.isalpha() and chunk not in rules]
        if words:
            self.tokenizer(" ".join(words))
        for chunk in chunks.difference(words):
            self.tokenizer(chunk)


def blank_pipeline() -> Any:
    """A blank English spaCy pipeline with ShopKG's tokenizer."""
    import spacy

    return customize_tokenizer(spacy.blank("en"))
