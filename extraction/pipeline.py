"""Assembling the extraction pipeline from its config, and running it over catalog records.

:func:`build_pipeline` reads ``pipeline.cfg`` (shipped in this package, or one you pass),
fills in the tagger's model directory and the KG entries, checks the order of the steps and
returns an :class:`ExtractionPipeline`. :meth:`ExtractionPipeline.extract` turns one record
into :class:`~extraction.facts.RecordFacts` and never raises for a bad record: the error is
kept on the facts and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog.schema import CatalogRecord, explain
from extraction import components
from extraction.facts import RecordFacts
from extraction.record_facts import facts_from_doc
from extraction.textnorm import customize_tokenizer
from foundation.errors import ExtractionError

DEFAULT_CONFIG = Path(__file__).with_name("pipeline.cfg")
TAGGER_STEP = "shopkg_attribute_tagger_v1"
SECTION_ORDER = ("title", "description", "bullets", "reviews", "qa")


@dataclass
class ExtractionReport:
    """Counts of one run: every record is either extracted or failed, with reasons."""

    extracted: int = 0
    failed: int = 0
    warnings: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def count(self, facts: RecordFacts) -> None:
        if facts.error is None:
            self.extracted += 1
        else:
            self.failed += 1
            kind = facts.error.split(":", 1)[0]
            self.reasons[kind] = self.reasons.get(kind, 0) + 1
        self.warnings += len(facts.warnings)


def build_pipeline(
    entries: Sequence[components.DictionaryEntry] = (),
    model_dir: Path | None = None,
    config_path: Path = DEFAULT_CONFIG,
    steps: Sequence[str] | None = None,
) -> ExtractionPipeline:
    """The pipeline of ``config_path``; without ``model_dir`` the tagger step is left out.

    ``steps`` keeps only the named steps (in config order), e.g. ``["normalizer"]``.
    """
    import spacy
    from spacy.util import load_config

    config = load_config(config_path)
    names = list(config["nlp"]["pipeline"])
    for name in names:
        if config["components"][name]["factory"] == TAGGER_STEP:
            if model_dir is not None:
                config["components"][name]["model_dir"] = str(model_dir)
            elif not config["components"][name].get("model_dir"):
                names.remove(name)
    if steps is not None:
        unknown = set(steps) - set(config["nlp"]["pipeline"])
        if unknown:
            raise ExtractionError(f"no step(s) {sorted(unknown)} in {config_path}")
        names = [name for name in names if name in steps]
    nlp = customize_tokenizer(spacy.blank(config["nlp"].get("lang", "en")))
    for name in names:
        settings = dict(config["components"][name])
        factory = settings.pop("factory")
        try:
            nlp.add_pipe(factory, name=name, config=settings)
        except (ValueError, KeyError) as e:
            raise ExtractionError(f"cannot add pipeline step {name!r} ({factory}): {e}") from e
    components.check_order(nlp)
    pipeline = ExtractionPipeline(nlp)
    pipeline.add_entries(entries)
    return pipeline


class ExtractionPipeline:
    """A checked spaCy pipeline plus the record → facts step."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self.report = ExtractionReport()

    @property
    def steps(self) -> list[str]:
        return list(self.nlp.pipe_names)

    def add_entries(self, entries: Sequence[components.DictionaryEntry]) -> None:
        """Give the dictionary matcher (and the need patterns) the KG's entries."""
        for _, step in self.nlp.pipeline:
            if isinstance(step, components.DictionaryMatcher):
                step.add_entries(entries)
            elif isinstance(step, components.NeedFinderComponent):
                step.extend_lexicon(entries)

    def doc(self, record: CatalogRecord) -> Any:
        """The processed Doc of one record (raises on failure; :meth:`extract` does not)."""
        return self.nlp(self._raw_doc(record))

    def _raw_doc(self, record: CatalogRecord) -> Any:
        fields = record.text_fields()
        return components.sections_doc(
            self.nlp,
            record.id,
            [(name, fields[name]) for name in SECTION_ORDER],
            record.category[-1] if record.category else "",
        )

    def extract(self, record: CatalogRecord | Mapping[str, Any]) -> RecordFacts:
        """Facts of one record; a record that fails gets ``error`` set, never an exception."""
        checked = self._checked(record)
        if isinstance(checked, RecordFacts):
            facts = checked
        else:
            try:
                facts = facts_from_doc(checked, self.doc(checked))
            except Exception as e:  # one bad record must not stop a catalog
                facts = _failed(checked, e)
        self.report.count(facts)
        return facts

    def extract_many(
        self, records: Iterable[CatalogRecord | Mapping[str, Any]], batch_size: int = 64
    ) -> Iterator[RecordFacts]:
        """Facts of each record, in order, as :meth:`extract` gives them.

        Records go through spaCy in batches (``nlp.pipe``: the tagger tags a batch in one
        model call); a batch in which a step raises is redone record by record, so only the
        record at fault fails.
        """
        iterator = iter(records)
        while batch := list(islice(iterator, batch_size)):
            yield from self._extract_batch(batch)

    def _extract_batch(self, batch: list[CatalogRecord | Mapping[str, Any]]) -> list[RecordFacts]:
        checked = [self._checked(record) for record in batch]
        valid = [record for record in checked if isinstance(record, CatalogRecord)]
        try:
            docs = iter(
                self.nlp.pipe((self._raw_doc(r) for r in valid), batch_size=max(1, len(valid)))
            )
            results: list[RecordFacts] = []
            for record in checked:
                if isinstance(record, RecordFacts):
                    results.append(record)
                    continue
                doc = next(docs)
                try:
                    results.append(facts_from_doc(record, doc))
                except Exception as e:  # one bad record must not stop a catalog
                    results.append(_failed(record, e))
        except Exception:  # a step failed on some record of the batch: find which, alone
            results = []
            for record in checked:
                if isinstance(record, RecordFacts):
                    results.append(record)
                    continue
                try:
                    results.append(facts_from_doc(record, self.doc(record)))
                except Exception as e:
                    results.append(_failed(record, e))
        for facts in results:
            self.report.count(facts)
        return results

    @staticmethod
    def _checked(record: CatalogRecord | Mapping[str, Any]) -> CatalogRecord | RecordFacts:
        """The record validated, or the facts of an invalid record (with ``error`` set)."""
        if isinstance(record, CatalogRecord):
            return record
        record_id = str(record.get("id", "?")) if isinstance(record, Mapping) else "?"
        try:
            return CatalogRecord.model_validate(record)
        except ValidationError as e:
            return RecordFacts(record_id, error=f"invalid record: {explain(e)}")


def _failed(record: CatalogRecord, error: Exception) -> RecordFacts:
    return RecordFacts(record.id, error=f"extraction failed: {type(error).__name__}: {error}")
