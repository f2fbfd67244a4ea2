"""The trained attribute-value tagger: loading, prediction and its manifest.

The model is a spaCy pipeline with one ``tagger`` over BIO tags (``B-brand``, ``I-brand``, ``O``)
trained from scratch by :mod:`extraction.training`; labels are attribute names (lowercased).
It lives in ``<models_dir>/extractor`` as ``model/`` plus ``manifest.json`` (version, training
data, label set, per-label precision, dev scores) and ``dictionary.json`` (the training
split's values, for the dictionary baseline). A span's confidence is the mean probability the
tagger gave its tags.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation.errors import ExtractionError

MANIFEST = "manifest.json"
DICTIONARY = "dictionary.json"
TRAIN_HASHES = "train_hashes.txt"
TAGGER_NAME = "shopkg.attribute_tagger"


@dataclass(frozen=True)
class AttributeMention:
    """A value the tagger found: attribute, surface text, character offsets, confidence."""

    attribute: str
    text: str
    start_char: int
    end_char: int
    confidence: float


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The manifest of a trained extractor's directory, or a clear error."""
    path = model_dir / MANIFEST
    if not path.is_file():
        raise ExtractionError(
            f"no trained extractor at {model_dir} (no {MANIFEST}); "
            "run `shopkg train extractor` first"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ExtractionError(f"{path} is not an extractor manifest: {e}") from e
    if not isinstance(manifest, dict):
        raise ExtractionError(f"{path} is not an extractor manifest: not a JSON object")
    return manifest


class TrainedTagger:
    """What every trained tagger says of itself from its manifest: its version, provenance
    name and the attributes its training data knows per category."""

    name = TAGGER_NAME
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def extractor(self) -> str:
        """The provenance name of this model: ``<name>@<version>``."""
        return f"{self.name}@{self.version}"

    def allowed_attributes(self, data_format: str, category: str) -> set[str] | None:
        """The attributes the training data knows for a category (else format), or None."""
        schemas = self.manifest.get("schemas", {})
        by_category = schemas.get("by_category", {}).get(f"{data_format}\t{category}")
        if by_category:
            return set(by_category)
        by_format = schemas.get("by_format", {}).get(data_format)
        return set(by_format) if by_format else None


class AttributeTagger(TrainedTagger):
    """A loaded attribute tagger. Use :meth:`load`; the constructor does no I/O."""

    def __init__(self, nlp: Any, manifest: dict[str, Any]) -> None:
        self.nlp = nlp
        self.manifest = manifest
        self.precision: dict[str, float] = dict(manifest.get("label_precision", {}))
        self._tags: list[tuple[str, str]] | None = None  # (B/I/O, attribute) per tag id
        self._embedder: TokenEmbeddings | None = None

    @classmethod
    def load(cls, model_dir: Path) -> AttributeTagger:
        """Load a tagger saved by ``shopkg train extractor``."""
        manifest = read_manifest(model_dir)
        import spacy

        from extraction import textnorm  # noqa: F401 - the tokenizer rules load with the model

        try:
            nlp = spacy.load(model_dir / "model")
        except (OSError, ValueError) as e:
            raise ExtractionError(f"cannot load the extractor model in {model_dir}: {e}") from e
        return cls(nlp, manifest)

    @property
    def labels(self) -> list[str]:
        return list(self.manifest["labels"])

    def predict(self, text: str, allowed: Collection[str] | None = None) -> list[AttributeMention]:
        """Values found in one text; ``allowed`` restricts the attributes reported."""
        return next(iter(self.pipe([text], allowed)))

    def pipe(
        self, texts: Iterable[str], allowed: Collection[str] | None = None, batch_size: int = 64
    ) -> Iterator[list[AttributeMention]]:
        """Values found in each text, in order."""
        from itertools import islice

        iterator = iter(texts)
        while batch := list(islice(iterator, batch_size)):
            for mentions in self.mentions(list(self.nlp.tokenizer.pipe(batch))):
                yield [m for m in mentions if allowed is None or m.attribute in allowed]

    def extract(
        self, texts: Sequence[str], formats: Sequence[str], categories: Sequence[str]
    ) -> list[list[AttributeMention]]:
        """Values found in each text (this model reads neither format nor category)."""
        return list(self.pipe(texts))

    def mentions(self, docs: Sequence[Any]) -> list[list[AttributeMention]]:
        """Values in tokenized Docs (or :class:`DocPrefix` es), one model call for all.

        The Docs must come from this model's tokenizer or one equal to it (see
        :meth:`shares_tokenizer`); character offsets are those of each Doc's text.
        """
        tagger = self.nlp.get_pipe("tagger")
        if self._tags is None:
            self._tags = [
                (kind, label) for kind, _, label in (t.partition("-") for t in tagger.labels)
            ]
        found: list[list[AttributeMention]] = [[] for _ in docs]
        nonempty = [i for i, doc in enumerate(docs) if len(doc)]
        if nonempty:
            if self._embedder is None:
                self._embedder = TokenEmbeddings(tagger.model)
            scores = self._embedder.predict([docs[i] for i in nonempty])
            for i, doc_scores in zip(nonempty, scores, strict=True):
                found[i] = _decode(
                    docs[i],
                    doc_scores.argmax(axis=1).tolist(),
                    _top_probability(doc_scores),
                    self._tags,
                )
        return found

    def shares_tokenizer(self, nlp: Any) -> bool:
        """Whether ``nlp`` splits text into the same tokens with the same features as this
        model's own pipeline, so its Docs can be tagged without tokenizing them again."""
        ours, theirs = self.nlp, nlp
        return bool(
            ours.lang == theirs.lang
            and not ours.vocab.lookups.tables
            and not theirs.vocab.lookups.tables
            and ours.tokenizer.to_bytes(exclude=["vocab"])
            == theirs.tokenizer.to_bytes(exclude=["vocab"])
        )

    def tag(self, texts: Iterable[str], batch_size: int = 64) -> Iterator[Any]:
        """Docs with BIO tags set and each tag's probability in ``user_data``."""
        from itertools import islice

        tagger = self.nlp.get_pipe("tagger")
        iterator = iter(texts)
        while batch := list(islice(iterator, batch_size)):
            docs = list(self.nlp.tokenizer.pipe(batch))
            nonempty = [doc for doc in docs if len(doc)]
            if nonempty:
                scores = tagger.model.predict(nonempty)
                guesses = [s.argmax(axis=1) for s in scores]
                tagger.set_annotations(nonempty, guesses)
                for doc, s in zip(nonempty, scores, strict=True):
                    doc.user_data["tag_probabilities"] = _top_probability(s)
            yield from docs


class TokenEmbeddings:
    """The tagger's model with its first stage remembered per token.

    spaCy's ``HashEmbedCNN`` tagger first embeds every token from its own features alone
    (NORM, PREFIX, SUFFIX, SHAPE → hash embeddings → maxout → layer norm), then mixes
    neighbours in the CNN. That first stage is a function of the four feature hashes, so it
    is computed once per distinct feature tuple and looked up after; the CNN and the softmax
    run as before. A model of any other shape is run as it is.
    """

    EMBED = "extract_features>>list2ragged>>with_array(", ")>>ragged2list"

    def __init__(self, model: Any, max_entries: int = 100_000) -> None:
        self.model = model
        self.cache: dict[tuple[int, ...], Any] = {}
        self.max_entries = max_entries
        self.staged = False
        try:
            tok2vec, self.output = model.layers
            embed, self.encode = tok2vec.layers
            extract, _, self.features, self.mix, _ = embed.layers
            self.columns = extract.attrs["columns"]
            self.features, self.mix = self.features.layers[0], self.mix.layers[0]
            self.staged = embed.name.startswith(self.EMBED[0]) and embed.name.endswith(
                self.EMBED[1]
            )
        except (ValueError, KeyError, IndexError, AttributeError):
            self.staged = False

    def predict(self, docs: Sequence[Any]) -> list[Any]:
        """The model's scores for each Doc (or :class:`DocPrefix`)."""
        if not self.staged:
            return list(self.model.predict(docs))
        import numpy as np

        features = [doc.to_array(self.columns) for doc in docs]
        keys = [tuple(row) for array in features for row in array.tolist()]
        cache = self.cache
        missing = list(dict.fromkeys(key for key in keys if key not in cache))
        if missing:
            if len(cache) + len(missing) > self.max_entries:
                cache.clear()
            rows = self.features.ops.asarray2i(np.asarray(missing, dtype="uint64"), dtype="uint64")
            vectors = self.mix.predict(self.features.predict(rows))
            cache.update(zip(missing, vectors, strict=True))
        stacked = np.stack([cache[key] for key in keys])
        lengths = [len(array) for array in features]
        embedded = np.split(stacked, np.cumsum(lengths)[:-1])
        return list(self.output.predict(self.encode.predict(embedded)))


class DocPrefix:
    """The first ``length`` tokens of a Doc, as the tagger's feature extractor reads them.

    Tagging a prefix this way copies nothing (spaCy's ``Span.to_array`` would do, but it
    takes attribute IDs only and the feature extractor passes names).
    """

    def __init__(self, doc: Any, length: int) -> None:
        self.doc = doc
        self.length = length

    def __len__(self) -> int:
        return self.length

    def to_array(self, columns: Any) -> Any:
        return self.doc.to_array(columns)[: self.length]


def _top_probability(scores: Any) -> list[float]:
    """Softmax probability of each row's best tag (spaCy's tagger outputs raw scores)."""
    import numpy as np

    array = np.asarray(scores, dtype="float64")
    shifted = np.exp(array - array.max(axis=1, keepdims=True))
    top: list[float] = (1.0 / shifted.sum(axis=1)).tolist()
    return top


def _decode(
    doc: Any, guesses: list[int], probabilities: list[float], tags: list[tuple[str, str]]
) -> list[AttributeMention]:
    """Mentions from one Doc's (or prefix's) tag ids, read as :func:`decode_bio` does."""
    from spacy.attrs import IDX, LENGTH

    base = doc.doc if isinstance(doc, DocPrefix) else doc
    offsets = base.to_array([IDX, LENGTH]).tolist()
    mentions: list[AttributeMention] = []
    start, label = -1, ""

    def close(end: int) -> None:
        if start >= 0:
            confidence = float(sum(probabilities[start:end]) / (end - start))
            begin, last = offsets[start][0], offsets[end - 1]
            text = base[start:end].text
            stop = last[0] + last[1]
            mentions.append(AttributeMention(label, text, begin, stop, round(confidence, 4)))

    for i, tag_id in enumerate(guesses):
        kind, tag_label = tags[tag_id]
        if kind == "I" and start >= 0 and tag_label == label:
            continue
        close(i)
        start, label = (i, tag_label) if kind in ("B", "I") and tag_label else (-1, "")
    close(len(guesses))
    return mentions


def decode_bio(doc: Any) -> list[tuple[Any, float]]:
    """Spans from a doc's BIO tags, each with the mean probability of its tags.

    An ``I-x`` that does not continue an ``x`` span starts one: the tagger decides per token,
    so a missed ``B`` should not lose the value.
    """
    from spacy.tokens import Span

    probabilities = doc.user_data.get("tag_probabilities")
    spans: list[tuple[Any, float]] = []
    start, label = -1, ""

    def close(end: int) -> None:
        if start >= 0:
            confidence = 1.0
            if probabilities is not None:
                confidence = float(sum(probabilities[start:end]) / (end - start))
            spans.append((Span(doc, start, end, label=label), round(confidence, 4)))

    for i, token in enumerate(doc):
        tag = token.tag_
        kind, _, tag_label = tag.partition("-")
        if kind == "I" and start >= 0 and tag_label == label:
            continue
        close(i)
        start, label = (i, tag_label) if kind in ("B", "I") and tag_label else (-1, "")
    close(len(doc))
    return spans


def read_dictionary(model_dir: Path) -> dict[str, dict[str, int]]:
    """The training split's values: lowercased value → {attribute: count}."""
    path = model_dir / DICTIONARY
    if not path.is_file():
        raise ExtractionError(f"{path} is missing; retrain with `shopkg train extractor`")
    data: dict[str, dict[str, int]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def read_train_hashes(model_dir: Path) -> set[str]:
    """Hashes of the texts the model was trained (or early-stopped) on."""
    path = model_dir / TRAIN_HASHES
    if not path.is_file():
        return set()
    return set(path.read_text(encoding="utf-8").split())
