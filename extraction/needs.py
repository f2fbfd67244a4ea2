"""POI, problem, scene and crowd mentions from token patterns, and which POI solves what.

A blank pipeline has no parser, so the patterns are over tokens (spaCy ``Matcher`` on the
lowercase form): "keeps your feet dry" (the problem is the opposite state, "wet feet"),
"prevents blisters", "no more back pain", "perfect for toddlers", "on rainy commutes". The
phrase after a trigger runs to the next stopword or punctuation (three words at most) and is
kept when the lexicon knows its kind; each pattern has its own confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extraction.lexicons import (
    POI_SUFFIXES,
    STATE_ANTONYMS,
    STATE_SOLVERS,
    STOPWORDS,
    TRIGGERS_PROBLEM,
    TRIGGERS_SUIT,
    NeedLexicon,
    singular_phrase,
)

SENTENCE_ENDS = frozenset({".", "!", "?", ";", "\n", "•", "|"})
POSSESSIVES = ["your", "you", "the", "their", "his", "her", "my", "our", "its"]


@dataclass(frozen=True)
class NeedMention:
    """A POI, Problem, Scene or Crowd found in text, with the pattern that found it."""

    kind: str
    name: str
    start_char: int
    end_char: int
    sentence: int
    confidence: float
    pattern: str


@dataclass(frozen=True)
class Solves:
    """POI → Problem, with the evidence: same sentence, or the state a POI brings about."""

    poi: str
    problem: str
    confidence: float
    evidence: str


class NeedFinder:
    """Finds needs in a tokenized Doc; built once per pipeline (patterns compiled here)."""

    def __init__(self, vocab: Any, lexicon: NeedLexicon) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self.lexicon = lexicon
        self.matcher = Matcher(vocab)
        state = {"LOWER": {"IN": sorted(STATE_ANTONYMS)}}
        keep = {"LOWER": {"IN": ["keep", "keeps", "keeping"]}}
        owner = {"LOWER": {"IN": POSSESSIVES}}
        alpha = {"IS_ALPHA": True, "LOWER": {"NOT_IN": sorted(STOPWORDS)}}
        self.matcher.add("KEEP", [[keep, owner, alpha, state], [keep, owner, alpha, alpha, state]])
        self.matcher.add(
            "PROBLEM",
            [
                [{"LOWER": {"IN": TRIGGERS_PROBLEM}}],
                [{"LOWER": "no"}, {"LOWER": "more"}],
                [{"LOWER": {"IN": ["protects", "protect", "protection"]}}, {"LOWER": "against"}],
                [{"LOWER": "say"}, {"LOWER": "goodbye"}, {"LOWER": "to"}],
                [{"LOWER": {"IN": ["relief", "helps"]}}, {"LOWER": {"IN": ["from", "with"]}}],
            ],
        )
        self.matcher.add(
            "SUIT_STRONG",
            [[{"LOWER": {"IN": TRIGGERS_SUIT}}, {"LOWER": {"IN": ["for", "on", "during"]}}]],
        )
        self.matcher.add("SUIT", [[{"LOWER": {"IN": ["for", "on", "during", "while"]}}]])
        self.poi_matcher = PhraseMatcher(vocab, attr="LOWER")
        self.vocab = vocab
        self._add_pois(sorted(lexicon.poi))

    def _add_pois(self, names: list[str]) -> None:
        from spacy.tokens import Doc

        patterns = []
        for name in names:
            words = name.replace("-", " - ").split()
            patterns.append(Doc(self.vocab, words=words))
        if patterns:
            self.poi_matcher.add("POI", patterns)

    def find(self, doc: Any) -> tuple[list[NeedMention], list[Solves]]:
        """Needs in ``doc`` and the SOLVES links between POIs and problems."""
        sentence_of = _sentences(doc)
        found: dict[tuple[str, str, int], NeedMention] = {}

        def add(kind: str, name: str, start: int, end: int, conf: float, pattern: str) -> None:
            name = " ".join(name.lower().split())
            if not name or name in STOPWORDS:
                return
            key = (kind, name, sentence_of[start])
            if key not in found or found[key].confidence < conf:
                span = doc[start:end]
                mention = NeedMention(
                    kind, name, span.start_char, span.end_char, sentence_of[start], conf, pattern
                )
                found[key] = mention

        for _, start, end in self.poi_matcher(doc):
            add("POI", doc[start:end].text.replace(" - ", "-"), start, end, 0.9, "poi-lexicon")
        for start, end in _suffix_pois(doc):
            words = [t.lower_ for t in doc[start:end] if t.text != "-"]
            add("POI", "-".join(words), start, end, 0.75, "poi-suffix")
        strong_ends: set[int] = set()
        for match_id, start, end in sorted(self.matcher(doc), key=lambda m: (m[1], -m[2])):
            rule = self.vocab.strings[match_id]
            if rule == "KEEP":
                state = doc[end - 1].lower_
                thing = doc[start + 2 : end - 1].text.lower()
                add("Problem", f"{STATE_ANTONYMS[state]} {thing}", start, end, 0.8, "keep-state")
            elif rule == "PROBLEM":
                phrase, phrase_end = _phrase(doc, end)
                if phrase:
                    known = singular_phrase(phrase) in self.lexicon.problems or any(
                        word in self.lexicon.problem_heads for word in phrase.split()
                    )
                    add("Problem", phrase, end, phrase_end, 0.8 if known else 0.55, "trigger")
            elif rule in ("SUIT_STRONG", "SUIT"):
                if rule == "SUIT" and start in strong_ends:
                    continue
                if rule == "SUIT_STRONG":
                    strong_ends.add(end - 1)
                phrase, phrase_end = _phrase(doc, end)
                kind = self.lexicon.kind_of(phrase) if phrase else None
                if kind:
                    conf = 0.8 if rule == "SUIT_STRONG" else 0.6
                    add(kind, singular_phrase(phrase), end, phrase_end, conf, rule.lower())
        mentions = sorted(found.values(), key=lambda m: (m.start_char, m.kind))
        return mentions, _solves(mentions)


def _suffix_pois(doc: Any) -> list[tuple[int, int]]:
    """``water-resistant``, ``odor proof``: a word, an optional hyphen, a POI suffix."""
    found = []
    for i, token in enumerate(doc):
        if i == 0 or token.lower_ not in POI_SUFFIXES:
            continue
        hyphen = doc[i - 1].text == "-"
        j = i - 2 if hyphen else i - 1
        if j < 0 or not (hyphen or token.lower_ in ("proof", "resistant", "repellent")):
            continue
        word = doc[j]
        if word.is_alpha and len(word) > 2 and word.lower_ not in STOPWORDS:
            found.append((j, i + 1))
    return found


def _sentences(doc: Any) -> list[int]:
    sentence, numbers = 0, []
    for token in doc:
        numbers.append(sentence)
        if token.text in SENTENCE_ENDS or "\n" in token.text:
            sentence += 1
    return numbers


def _phrase(doc: Any, start: int, max_words: int = 3) -> tuple[str, int]:
    """The words after a trigger up to a stopword or punctuation; leading owners skipped."""
    i = start
    while i < len(doc) and doc[i].lower_ in POSSESSIVES:
        i += 1
    words: list[str] = []
    while i < len(doc) and len(words) < max_words:
        token = doc[i]
        if not token.is_alpha or token.lower_ in STOPWORDS:
            break
        words.append(token.lower_)
        i += 1
    return " ".join(words), i


def _solves(mentions: list[NeedMention]) -> list[Solves]:
    links: dict[tuple[str, str], Solves] = {}
    pois = [m for m in mentions if m.kind == "POI"]
    for problem in (m for m in mentions if m.kind == "Problem"):
        for poi in pois:
            if poi.sentence == problem.sentence:
                conf = round(min(poi.confidence, problem.confidence) * 0.9, 3)
                links[(poi.name, problem.name)] = Solves(poi.name, problem.name, conf, "sentence")
        state = problem.name.split()[0]
        for poi in pois:
            solvers = STATE_SOLVERS.get(state, ()) + STATE_SOLVERS.get(problem.name, ())
            if poi.name in solvers and (poi.name, problem.name) not in links:
                conf = round(min(poi.confidence, problem.confidence) * 0.75, 3)
                links[(poi.name, problem.name)] = Solves(poi.name, problem.name, conf, "state")
    return list(links.values())
