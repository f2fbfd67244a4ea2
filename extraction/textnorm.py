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


def blank_pipeline() -> Any:
    """A blank English spaCy pipeline with ShopKG's tokenizer."""
    import spacy

    return customize_tokenizer(spacy.blank("en"))
