"""The attribute-value taggers behind one interface, and loading the one a directory holds.

Two kinds exist: the MiniLM tagger (:mod:`extraction.minilm_tagger`, the default and the one
ShopKG ships) and the spaCy tagger trained from scratch (:mod:`extraction.tagger`, kept as the
baseline ``eval extraction`` compares against). The manifest's ``architecture`` says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from extraction.minilm_tagger import ARCHITECTURE, MiniLMTagger
from extraction.tagger import MANIFEST, AttributeMention, AttributeTagger, read_manifest

SHIPPED_EXTRACTOR = Path(__file__).resolve().parent / "models" / "extractor"


class ValueTagger(Protocol):
    """What the build and the evaluation need of a tagger."""

    @property
    def version(self) -> str: ...

    @property
    def extractor(self) -> str: ...

    def extract(
        self, texts: Sequence[str], formats: Sequence[str], categories: Sequence[str]
    ) -> list[list[AttributeMention]]: ...

    def allowed_attributes(self, data_format: str, category: str) -> set[str] | None: ...


def architecture_of(model_dir: Path) -> str:
    return str(read_manifest(model_dir).get("architecture", ""))


def load_value_tagger(model_dir: Path) -> MiniLMTagger | AttributeTagger:
    """The tagger saved in ``model_dir``, whichever kind it is."""
    if architecture_of(model_dir) == ARCHITECTURE:
        return MiniLMTagger.load(model_dir)
    return AttributeTagger.load(model_dir)


def extractor_dir(models_dir: Path) -> Path | None:
    """The extractor the build uses: one trained into the data directory, else the shipped
    one (``None`` when neither exists: the build then finds values by dictionary only)."""
    for candidate in (models_dir / "extractor", SHIPPED_EXTRACTOR):
        if (candidate / MANIFEST).is_file():
            return candidate
    return None
