"""Query understanding: KG entries found in a query, price and other constraints, negations.

The entry dictionary is built from the KG (brands, categories, values, concepts, POIs,
problems, scenes, crowds and dictionary entries with their aliases), so what a query can be
understood to mean grows with the graph; nothing here lists products or answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from foundation.text import SEARCH_TERMS, tokens

DICTIONARY_LABELS = ("Brand", "Category", "Value", "Concept", "POI", "Problem", "Scene", "Crowd")
MAX_PHRASE_WORDS = 4

_NUMBER = r"\$?\s*(\d+(?:[.,]\d{1,2})?)\s*(?:\$|usd|dollars?|eur|€)?"
_PRICE_MAX = re.compile(rf"\b(?:under|below|less than|cheaper than|up to|at most|max)\s*{_NUMBER}")
_PRICE_MIN = re.compile(rf"\b(?:over|above|more than|at least|from|min)\s*{_NUMBER}")
_PRICE_RANGE = re.compile(rf"\bbetween\s*{_NUMBER}\s*(?:and|-|to)\s*{_NUMBER}")
# the words after a negation, as many as a KG phrase may have: the longest KG phrase among
# them is what is ruled out ("not long battery life"), the rest stays wanted. "non-" is no
# negation: "non-stick", "non-slip" name features a shopper wants.
_NEGATORS = r"(?:not|no|without|except)"
_NEGATION = re.compile(
    rf"\b{_NEGATORS}\s+((?!{_NEGATORS}\b)[a-z][a-z-]*(?:\s+(?!{_NEGATORS}\b)[a-z][a-z-]*){{0,3}})"
)


@dataclass(frozen=True)
class DictionaryEntry:
    """A phrase that names a KG node."""

    label: str
    key: str
    name: str
    attribute: str = ""  # for Value nodes


@dataclass
class EntityDictionary:
    """Phrase (folded word tuple) → the KG nodes it names."""

    phrases: dict[tuple[str, ...], list[DictionaryEntry]] = field(default_factory=dict)

    def add(self, phrase: str, entry: DictionaryEntry) -> None:
        words = tuple(tokens(phrase, SEARCH_TERMS))
        if not words or len(words) > MAX_PHRASE_WORDS:
            return
        found = self.phrases.setdefault(words, [])
        if entry not in found:
            found.append(entry)

    def __len__(self) -> int:
        return len(self.phrases)

    @classmethod
    def from_store(
        cls, store: object, labels: Iterable[str] = DICTIONARY_LABELS
    ) -> EntityDictionary:
        """Every name and alias of the given labels in the graph store."""
        dictionary = cls()
        for label in labels:
            for page in store.iter_nodes(label, batch_size=5000):  # type: ignore[attr-defined]
                for node in page:
                    props = node.properties
                    attribute = str(props.get("attribute") or "")
                    name = str(props.get("value") if label == "Value" else props.get("name") or "")
                    if not name:
                        continue
                    entry = DictionaryEntry(label, node.key, name, attribute)
                    dictionary.add(name, entry)
                    for alias in props.get("aliases") or []:
                        dictionary.add(str(alias), entry)
        return dictionary


@dataclass
class ParsedQuery:
    text: str  # the query without the constraint phrases
    entities: list[tuple[str, DictionaryEntry]] = field(default_factory=list)  # (span, entry)
    price_min: float | None = None
    price_max: float | None = None
    negations: list[str] = field(default_factory=list)
    negated: list[tuple[str, DictionaryEntry]] = field(default_factory=list)  # (span, entry)

    def constraints(self) -> dict[str, object]:
        found: dict[str, object] = {}
        if self.price_min is not None:
            found["price_min"] = self.price_min
        if self.price_max is not None:
            found["price_max"] = self.price_max
        for _, entry in self.entities:
            if entry.label == "Brand":
                found["brand"] = entry.name
            elif entry.label == "Value" and entry.attribute:
                found.setdefault(entry.attribute, entry.name)
        return found


def _amount(text: str) -> float:
    return float(text.replace(",", "."))


def parse_query(query: str, dictionary: EntityDictionary | None = None) -> ParsedQuery:
    """Constraints and KG entries of ``query``; negated phrases are not matched as wanted."""
    text = " ".join(query.lower().split())
    parsed = ParsedQuery(text)
    if match := _PRICE_RANGE.search(text):
        low, high = sorted((_amount(match.group(1)), _amount(match.group(2))))
        parsed.price_min, parsed.price_max = low, high
        text = text.replace(match.group(0), " ")
    if match := _PRICE_MAX.search(text):
        parsed.price_max = _amount(match.group(1))
        text = text.replace(match.group(0), " ")
    if match := _PRICE_MIN.search(text):
        parsed.price_min = _amount(match.group(1))
        text = text.replace(match.group(0), " ")
    kept = []
    position = 0
    for match in _NEGATION.finditer(text):
        span, rest = _negated_span(match.group(1).strip(), dictionary)
        if span:
            parsed.negations.append(span)
            if dictionary is not None:
                words = tuple(tokens(span, SEARCH_TERMS))
                parsed.negated += [(span, e) for e in dictionary.phrases.get(words, [])]
        kept += [text[position : match.start()], rest]  # "not waterproof jacket": a jacket
        position = match.end()
    kept.append(text[position:])
    parsed.text = " ".join(" ".join(kept).split())
    if dictionary is not None:
        parsed.entities = match_entities(parsed.text, dictionary)
    return parsed


def _negated_span(phrase: str, dictionary: EntityDictionary | None) -> tuple[str, str]:
    """What a negation rules out and what it leaves wanted: the longest KG phrase at the
    start of ``phrase`` ("not waterproof jacket": waterproof), else its first word."""
    words = phrase.split()
    if dictionary is not None:
        for n in range(len(words), 0, -1):
            if tuple(tokens(" ".join(words[:n]), SEARCH_TERMS)) in dictionary.phrases:
                return " ".join(words[:n]), " ".join(words[n:])
    return (words[0], " ".join(words[1:])) if words else ("", "")


def match_entities(text: str, dictionary: EntityDictionary) -> list[tuple[str, DictionaryEntry]]:
    """Longest-first phrase matches of dictionary entries over the query's words."""
    words = tokens(text, SEARCH_TERMS)
    found: list[tuple[str, DictionaryEntry]] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            entries = dictionary.phrases.get(tuple(words[i : i + n]))
            if entries:
                span = " ".join(words[i : i + n])
                found.extend((span, entry) for entry in entries)
                i += n
                break
        else:
            i += 1
    return found
