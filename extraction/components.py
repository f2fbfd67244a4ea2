"""ShopKG's spaCy components, registered by versioned name, with what each reads and writes.

Factory names are ``shopkg_<step>_v<N>`` (spaCy forbids dots in factory names). Each
factory declares ``requires``/``assigns`` on ``Doc`` extensions; :func:`check_order`
refuses a pipeline in which a step reads what no earlier step wrote (and one in which an
optional input is written only later), before any text runs through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.attrs import IDX
from spacy.language import Language
from spacy.tokens import Doc

from extraction.lexicons import NeedLexicon
from extraction.needs import NeedFinder
from extraction.textnorm import CachedTokenizer, normalize_text
from extraction.values import normalize_value
from foundation.errors import ExtractionError

EXTENSIONS = (
    "record_id",
    "plain_text",
    "sections",
    "normalized",
    "warnings",
    "entry_matches",
    "attribute_mentions",
    "values",
    "needs",
    "solves",
    "concept_candidates",
    "feature_phrases",
    "tagger_version",
    "category",
)
for _name in EXTENSIONS:
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)

# inputs a component uses when present: a step writing one must not come after it
OPTIONAL_READS: dict[str, tuple[str, ...]] = {
    "shopkg_value_normalizer_v1": ("doc._.attribute_mentions", "doc._.entry_matches"),
}
Section = tuple[str, int, int]


@dataclass(frozen=True)
class DictionaryEntry:
    """A KG entry the dictionary matcher looks for: label, key, and every name it goes by."""

    label: str
    key: str
    names: tuple[str, ...]
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EntryMatch:
    """A dictionary entry found in the text."""

    label: str
    key: str
    text: str
    start_char: int
    end_char: int
    section: str


@dataclass(frozen=True)
class ValueMention:
    """A normalized attribute value found in the text, and what found it."""

    attribute: str
    value: str
    unit: str | None
    raw: str
    start_char: int
    end_char: int
    confidence: float
    method: str


def doc_text(doc: Doc) -> str:
    """The Doc's text: kept as a string by the steps that make Docs (spaCy rebuilds
    ``doc.text`` from the tokens on every access)."""
    text = doc._.plain_text
    return str(text) if text is not None else str(doc.text)


def section_of(doc: Doc, char: int) -> str:
    for name, start, end in doc._.sections or ():
        if start <= char < end:
            return str(name)
    return "text"


@Language.factory(
    "shopkg_normalizer_v1",
    assigns=["doc._.normalized", "doc._.sections", "doc._.warnings", "doc._.plain_text"],
    default_config={"max_section_chars": 20_000},
)
def make_normalizer(nlp: Language, name: str, max_section_chars: int) -> TextNormalizer:
    return TextNormalizer(nlp, max_section_chars)


class TextNormalizer:
    """Rebuilds the Doc from normalized sections (HTML, entities, mojibake, NFC, spaces)."""

    def __init__(self, nlp: Language, max_section_chars: int) -> None:
        self.nlp = nlp
        self.max_section_chars = max_section_chars
        self.tokenize = CachedTokenizer(nlp.tokenizer)

    def __call__(self, doc: Doc) -> Doc:
        source = doc_text(doc)
        sections = doc._.sections or [("text", 0, len(source))]
        warnings = list(doc._.warnings or [])
        parts: list[tuple[str, str]] = []
        for section, start, end in sections:
            raw = source[start:end]
            if len(raw) > self.max_section_chars * 4:
                raw = raw[: self.max_section_chars * 4]
            text = normalize_text(raw)
            if len(text) > self.max_section_chars:
                warnings.append(f"{section} truncated from {len(text):,} characters")
                text = text[: self.max_section_chars]
            if text:
                parts.append((section, text))
        text = "\n\n".join(text for _, text in parts)
        new: Doc = self.tokenize(text)
        new._.plain_text = text
        offset, new_sections = 0, []
        for section, text in parts:
            new_sections.append((section, offset, offset + len(text)))
            offset += len(text) + 2
        new._.record_id = doc._.record_id
        new._.category = doc._.category
        new._.sections = new_sections
        new._.warnings = warnings
        new._.normalized = True
        return new


@Language.factory(
    "shopkg_dictionary_matcher_v1",
    requires=["doc._.normalized"],
    assigns=["doc._.entry_matches"],
)
def make_dictionary_matcher(nlp: Language, name: str) -> DictionaryMatcher:
    return DictionaryMatcher(nlp)


class DictionaryMatcher:
    """Finds names and aliases of KG entries (lowercase ``PhraseMatcher``), longest first."""

    def __init__(self, nlp: Language) -> None:
        from spacy.matcher import PhraseMatcher

        self.nlp = nlp
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.entries: dict[str, DictionaryEntry] = {}

    def add_entries(self, entries: Iterable[DictionaryEntry]) -> None:
        """Add entries (data passed in: brands, categories, values, concepts of the KG)."""
        for entry in entries:
            match_key = f"{entry.label}\x1f{entry.key}"
            self.entries[match_key] = entry
            names = sorted({n.strip() for n in entry.names if n.strip()})
            tokenizer: Any = self.nlp.tokenizer
            self.matcher.add(match_key, list(tokenizer.pipe(names)))

    def __call__(self, doc: Doc) -> Doc:
        from spacy.util import filter_spans

        found = self.matcher(doc, as_spans=False) if self.entries else []
        if not found:
            doc._.entry_matches = []
            return doc
        kept = {(span.start, span.end) for span in filter_spans([doc[s:e] for _, s, e in found])}
        matches = []
        for match_id, start, end in found:
            if (start, end) in kept:
                entry = self.entries[self.nlp.vocab.strings[match_id]]
                span = doc[start:end]
                matches.append(
                    EntryMatch(
                        entry.label,
                        entry.key,
                        span.text,
                        span.start_char,
                        span.end_char,
                        section_of(doc, span.start_char),
                    )
                )
        doc._.entry_matches = matches
        return doc


@Language.factory(
    "shopkg_attribute_tagger_v1",
    requires=["doc._.normalized", "doc._.sections"],
    assigns=["doc._.attribute_mentions", "doc._.tagger_version"],
    default_config={"model_dir": None, "max_chars": 2000, "read_as": "oa-mine"},
)
def make_attribute_tagger(
    nlp: Language, name: str, model_dir: str | None, max_chars: int, read_as: str
) -> AttributeTaggerComponent | MiniLMTaggerComponent:
    if not model_dir:
        raise ExtractionError(
            "the attribute tagger needs model_dir (train one with `shopkg train extractor`), "
            "or leave shopkg_attribute_tagger_v1 out of the pipeline"
        )
    from extraction.minilm_tagger import MiniLMTagger
    from extraction.value_taggers import load_value_tagger

    tagger = load_value_tagger(Path(model_dir))
    if isinstance(tagger, MiniLMTagger):
        return MiniLMTaggerComponent(tagger, max_chars, read_as)
    return AttributeTaggerComponent(nlp, tagger, max_chars)


def _tagged_limit(doc: Doc, max_chars: int) -> int:
    """How much of the Doc's text the tagger reads: title, description and bullets, the
    description and bullets cut ``max_chars`` after the title (0: nothing to read)."""
    sections = [s for s in doc._.sections or () if s[0] in ("title", "description", "bullets")]
    limit = min((end for _, _, end in sections[-1:]), default=0)
    if sections:
        limit = min(limit, sections[0][2] + max_chars)
    return limit


class MiniLMTaggerComponent:
    """Runs the MiniLM tagger over title, description and bullets; keeps the values whose
    calibrated confidence reaches the model's threshold. A batch of Docs is one call (their
    windows batched together); the record's category is read with the text.

    ``read_as`` is the training set whose conventions the tagger applies to catalog text
    (OA-Mine's by default: brand, gender, colour, size, material and the like, and its
    attribute set); the tagger reads ``"<read_as> <category>"`` before the text.
    """

    def __init__(self, tagger: Any, max_chars: int, read_as: str = "oa-mine") -> None:
        self.tagger = tagger
        self.max_chars = max_chars
        self.read_as = read_as

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterator[Doc]:
        from itertools import islice

        iterator = iter(docs)
        while batch := list(islice(iterator, batch_size)):
            texts = [doc_text(doc)[: _tagged_limit(doc, self.max_chars)] for doc in batch]
            read = [i for i, text in enumerate(texts) if text.strip()]
            found = self.tagger.extract(
                [texts[i] for i in read],
                [self.read_as] * len(read),
                [str(batch[i]._.category or "") for i in read],
            )
            by_doc = dict(zip(read, found, strict=True))
            for i, doc in enumerate(batch):
                mentions = by_doc.get(i, [])
                doc._.attribute_mentions = [
                    m for m in mentions if m.confidence >= self.tagger.threshold
                ]
                doc._.tagger_version = self.tagger.extractor
                yield doc


class AttributeTaggerComponent:
    """Runs the trained tagger over the title, description and bullets (first ``max_chars``).

    When the model's tokenizer equals the pipeline's (the usual case: both are ShopKG's), the
    tagger reads the pipeline's own tokens instead of tokenizing the text again; a batch of
    Docs is tagged in one model call.
    """

    def __init__(self, nlp: Language, tagger: Any, max_chars: int) -> None:
        self.nlp = nlp
        self.tagger = tagger
        self.max_chars = max_chars
        self.shares_tokens = bool(tagger.shares_tokenizer(nlp))

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterator[Doc]:
        from itertools import islice

        iterator = iter(docs)
        while batch := list(islice(iterator, batch_size)):
            inputs = [self._tagged_part(doc) for doc in batch]
            found = iter(self.tagger.mentions([part for part in inputs if part is not None]))
            for doc, part in zip(batch, inputs, strict=True):
                doc._.attribute_mentions = next(found) if part is not None else []
                doc._.tagger_version = self.tagger.extractor
                yield doc

    def _tagged_part(self, doc: Doc) -> Any:
        """The tokens of the text the tagger reads (``None``: nothing to read)."""
        limit = _tagged_limit(doc, self.max_chars)
        if not limit:
            return None
        text = doc_text(doc)
        if not self.shares_tokens:
            return self.tagger.nlp.make_doc(text[:limit])
        if limit >= len(text):
            return doc
        if text[limit - 1].isspace() == text[limit].isspace():
            # the limit cuts a word (or a run of spaces): tokenize that prefix as it reads
            return self.nlp.make_doc(text[:limit])
        # a clean cut: the tokens before it are the ones text[:limit] would give
        from extraction.tagger import DocPrefix

        return DocPrefix(doc, int(doc.to_array(IDX).searchsorted(limit)))


@Language.factory(
    "shopkg_value_normalizer_v1",
    requires=["doc._.normalized"],
    assigns=["doc._.values"],
)
def make_value_normalizer(nlp: Language, name: str) -> ValueNormalizer:
    return ValueNormalizer()


class ValueNormalizer:
    """Canonical values from the tagger's mentions and the dictionary's Value matches."""

    def __call__(self, doc: Doc) -> Doc:
        values: dict[tuple[str, str], ValueMention] = {}
        for mention in doc._.attribute_mentions or ():
            canonical = normalize_value(mention.text, mention.attribute)
            if canonical.text:
                value = ValueMention(
                    mention.attribute,
                    canonical.text,
                    canonical.unit,
                    mention.text,
                    mention.start_char,
                    mention.end_char,
                    mention.confidence,
                    "tagger",
                )
                key = (value.attribute, value.value)
                if key not in values or values[key].confidence < value.confidence:
                    values[key] = value
        for match in doc._.entry_matches or ():
            if match.label != "Value":
                continue
            attribute, _, raw_value = match.key.partition("=")
            canonical = normalize_value(raw_value, attribute)
            key = (attribute, canonical.text)
            if key not in values:
                values[key] = ValueMention(
                    attribute,
                    canonical.text,
                    canonical.unit,
                    match.text,
                    match.start_char,
                    match.end_char,
                    0.6,
                    "dictionary",
                )
        doc._.values = list(values.values())
        return doc


@Language.factory(
    "shopkg_need_finder_v1",
    requires=["doc._.normalized"],
    assigns=["doc._.needs", "doc._.solves", "doc._.feature_phrases"],
)
def make_need_finder(nlp: Language, name: str) -> NeedFinderComponent:
    return NeedFinderComponent(NeedFinder(nlp.vocab, NeedLexicon()))


class NeedFinderComponent:
    """POI, problem, scene and crowd mentions (see :mod:`extraction.needs`)."""

    def __init__(self, finder: NeedFinder) -> None:
        self.finder = finder

    def extend_lexicon(self, entries: Iterable[DictionaryEntry]) -> None:
        """Let the patterns know the KG's own POIs, problems, scenes and crowds."""
        pairs = [(entry.label, name) for entry in entries for name in entry.names]
        lexicon = self.finder.lexicon.extended(pairs)
        self.finder = NeedFinder(self.finder.vocab, lexicon)

    def __call__(self, doc: Doc) -> Doc:
        doc._.needs, doc._.solves, doc._.feature_phrases = self.finder.read(doc, own_names(doc))
        return doc


def own_names(doc: Doc) -> list[tuple[int, int]]:
    """Where ``doc`` names what its item is or has: its values found in the text, and its
    leaf category's name wherever the text says it ("… Wireless Earbuds, Pink")."""
    spans = [(value.start_char, value.end_char) for value in doc._.values or ()]
    category = " ".join(str(doc._.category or "").split())
    if " " in category or "-" in category:  # a one-word name holds no other name
        # matched in the text itself: lower-casing it first could move offsets ("İ")
        named = re.compile(re.escape(category), re.IGNORECASE)
        spans += [match.span() for match in named.finditer(doc_text(doc))]
    return spans


@Language.factory(
    "shopkg_concept_candidates_v1",
    requires=["doc._.normalized", "doc._.sections"],
    assigns=["doc._.concept_candidates"],
    default_config={"max_words": 4},
)
def make_concept_candidates(nlp: Language, name: str, max_words: int) -> ConceptCandidates:
    return ConceptCandidates(max_words)


class ConceptCandidates:
    """Head noun-phrase candidates of the title, scored later across the catalog."""

    def __init__(self, max_words: int) -> None:
        self.max_words = max_words

    def __call__(self, doc: Doc) -> Doc:
        from extraction.concepts import title_candidates

        title = next((s for s in doc._.sections or () if s[0] == "title"), None)
        span = doc.char_span(title[1], title[2], alignment_mode="expand") if title else None
        doc._.concept_candidates = title_candidates(span, self.max_words) if span else []
        return doc


def check_order(nlp: Language) -> None:
    """Raise :class:`ExtractionError` if a step reads what no earlier step writes."""
    assigned: set[str] = set()
    later: dict[str, str] = {}
    metas = [(name, nlp.get_pipe_meta(name)) for name in nlp.pipe_names]
    for name, meta in metas:
        for attr in meta.assigns:
            later.setdefault(attr, name)
    for name, meta in metas:
        missing = [attr for attr in meta.requires if attr not in assigned]
        if missing:
            writers = [later[attr] for attr in missing if attr in later]
            hint = f"move it after {', '.join(writers)}" if writers else "add a step that writes it"
            raise ExtractionError(f"pipeline step {name!r} needs {', '.join(missing)}: {hint}")
        for attr in OPTIONAL_READS.get(meta.factory, ()):
            writer = later.get(attr)
            if writer is not None and attr not in assigned:
                raise ExtractionError(
                    f"pipeline step {name!r} reads {attr}, written only later by {writer!r}; "
                    f"move {name!r} after {writer!r}"
                )
        assigned.update(meta.assigns)


def sections_doc(
    nlp: Language, record_id: str, sections: Sequence[tuple[str, str]], category: str = ""
) -> Doc:
    """A raw Doc of a record's text fields with their offsets, for the normalizer to read;
    ``category`` (the record's leaf category) is what the MiniLM tagger reads first."""
    parts = [(name, text) for name, text in sections if text]
    # no tokens, the text as a string: the normalizer tokenizes the cleaned text, so
    # tokenizing here (or making the whole text one vocabulary entry) is waste
    doc = Doc(nlp.vocab)
    doc._.plain_text = "\n\n".join(text for _, text in parts)
    offset, spans = 0, []
    for name, text in parts:
        spans.append((name, offset, offset + len(text)))
        offset += len(text) + 2
    doc._.record_id = record_id
    doc._.category = category
    doc._.sections = spans
    doc._.warnings = []
    return doc
