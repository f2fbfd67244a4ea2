"""POI, problem, scene and crowd mentions from token patterns, and which POI solves what.

A blank pipeline has no parser, so the patterns are over tokens (spaCy ``Matcher`` on the
lowercase form): "keeps your feet dry" (the problem is the opposite state, "wet feet"),
"prevents blisters", "no more back pain", "perfect for toddlers", "on rainy commutes". The
phrase after a trigger runs to the next stopword or punctuation (three words at most) and is
kept when the lexicon knows its kind; each pattern has its own confidence. A bullet's short
header names a POI ("NON-STICK: releases food …"), a header followed by a value does not
("COLOUR: Black"). The noun phrases of features ("its reflective details") are kept for
catalog-level mining (:mod:`extraction.propagation`), which learns which of them state a POI.
"""

from __future__ import annotations

from collections.abc import Sequence
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
ARTICLES = ("a", "an")
KEEP_VERBS = ("keep", "keeps", "keeping")
SUIT_WORDS = ("for", "on", "during", "with", "among", "at", "in", "around")
CONJUNCTIONS = ("and", "or")
# a bullet's header names a point of interest ("NON-STICK: releases food …"); a header
# followed by a value ("COLOUR: Black", "WEIGHT: 380 g") names an attribute instead
HEADER_SEPARATORS = (":", "–", "—", "-")
HEADER_WORDS = 3  # a POI header has at most this many words
HEADER_BODY = 3  # and the text after it at least this many, beginning in lower case
# words that open the noun phrase of a feature ("thanks to its …", "comes with a …"), and
# "thanks to" itself ("thanks to reflective details")
FEATURE_OPENERS = ("a", "an", "its", "their", "with")
FEATURE_WORDS = 3
# a sentence with one of these before a phrase denies it ("No, it doesn't have a low sugar
# recipe"); a question asks, it does not state ("Does it have a braided jacket?")
DENIALS = ("not", "n't", "no", "without", "never", "nor")


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
    """Finds needs in a tokenized Doc; built once per pipeline (patterns compiled here).

    Triggers are found by lowercase ``PhraseMatcher`` s; what follows a trigger is read from
    the Doc's attribute arrays (``Doc.to_array``), so no step walks the Doc token by token.
    """

    def __init__(self, vocab: Any, lexicon: NeedLexicon) -> None:
        from spacy.matcher import PhraseMatcher

        self.lexicon = lexicon
        self.vocab = vocab
        strings = vocab.strings
        self.triggers = PhraseMatcher(vocab, attr="LOWER")
        self._add(self.triggers, "KEEP", [[k, o] for k in KEEP_VERBS for o in POSSESSIVES])
        self._add(
            self.triggers,
            "PROBLEM",
            [
                *([t] for t in TRIGGERS_PROBLEM),
                ["no", "more"],
                ["tired", "of"],
                *([s, "with"] for s in ("struggle", "struggling", "struggles")),
                ["fed", "up", "with"],
                *([p, "against"] for p in ("protects", "protect", "protection")),
                ["say", "goodbye", "to"],
                *([r, w] for r in ("relief", "helps") for w in ("from", "with")),
            ],
        )
        self._add(self.triggers, "SUIT_STRONG", [[t, w] for t in TRIGGERS_SUIT for w in SUIT_WORDS])
        self._add(self.triggers, "SUIT", [[w] for w in (*SUIT_WORDS, "while")])
        self.poi_matcher = PhraseMatcher(vocab, attr="LOWER")
        self._add(
            self.poi_matcher, "POI", [n.replace("-", " - ").split() for n in sorted(lexicon.poi)]
        )
        self._states = {strings.add(word): word for word in STATE_ANTONYMS}
        self._stopwords = frozenset(strings.add(word) for word in STOPWORDS)
        self._owners = frozenset(strings.add(word) for word in POSSESSIVES)
        self._articles = frozenset(strings.add(word) for word in ARTICLES)
        self._conjunctions = frozenset(strings.add(word) for word in CONJUNCTIONS)
        self._separators = frozenset(strings.add(word) for word in HEADER_SEPARATORS)
        self._possessive = strings.add("'s")
        self._openers = frozenset(strings.add(word) for word in FEATURE_OPENERS)
        self._suffixes = {strings.add(word): word for word in POI_SUFFIXES}
        self._strict_suffixes = frozenset(
            strings.add(w) for w in ("proof", "resistant", "repellent")
        )
        self._sentence_ends = frozenset(strings.add(word) for word in SENTENCE_ENDS)
        self._hyphen = strings.add("-")
        self._to = strings.add("to")
        self._more = strings.add("more")
        self._thanks = strings.add("thanks")
        self._question = strings.add("?")
        self._denials = frozenset(strings.add(word) for word in DENIALS)

    def _add(self, matcher: Any, rule: str, phrases: list[list[str]]) -> None:
        from spacy.tokens import Doc

        patterns = [Doc(self.vocab, words=words) for words in phrases if words]
        if patterns:
            matcher.add(rule, patterns)

    def read(
        self, doc: Any, names: Sequence[tuple[int, int]] = ()
    ) -> tuple[list[NeedMention], list[Solves], list[str]]:
        """:meth:`find` and :meth:`feature_phrases` of ``doc``, its tokens read once.

        ``names``: character spans that name what the item is or has (its category, its
        attribute values). A POI inside one is part of that name, not a point of its own:
        "wireless" in "wireless earbuds", "organic" in "MATERIAL: organic cotton"."""
        tokens = _Tokens.of(doc)
        if tokens is None:
            return [], [], []
        sentence_of = self._sentences(tokens)
        mentions, solves = self._find(tokens, sentence_of, names)
        return mentions, solves, self._feature_phrases(tokens, sentence_of)

    def find(self, doc: Any) -> tuple[list[NeedMention], list[Solves]]:
        """Needs in ``doc`` and the SOLVES links between POIs and problems."""
        tokens = _Tokens.of(doc)
        return self._find(tokens, self._sentences(tokens)) if tokens is not None else ([], [])

    def _find(
        self, tokens: _Tokens, sentence_of: list[int], names: Sequence[tuple[int, int]] = ()
    ) -> tuple[list[NeedMention], list[Solves]]:
        doc = tokens.doc
        strings = self.vocab.strings
        found: dict[tuple[str, str, int], NeedMention] = {}

        def add(kind: str, name: str, start: int, end: int, conf: float, pattern: str) -> None:
            name = " ".join(name.lower().split())
            if not name or name in STOPWORDS:
                return
            key = (kind, name, sentence_of[start])
            if key not in found or found[key].confidence < conf:
                begin, stop = tokens.idx[start], tokens.end_char(end - 1)
                found[key] = NeedMention(kind, name, begin, stop, sentence_of[start], conf, pattern)

        raw_triggers = [(strings[i], start, end) for i, start, end in self.triggers(doc)]
        # "keeps your toes warm", "keep your phone scratch-free": a state, not the item's POI
        kept = {end for rule, _, end in raw_triggers if rule == "KEEP"}
        for _, start, end in self.poi_matcher(doc):
            if not any(0 <= start - k <= 2 for k in kept):
                name = tokens.text(start, end).replace(" - ", "-")
                add("POI", name, start, end, 0.9, "poi-lexicon")
        for start, end in self._suffix_pois(tokens):
            if any(0 <= start - k <= 2 for k in kept):
                continue
            words = [
                strings[tokens.lower[i]]
                for i in range(start, end)
                if tokens.orth[i] != self._hyphen
            ]
            add("POI", "-".join(words), start, end, 0.75, "poi-suffix")
        for start, end in self._header_pois(tokens):
            add("POI", self._joined(tokens, start, end), start, end, 0.85, "bullet-header")
        strong_ends: set[int] = set()
        for rule, start, end in sorted(
            self._matches(tokens, raw_triggers), key=lambda m: (m[1], -m[2])
        ):
            if rule == "KEEP":
                state = self._states[tokens.lower[end - 1]]
                thing = tokens.text(start + 2, end - 1).lower()
                add("Problem", f"{STATE_ANTONYMS[state]} {thing}", start, end, 0.8, "keep-state")
            elif rule == "PROBLEM":
                phrase, phrase_end = self._phrase(tokens, end)
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
                conf = 0.8 if rule == "SUIT_STRONG" else 0.6
                at = end
                # "for day hikes and dog walkers": each conjunct is read, also after one the
                # lexicon does not know ("for everyday use and students")
                for conjunct in range(2):
                    kind, phrase, phrase_end = self._suited(tokens, at)
                    if kind:
                        pattern = rule.lower() + ("-and" if conjunct else "")
                        add(kind, singular_phrase(phrase), at, phrase_end, conf, pattern)
                    else:
                        words = self._phrase_words(tokens, at, 3)
                        phrase_end = words[-1][1] if words else at
                    if not (
                        phrase_end > at
                        and phrase_end < len(tokens.lower)
                        and tokens.lower[phrase_end] in self._conjunctions
                    ):
                        break
                    at, conf = phrase_end + 1, round(conf * 0.9, 3)
        mentions = _outermost_pois(sorted(found.values(), key=lambda m: (m.start_char, m.kind)))
        mentions = _outside_problems(mentions)
        if names:
            mentions = [m for m in mentions if m.kind != "POI" or not _inside(m, names)]
        return mentions, _solves(mentions)

    def feature_phrases(self, doc: Any) -> list[str]:
        """The noun phrases a determiner or owner opens ("its reflective details", "a high
        protein recipe", "with fast charging support"): two or three words each, in order,
        without repeats. Not facts: catalog-level mining learns which of them state a POI
        (:mod:`extraction.propagation`)."""
        tokens = _Tokens.of(doc)
        if tokens is None:
            return []
        return self._feature_phrases(tokens, self._sentences(tokens))

    def _feature_phrases(self, tokens: _Tokens, sentence_of: list[int]) -> list[str]:
        found: dict[str, None] = {}
        lower, n = tokens.lower, len(tokens.lower)
        asked = {sentence_of[i] for i in range(n) if lower[i] == self._question}
        denied_from: dict[int, int] = {}  # sentence -> its first denial
        for i in range(n):
            if lower[i] in self._denials and not (i + 1 < n and lower[i + 1] == self._more):
                denied_from.setdefault(sentence_of[i], i)  # "no more …" names a problem

        def said(start: int) -> bool:
            sentence = sentence_of[start]
            return sentence not in asked and denied_from.get(sentence, n) > start

        # "its reflective details", "with a high protein recipe", "thanks to reflective details"
        opened = {
            i + 1
            for i, word in enumerate(lower)
            if word in self._openers or (word == self._to and i and lower[i - 1] == self._thanks)
        }
        # or a line that opens with its feature: "High protein recipe to keep you full"
        lines = set(self._line_starts(tokens))
        for start in sorted(opened | lines):
            words = self._phrase_words(tokens, start, FEATURE_WORDS, numbers=True)
            followed = bool(words) and words[-1][1] < n and lower[words[-1][1]] == self._to
            if start not in opened and not followed:
                continue  # a line start is a feature only when "to" follows the phrase
            if len(words) >= 2 and said(start):
                found[" ".join(w for w, _ in words)] = None
        return list(found)

    def _line_starts(self, tokens: _Tokens) -> list[int]:
        strings = self.vocab.strings
        return [0] + [i + 1 for i, orth in enumerate(tokens.orth) if "\n" in strings[orth]]

    def _matches(
        self, tokens: _Tokens, triggers: list[tuple[str, int, int]]
    ) -> list[tuple[str, int, int]]:
        """``(rule, start, end)`` of every trigger; a KEEP match runs to its state word:
        "keep(s) <owner> <word> [<word>] <state>", the words alphabetic and no stopwords."""
        matches = []
        for rule, start, end in triggers:
            if rule != "KEEP":
                matches.append((rule, start, end))
                continue
            for words in (2, 1):  # longer first, as sorting by (start, -end) will want
                state = end + words
                if (
                    state < len(tokens.lower)
                    and tokens.lower[state] in self._states
                    and all(self._is_word(tokens, i) for i in range(end, state))
                ):
                    matches.append((rule, start, state + 1))
        return matches

    def _is_word(self, tokens: _Tokens, i: int) -> bool:
        return bool(tokens.alpha[i]) and tokens.lower[i] not in self._stopwords

    def _sentences(self, tokens: _Tokens) -> list[int]:
        """Each token's sentence number: sentences end at ``. ! ? ; • |`` and line breaks."""
        strings = self.vocab.strings
        sentence, numbers = 0, []
        for orth, space in zip(tokens.orth, tokens.space, strict=True):
            numbers.append(sentence)
            if orth in self._sentence_ends or (space and "\n" in strings[orth]):
                sentence += 1
        return numbers

    def _suffix_pois(self, tokens: _Tokens) -> list[tuple[int, int]]:
        """``water-resistant``, ``odor proof``: a word, an optional hyphen, a POI suffix."""
        found = []
        lower = tokens.lower
        for i in range(1, len(lower)):
            if lower[i] not in self._suffixes:
                continue
            hyphen = tokens.orth[i - 1] == self._hyphen
            j = i - 2 if hyphen else i - 1
            if j < 0 or not (hyphen or lower[i] in self._strict_suffixes):
                continue
            if tokens.alpha[j] and tokens.length[j] > 2 and lower[j] not in self._stopwords:
                found.append((j, i + 1))
        return found

    def _phrase(self, tokens: _Tokens, start: int, max_words: int = 3) -> tuple[str, int]:
        """The words after a trigger up to a stopword or punctuation; leading owners and
        articles skipped; "gym-goers" and "night's" are one word each."""
        words = self._phrase_words(tokens, start, max_words)
        return " ".join(w for w, _ in words), words[-1][1] if words else start

    def _phrase_words(
        self, tokens: _Tokens, start: int, max_words: int, numbers: bool = False
    ) -> list[tuple[str, int]]:
        """:meth:`_phrase` as ``(word, end)`` pairs. With ``numbers``, a number after the
        first word is part of the phrase and does not count as a word ("upf 50 sun
        protection")."""
        lower = tokens.lower
        i = start
        while i < len(lower) and (lower[i] in self._owners or lower[i] in self._articles):
            i += 1
        words: list[tuple[str, int]] = []
        counted = 0
        while i < len(lower) and counted < max_words:
            number = numbers and bool(words) and tokens.digit[i]
            if not (number or self._is_word(tokens, i)):
                break
            end = i + 1 if number else self._word_end(tokens, i)
            words.append((self._joined(tokens, i, end), end))
            counted += not number
            i = end
        while words and numbers and words[-1][0].isdigit():
            words.pop()  # "… with 3": a phrase ends on a word
        return words

    def _suited(self, tokens: _Tokens, start: int) -> tuple[str | None, str, int]:
        """``(kind, phrase, end)`` of the longest phrase at ``start`` the lexicon calls a
        Scene or Crowd ("gym-goers" in "for gym-goers who are …"), or ``(None, "", start)``."""
        words = self._phrase_words(tokens, start, 3)
        for count in range(len(words), 0, -1):
            phrase = " ".join(w for w, _ in words[:count])
            kind = self.lexicon.kind_of(phrase)
            if kind:
                return kind, phrase, words[count - 1][1]
        return None, "", start

    def _word_end(self, tokens: _Tokens, i: int) -> int:
        """Where the word at ``i`` ends, hyphenated parts and a possessive "'s" included."""
        n, end = len(tokens.lower), i + 1
        while end < n and tokens.idx[end] == tokens.end_char(end - 1):  # touching
            if tokens.orth[end] == self._possessive:
                return end + 1
            if (
                tokens.orth[end] == self._hyphen
                and end + 1 < n
                and tokens.alpha[end + 1]
                and tokens.idx[end + 1] == tokens.end_char(end)
            ):
                end += 2
                continue
            break
        return end

    def _joined(self, tokens: _Tokens, start: int, end: int) -> str:
        """Tokens ``start:end`` in lower case, spaced as in the text ("gym-goers", "uv
        protection")."""
        return " ".join(tokens.text(start, end).lower().split())

    def _header_pois(self, tokens: _Tokens) -> list[tuple[int, int]]:
        """A line that opens with a short header and a separator, then a clause in lower
        case: "NON-STICK: releases food without scrubbing", "Reflective – makes you seen"."""
        found = []
        lower, n = tokens.lower, len(tokens.lower)
        strings = self.vocab.strings
        for start in self._line_starts(tokens):
            i, words = start, 0
            while i < n and words < HEADER_WORDS and self._is_word(tokens, i):
                i, words = self._word_end(tokens, i), words + 1
            if not words or i >= n or tokens.orth[i] not in self._separators:
                continue
            body = i + 1
            first = body < n and tokens.alpha[body] and tokens.orth[body] == lower[body]
            said = 0
            while body < n and said < HEADER_BODY and tokens.alpha[body]:
                body, said = body + 1, said + 1
            if first and (said >= HEADER_BODY or (said == 2 and _verb_like(strings[lower[i + 1]]))):
                found.append((start, i))
        return found


def _verb_like(word: str) -> bool:
    """A word that reads as a verb in the third person ("resists", "stays"), which opens a
    short benefit ("BRAIDED: resists fraying") where a value would not ("SIZE: one size")."""
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


class _Tokens:
    """A Doc's token attributes as Python lists (one ``to_array`` call, no Token objects)."""

    def __init__(self, doc: Any, array: Any) -> None:
        self.doc = doc
        columns = array.T.tolist()
        self.lower, self.alpha, self.orth, self.idx, self.length, self.space, self.digit = columns

    @classmethod
    def of(cls, doc: Any) -> _Tokens | None:
        """The attributes of ``doc``'s tokens, or None for an empty Doc."""
        from spacy.attrs import IDX, IS_ALPHA, IS_DIGIT, IS_SPACE, LENGTH, LOWER, ORTH

        if not len(doc):
            return None
        return cls(doc, doc.to_array([LOWER, IS_ALPHA, ORTH, IDX, LENGTH, IS_SPACE, IS_DIGIT]))

    def end_char(self, i: int) -> int:
        return int(self.idx[i] + self.length[i])

    def text(self, start: int, end: int) -> str:
        """The text of tokens ``start:end`` with the spaces between them."""
        return str(self.doc[start:end].text)


def _outermost_pois(mentions: list[NeedMention]) -> list[NeedMention]:
    """The mentions less each POI inside a longer POI's span ("padded" in "padded hip
    belt")."""
    pois = [m for m in mentions if m.kind == "POI"]
    return [
        m
        for m in mentions
        if m.kind != "POI"
        or not any(
            o is not m
            and o.start_char <= m.start_char
            and m.end_char <= o.end_char
            and o.end_char - o.start_char > m.end_char - m.start_char
            for o in pois
        )
    ]


def _outside_problems(mentions: list[NeedMention]) -> list[NeedMention]:
    """The mentions less each scene that is one of the text's problems: overlapping one, or
    named as one elsewhere ("tired of cold nights … keeps you warm on cold nights": the
    listing's problem, not a time the item suits)."""
    problems = [m for m in mentions if m.kind == "Problem"]
    named = {singular_phrase(m.name) for m in problems}
    return [
        m
        for m in mentions
        if m.kind != "Scene"
        or not (
            singular_phrase(m.name) in named
            or any(p.start_char < m.end_char and m.start_char < p.end_char for p in problems)
        )
    ]


def _inside(mention: NeedMention, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``mention`` is a proper part of one of ``spans``."""
    size = mention.end_char - mention.start_char
    return any(
        start <= mention.start_char and mention.end_char <= end and end - start > size
        for start, end in spans
    )


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
