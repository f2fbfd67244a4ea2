"""Concept mining: head noun phrases of titles, scored across the catalog, with is-a links.

Without a parser the product type is found where titles put it: at the end of a title's first
segments (before a comma, dash, "with", "for" or a number), so "Acme Trail Running Shoes, Red"
yields "shoe", "running shoe", "trail running shoe". Across items a C-value score prefers
phrases that recur on their own over ones seen only inside a longer phrase; numbers, units
and stopwords never start or end a concept. Is-a comes from heads ("trail running shoe" IS_A
"running shoe" IS_A "shoe") and from category paths.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from extraction.lexicons import STOPWORDS, singular

SEPARATORS = frozenset({",", "-", "–", "—", "|", "(", ")", "[", "]", "/", ":", ";", "+", "&"})
BREAK_WORDS = frozenset({"with", "for", "by", "in", "from", "and", "or", "of", "to"})
MAX_SEGMENTS = 3


def title_candidates(title: Any, max_words: int = 4) -> list[str]:
    """Candidate phrases (lowercased, head made singular) ending each leading title segment."""
    segments: list[list[str]] = [[]]
    for token in title:
        word = token.lower_
        if token.is_space or word in SEPARATORS or word in BREAK_WORDS or not token.is_alpha:
            if segments[-1]:
                segments.append([])
            if len(segments) > MAX_SEGMENTS:
                break
            continue
        if token.is_alpha and len(word) > 1:
            segments[-1].append(word)
    found: list[str] = []
    for words in segments[:MAX_SEGMENTS]:
        while words and words[-1] in STOPWORDS:
            words.pop()
        if not words:
            continue
        head = singular(words[-1])
        for n in range(1, min(max_words, len(words)) + 1):
            phrase_words = [*words[-n:-1], head]
            if phrase_words[0] in STOPWORDS:
                continue
            found.append(" ".join(phrase_words))
    return list(dict.fromkeys(found))


@dataclass
class Concept:
    """A mined concept: how many items name it, its C-value, confidence and is-a parent."""

    name: str
    items: int
    score: float
    confidence: float
    parent: str | None = None
    categories: Counter[str] = field(default_factory=Counter)
    from_category: bool = False


@dataclass
class ConceptSet:
    """Concepts by name and, per record, the concepts it mentions with confidence."""

    concepts: dict[str, Concept]
    mentions: dict[str, list[tuple[str, float]]]


class ConceptMiner:
    """Collects title candidates and category paths, then scores them across the catalog."""

    def __init__(self, min_items: int = 2, min_score: float = 1.0) -> None:
        self.min_items = min_items
        self.min_score = min_score
        self.candidates: dict[str, list[str]] = {}
        self.categories: dict[str, list[str]] = {}

    def add(self, record_id: str, candidates: Sequence[str], category: Sequence[str]) -> None:
        self.candidates[record_id] = list(candidates)
        self.categories[record_id] = [singular_phrase_lower(c) for c in category]

    def mine(self) -> ConceptSet:
        frequency: Counter[str] = Counter()
        for candidates in self.candidates.values():
            frequency.update(set(candidates))
        longer: dict[str, list[str]] = defaultdict(list)
        for phrase in frequency:
            words = phrase.split()
            for n in range(1, len(words)):
                longer[" ".join(words[-n:])].append(phrase)
        concepts: dict[str, Concept] = {}
        for phrase, count in frequency.items():
            if count < self.min_items:
                continue
            nested = longer.get(phrase, [])
            inside = sum(frequency[p] for p in nested) / len(nested) if nested else 0.0
            score = math.log2(1 + len(phrase.split())) * (count - inside)
            if score >= self.min_score and len(phrase) > 2:
                confidence = round(min(0.95, 1 - math.exp(-score / 4)), 3)
                concepts[phrase] = Concept(phrase, count, round(score, 3), confidence)
        for path in self.categories.values():
            for depth, name in enumerate(path):
                if name and name not in concepts:
                    concepts[name] = Concept(name, 0, 0.0, 0.9, from_category=True)
                if depth and concepts[name].from_category and concepts[name].parent is None:
                    concepts[name].parent = path[depth - 1]
        for concept in concepts.values():
            if concept.parent is None:
                concept.parent = _head_parent(concept.name, concepts)
        mentions: dict[str, list[tuple[str, float]]] = {}
        for record_id, candidates in self.candidates.items():
            kept = [c for c in candidates if c in concepts]
            best = max(kept, key=lambda c: (len(c.split()), concepts[c].score), default=None)
            chosen = [(best, concepts[best].confidence)] if best else []
            leaf = self.categories[record_id][-1:]
            chosen += [(name, 0.9) for name in leaf if name != best]
            for name, _ in chosen:
                concepts[name].categories.update(self.categories[record_id][-1:])
                concepts[name].items = max(concepts[name].items, 1)
            mentions[record_id] = chosen
        return ConceptSet(concepts, mentions)


def _head_parent(name: str, concepts: dict[str, Concept]) -> str | None:
    words = name.split()
    for n in range(len(words) - 1, 0, -1):
        suffix = " ".join(words[-n:])
        if suffix in concepts:
            return suffix
    return None


def singular_phrase_lower(text: str) -> str:
    words = text.lower().split()
    return " ".join([*words[:-1], singular(words[-1])]) if words else ""
