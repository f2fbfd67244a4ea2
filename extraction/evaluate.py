"""Evaluation of attribute-value extraction: micro P/R/F1, exact and normalized.

A prediction is an ``(attribute, value)`` pair per product; gold pairs exclude ``n/a``. Exact
match compares values with whitespace collapsed; normalized match compares the canonical forms
of :mod:`extraction.values` (case, units, number formats, sizes, colour spellings). Gold values
that never occur in the text still count as misses: the scores are what a user would see.
The dictionary baseline matches values seen in the training split, nothing else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from extraction.ave import AveExample, read_ave
from extraction.tagger import read_dictionary, read_train_hashes
from extraction.textnorm import blank_pipeline
from extraction.value_taggers import ValueTagger, load_value_tagger
from extraction.values import canonical
from foundation.errors import ExtractionError

Pairs = set[tuple[str, str]]


class DictionaryBaseline:
    """Finds training-split values in text with a lowercase PhraseMatcher."""

    def __init__(self, dictionary: dict[str, dict[str, int]]) -> None:
        from spacy.matcher import PhraseMatcher

        self.nlp = blank_pipeline()
        self.attributes = dictionary
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        values = [value for value in dictionary if len(value) >= 2]
        for start in range(0, len(values), 1000):
            chunk = values[start : start + 1000]
            self.matcher.add("VALUE", list(self.nlp.tokenizer.pipe(chunk)))

    def predict(self, text: str, allowed: set[str] | None) -> list[tuple[str, str]]:
        """``(attribute, surface value)`` for each longest dictionary match in ``text``."""
        from spacy.util import filter_spans

        doc = self.nlp.make_doc(text)
        spans = filter_spans([doc[s:e] for _, s, e in self.matcher(doc)])
        found = []
        for span in spans:
            counts = self.attributes.get(span.text.lower(), {})
            options = {a: n for a, n in counts.items() if allowed is None or a in allowed}
            if options:
                found.append((max(sorted(options), key=lambda a: options[a]), span.text))
        return found


def exact_value(value: str) -> str:
    return " ".join(value.split())


def score(golds: Sequence[Pairs], predictions: Sequence[Pairs]) -> dict[str, Any]:
    """Micro precision, recall and F1, overall and per attribute."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for gold, predicted in zip(golds, predictions, strict=True):
        for attribute, _ in gold & predicted:
            counts[attribute]["tp"] += 1
        for attribute, _ in predicted - gold:
            counts[attribute]["fp"] += 1
        for attribute, _ in gold - predicted:
            counts[attribute]["fn"] += 1
    total: Counter[str] = Counter()
    for attribute_counts in counts.values():
        total.update(attribute_counts)
    return {
        **_prf(total),
        "per_attribute": {attribute: _prf(c) for attribute, c in sorted(counts.items())},
    }


def _prf(c: Counter[str]) -> dict[str, Any]:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _both(golds: list[list[tuple[str, str]]], preds: list[list[tuple[str, str]]]) -> dict[str, Any]:
    exact = score(
        [{(a, exact_value(v)) for a, v in g} for g in golds],
        [{(a, exact_value(v)) for a, v in p} for p in preds],
    )
    normalized = score(
        [{(a, canonical(v, a)) for a, v in g} for g in golds],
        [{(a, canonical(v, a)) for a, v in p} for p in preds],
    )
    return {"exact": exact, "normalized": normalized}


def tagger_pairs(
    examples: Sequence[AveExample], tagger: ValueTagger
) -> list[list[tuple[str, str, float]]]:
    """Each example's ``(attribute, value, confidence)`` found by a tagger, inside the
    attributes the tagger's training data knows for the example's category."""
    found = tagger.extract(
        [ex.text for ex in examples],
        [ex.data_format for ex in examples],
        [ex.category for ex in examples],
    )
    pairs = []
    for example, mentions in zip(examples, found, strict=True):
        schema = tagger.allowed_attributes(example.data_format, example.category)
        pairs.append(
            [
                (m.attribute, m.text, m.confidence)
                for m in mentions
                if not schema or m.attribute in schema
            ]
        )
    return pairs


def evaluate_examples(
    examples: Sequence[AveExample],
    tagger: ValueTagger,
    baseline: DictionaryBaseline | None,
    others: dict[str, ValueTagger] | None = None,
) -> dict[str, Any]:
    """Model (and baseline) scores on examples, predictions limited to each one's schema.

    ``model`` is every value the tagger finds; ``model_at_threshold`` those at or above the
    confidence the build writes from (when the model has one). ``others`` are scored the same
    way in the same run (e.g. the previous spaCy tagger).
    """
    golds = [[(a, v) for a, values in ex.gold.items() for v in values] for ex in examples]
    found = tagger_pairs(examples, tagger)
    result: dict[str, Any] = {
        "records": len(examples),
        "model": _both(golds, [[(a, v) for a, v, _ in pairs] for pairs in found]),
    }
    threshold = getattr(tagger, "threshold", None)
    if threshold:
        kept = [[(a, v) for a, v, c in pairs if c >= threshold] for pairs in found]
        result["model_at_threshold"] = {"threshold": threshold, **_both(golds, kept)}
    for name, other in (others or {}).items():
        result[name] = _both(
            golds, [[(a, v) for a, v, _ in p] for p in tagger_pairs(examples, other)]
        )
    if baseline is not None:
        allowed = [tagger.allowed_attributes(ex.data_format, ex.category) for ex in examples]
        base_preds = [baseline.predict(ex.text, a) for ex, a in zip(examples, allowed, strict=True)]
        result["dictionary_baseline"] = _both(golds, base_preds)
    return result


def dev_scores(model_dir: Path, dev: Iterable[AveExample]) -> dict[str, Any]:
    """Per format: the model's and the baseline's micro F1 on the dev split (for the manifest)."""
    tagger = load_value_tagger(model_dir)
    baseline = DictionaryBaseline(read_dictionary(model_dir))
    by_format: dict[str, list[AveExample]] = defaultdict(list)
    for example in dev:
        by_format[example.data_format].append(example)
    summary = {}
    for data_format, examples in sorted(by_format.items()):
        result = evaluate_examples(examples, tagger, baseline)
        summary[data_format] = {
            "records": len(examples),
            **{
                f"{system}_{kind}_f1": result[system][kind]["f1"]
                for system in ("model", "dictionary_baseline")
                for kind in ("exact", "normalized")
            },
        }
    return summary


def evaluate_file(
    path: Path,
    data_format: str,
    model_dir: Path,
    split: str = "auto",
    baseline_tagger: Path | None = None,
) -> dict[str, Any]:
    """Scores on an AVE file. ``auto`` drops every text the model was trained on (so a train
    file is scored on its dev fifth and a held-out file in full); ``dev`` keeps the dev fifth;
    ``all`` keeps everything. ``baseline_tagger``: another model directory (the previous
    spaCy tagger) scored on the same records in the same run."""
    if split not in ("auto", "dev", "all"):
        raise ExtractionError(f"unknown split {split!r}; use auto, dev or all")
    examples = read_ave(path, data_format)
    tagger = load_value_tagger(model_dir)
    seen = read_train_hashes(model_dir) if split == "auto" else set()
    others: dict[str, ValueTagger] = {}
    if baseline_tagger is not None:
        seen |= read_train_hashes(baseline_tagger) if split == "auto" else set()
        others["previous_tagger"] = load_value_tagger(baseline_tagger)
    if split == "dev":
        kept = [example for example in examples if example.split == "dev"]
    else:
        kept = [example for example in examples if example.uid not in seen]
    if not kept:
        raise ExtractionError(f"no records of {path} left to evaluate (split {split!r})")
    result = evaluate_examples(kept, tagger, DictionaryBaseline(read_dictionary(model_dir)), others)
    return {
        "data": str(path),
        "format": data_format,
        "split": split,
        "records_in_file": len(examples),
        "excluded_as_trained_on": len(examples) - len(kept) if split != "dev" else None,
        "model_version": tagger.version,
        "extractor": tagger.extractor,
        "previous_tagger_extractor": (others["previous_tagger"].extractor if others else None),
        **result,
    }
