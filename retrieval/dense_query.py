"""The dense channel's query vector, with DictBERT-style knowledge from the KG entries named.

``mode`` picks how the entries a query names are used: ``none`` (the bare query), ``augment``
(their names appended to the text: input augmentation) or ``fusion`` (the trained injection
module of :mod:`retrieval.injection` fuses their gloss vectors into the query vector).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from encoders.base import TextEncoder, Vectors
from retrieval.injection import EntryGlossary, KnowledgeInjector, distinct_entries
from retrieval.query import ParsedQuery

# how the dense channel uses the KG entries a query names
KNOWLEDGE_MODES = ("none", "augment", "fusion")


@dataclass(frozen=True)
class KnowledgeUse:
    """One KG entry the dense channel read: its text and, for the fusion, its weight."""

    text: str
    weight: float  # attention x gate for the fusion; 1.0 for input augmentation


class DenseQuery:
    """Makes query vectors for the dense channel from a parsed query and the KG entries."""

    def __init__(
        self,
        encoder: TextEncoder | None,
        glossary: EntryGlossary,
        injector: KnowledgeInjector | None = None,
    ) -> None:
        self.encoder = encoder
        self.glossary = glossary
        self.injector: KnowledgeInjector | None = None
        self.mode = "augment"
        if injector is not None:
            self.use_injector(injector)
        self._entry_vectors: dict[str, npt.NDArray[np.float32]] = {}

    def use_injector(self, injector: KnowledgeInjector | None) -> None:
        """Fuse entries with ``injector`` from now on (None: back to input augmentation)."""
        if injector is not None and self.encoder is not None:
            injector.check_encoder(self.encoder.encoder_id)
        self.injector = injector
        self.mode = "fusion" if injector is not None else "augment"

    def augmented(self, parsed: ParsedQuery) -> str:
        """The query with the names of the KG entries it matched (input augmentation)."""
        extra = [entry.name for _, entry in parsed.entities if entry.name not in parsed.text]
        return " ".join([parsed.text, *extra]).strip()

    def vector(
        self, parsed: ParsedQuery, encode: Callable[[str], Vectors]
    ) -> tuple[Vectors | None, list[KnowledgeUse]]:
        """The query vector, one row (None for an empty query), and the knowledge in it;
        ``encode`` turns a text into its one-row vector."""
        mode = self.mode
        if mode not in KNOWLEDGE_MODES:
            raise ValueError(f"knowledge_mode {mode!r}; use one of {KNOWLEDGE_MODES}")
        if mode == "augment":
            text = self.augmented(parsed)
            added = [e.name for _, e in parsed.entities if e.name not in parsed.text]
            used = [KnowledgeUse(name, 1.0) for name in dict.fromkeys(added)]
            return (encode(text), used) if text else (None, [])
        if not parsed.text.strip():
            return None, []
        query = encode(parsed.text)
        if mode == "none" or self.injector is None:
            return query, []
        texts = self.glossary.texts(
            distinct_entries(parsed.entities), self.injector.config.max_entries
        )
        if not texts:
            return query, []
        injected = self.injector.inject(query[0], self.entry_vectors(texts))
        used = [
            KnowledgeUse(t, round(a * injected.gate, 4))
            for t, a in zip(texts, injected.attention, strict=True)
        ]
        return injected.vector[None, :], used

    def entry_vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of entry texts (remembered: the dictionary is finite)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._entry_vectors]
        if missing:
            vectors = self._encoder().encode(missing).full(len(missing))
            self._entry_vectors.update(zip(missing, vectors, strict=True))
        return np.stack([self._entry_vectors[t] for t in texts])

    def encode_one(self, text: str) -> Vectors:
        """One text's vector, as a one-row matrix."""
        return self._encoder().encode([text]).require_all()

    def _encoder(self) -> TextEncoder:
        assert self.encoder is not None, "dense queries need a text encoder"
        return self.encoder
