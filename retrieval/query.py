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

_AMOUNT = r"(\d+(?:[.,]\d{1,2})?)"
_NUMBER = rf"\$?\s*{_AMOUNT}\s*(?:\$|usd|dollars?|bucks|eur|€)?"
_PRICE_MAX = re.compile(
    r"\b(?:under|below|less than|cheaper than|up to|at most|max|no more than|not more than|"
    rf"not over|no higher than|within)\s*{_NUMBER}"
    rf"|(?<![\w.]){_NUMBER}\s*(?:or less|or under|or below|and under|and below|max|maximum|"
    r"tops)\b"
)
_PRICE_MIN = re.compile(
    r"\b(?:over|above|more than|at least|from|min|no less than|not less than|not under)"
    rf"\s*{_NUMBER}|(?<![\w.]){_NUMBER}\s*(?:or more|and up|and above|plus)\b"
)
_PRICE_RANGE = re.compile(
    rf"\b(?:between|from)\s*{_NUMBER}\s*(?:and|-|–|to)\s*{_NUMBER}"
    rf"|\$\s*{_AMOUNT}\s*(?:-|–|to)\s*\$?\s*{_AMOUNT}"
)
# the words after a negation, as many as a KG phrase may have: the longest KG phrase among
# them is what is ruled out ("not long battery life"), the rest stays wanted; a verb or
# article before it is read past ("doesn't have a hood"). "non-" negates what follows only
# where "non-…" is no KG phrase itself: "non-stick", "non-slip" name features a shopper wants.
_NEGATORS = r"(?:not|no|without|except)"
_FILLER = r"(?:(?:have|has|having|with|any|a|an|be|being|contain|contains|include|includes)\s+)*"
_NEGATION = re.compile(
    rf"\b{_NEGATORS}\s+{_FILLER}"
    rf"((?!{_NEGATORS}\b)[a-z][a-z-]*(?:\s+(?!{_NEGATORS}\b)[a-z][a-z-]*){{0,3}})"
)
# other ways to say one of the negators
_NEGATOR_FORMS = (
    (re.compile(r"\bw/o\b"), "without"),
    (re.compile(r"\b(?:is|are|was|were|does|do|did)(?:n['’]?t| not)\b"), "not"),
    (
        re.compile(r"\b(?:excluding|exclude|other than|but not|minus|anything but|apart from)\b"),
        "except",
    ),
)
_UNITS = (  # noqa: SIM905 - a word list reads best as words
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SPELLED = re.compile(
    r"\b(?:(a|one|two|three|four|five|six|seven|eight|nine)\s+hundred(?:\s+and)?\s*)?"
    rf"(?:({'|'.join(_TENS)})(?:[\s-]+({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS[1:])}))?\b"
)
_NON = re.compile(r"\bnon[- ]?(?=[a-z])")
# "blue or green": one constraint met by either
_OR = re.compile(r"\s+(?:or|and/or)\s+|\s*/\s*(?=[a-z])")
# a word before a basic colour that keeps it in its family ("dark blue" is a blue)
SHADE_WORDS = frozenset(("dark", "light", "pale", "deep", "bright", "pastel", "muted", "vivid"))
# query words that name what the KG names another way: the entries of both are meant
# (a shopper's "ladies" is the catalog's audience "women"); colour spellings come from
# :data:`extraction.values` ("gray" is the KG's "grey")
QUERY_SYNONYMS = {
    "her": "women",  # "for her"
    "him": "men",
    "ladie": "women",
    "lady": "women",
    "woman": "women",
    "womens": "women",
    "female": "women",
    "gent": "men",
    "gentleman": "men",
    "gentlemen": "men",
    "man": "men",
    "male": "men",
    "child": "kid",
    "children": "kid",
    "toddler": "kid",
}


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

    def lookup(self, words: tuple[str, ...]) -> list[DictionaryEntry]:
        """The entries ``words`` name, and those their synonyms name ("gray": the KG's
        "grey"; "ladies": the audience "women")."""
        found = list(self.phrases.get(words, []))
        for other in _synonyms(words):
            found += [e for e in self.phrases.get(other, []) if e not in found]
        if not found and len(words) == 2 and words[0] in SHADE_WORDS:
            found = list(self.phrases.get(words[1:], []))  # "dark blue", a shade of blue
            found = [e for e in found if is_value_of(e, "color")]
        return found

    def values_of(self, attribute: str) -> list[DictionaryEntry]:
        """Every Value entry of ``attribute`` (its canonical name: ``color`` for colour too),
        each once, in the dictionary's order."""
        found = {
            entry: None
            for entries in self.phrases.values()
            for entry in entries
            if is_value_of(entry, attribute)
        }
        return list(found)

    @classmethod
    def from_store(
        cls, store: object, labels: Iterable[str] = DICTIONARY_LABELS
    ) -> EntityDictionary:
        """Every name and alias of the given labels in the graph store. A scene named by an
        activity and a word after it ("camping trip", "hiking trail") is also named by the
        activity alone: "headlamps for camping" means the camping-trip scene."""
        from extraction.lexicons import SCENE_HEADS, singular

        activities = frozenset(SCENE_HEADS)
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
                    first, *rest = name.lower().split()
                    if label == "Scene" and rest and singular(first) in activities:
                        dictionary.add(first, entry)
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
    text = _spelled_numbers(text)  # "under fifty dollars"
    if match := _PRICE_RANGE.search(text):
        amounts = [g for g in match.groups() if g is not None]
        low, high = sorted((_amount(amounts[0]), _amount(amounts[1])))
        parsed.price_min, parsed.price_max = low, high
        text = text.replace(match.group(0), " ")
    if match := _PRICE_MAX.search(text):
        parsed.price_max = _amount(next(g for g in match.groups() if g is not None))
        text = text.replace(match.group(0), " ")
    if match := _PRICE_MIN.search(text):
        parsed.price_min = _amount(next(g for g in match.groups() if g is not None))
        text = text.replace(match.group(0), " ")
    for pattern, negator in _NEGATOR_FORMS:
        text = pattern.sub(negator, text)
    text = _NON.sub(lambda m: _non(m, text, dictionary), text)
    kept = []
    position = 0
    for match in _NEGATION.finditer(text):
        span, rest = _negated_span(match.group(1).strip(), dictionary)
        if span:
            parsed.negations.append(span)
            if dictionary is not None:
                words = tuple(tokens(span, SEARCH_TERMS))
                parsed.negated += [(span, e) for e in dictionary.lookup(words)]
        kept += [text[position : match.start()], rest]  # "not waterproof jacket": a jacket
        position = match.end()
    kept.append(text[position:])
    parsed.text = " ".join(" ".join(kept).split())
    if dictionary is not None:
        parsed.entities = match_entities(parsed.text, dictionary)
    return parsed


def _non(match: re.Match[str], text: str, dictionary: EntityDictionary | None) -> str:
    """ "non-waterproof" → "not waterproof", unless "non-…" is a KG phrase ("non-stick")."""
    following = re.match(r"[a-z]+", text[match.end() :])
    if dictionary is None or following is None:
        return match.group(0)
    if tuple(tokens(f"non {following.group(0)}", SEARCH_TERMS)) in dictionary.phrases:
        return match.group(0)
    return "not "


def _negated_span(phrase: str, dictionary: EntityDictionary | None) -> tuple[str, str]:
    """What a negation rules out and what it leaves wanted: the longest KG phrase at the
    start of ``phrase`` ("not waterproof jacket": waterproof), else its first word."""
    words = phrase.split()
    if dictionary is not None:
        named = [
            (n, dictionary.lookup(tuple(tokens(" ".join(words[:n]), SEARCH_TERMS))))
            for n in range(len(words), 0, -1)
        ]
        named = [(n, entries) for n, entries in named if entries]
        # a title's compound ("waterproof hiking boot", a mined concept) is not what is
        # ruled out when a shorter phrase at its start names a property: "non-waterproof
        # hiking boots" are hiking boots that are not waterproof
        properties = [n for n, entries in named if any(e.label != "Concept" for e in entries)]
        for n, entries in named:
            if all(e.label == "Concept" for e in entries) and any(m < n for m in properties):
                continue
            return " ".join(words[:n]), " ".join(words[n:])
    return (words[0], " ".join(words[1:])) if words else ("", "")


def match_entities(text: str, dictionary: EntityDictionary) -> list[tuple[str, DictionaryEntry]]:
    """Longest-first phrase matches of dictionary entries over the query's words. Two
    phrases joined by "or" that name the same kind of thing ("blue or green", "boots or
    sandals") become one span, which either meets."""
    found: list[tuple[str, DictionaryEntry]] = []
    for part in _OR.split(text):
        matched = _match_words(tokens(part, SEARCH_TERMS), dictionary)
        if found and matched:
            before = [pair for pair in found if pair[0] == found[-1][0]]
            after = [pair for pair in matched if pair[0] == matched[0][0]]
            if _kinds(before) & _kinds(after):
                span = f"{before[0][0]} or {after[0][0]}"
                found = found[: -len(before)] + [(span, e) for _, e in before + after]
                matched = matched[len(after) :]
        found += matched
    return found


def _kinds(pairs: list[tuple[str, DictionaryEntry]]) -> set[tuple[str, str]]:
    """What a span's entries name, for telling alternatives apart: a value of an attribute,
    a category, a brand or a POI (a concept mined from titles may be anything)."""
    return {(e.label, e.attribute) for _, e in pairs if e.label != "Concept"}


def _match_words(
    words: list[str], dictionary: EntityDictionary
) -> list[tuple[str, DictionaryEntry]]:
    found: list[tuple[str, DictionaryEntry]] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            entries = dictionary.lookup(tuple(words[i : i + n]))
            if entries:
                span = " ".join(words[i : i + n])
                found.extend((span, entry) for entry in entries)
                i += n
                break
        else:
            i += 1
    return found


def _synonyms(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    from extraction.values import canonical

    respelled = tuple(canonical(" ".join(words), "color").split())
    # "women's" is read "women'" (a brand's "Levi's" stays itself: it is tried first)
    bare = tuple(word.rstrip("'") for word in words)
    swapped = tuple(QUERY_SYNONYMS.get(word, word) for word in bare)
    return [other for other in dict.fromkeys((respelled, bare, swapped)) if other != words]


def is_value_of(entry: DictionaryEntry, attribute: str) -> bool:
    """Whether ``entry`` is a Value of ``attribute`` (a canonical name: ``color``)."""
    from extraction.values import canonical_attribute

    return entry.label == "Value" and canonical_attribute(entry.attribute) == attribute


_PRICE_CUE = re.compile(
    r"(?:under|below|less than|cheaper than|up to|at most|max|more than|over|above|at least|"
    rf"from|between|\$|(?:\d|\b(?:{'|'.join([*_UNITS[1:], *_TENS, 'hundred'])}))\s*(?:and|to|-))"
    r"\s*$"
)
_CURRENCY = re.compile(r"\s*(?:dollars?|bucks|usd|euros?|eur)\b")


def _spelled_numbers(text: str) -> str:
    """Prices written as words, as digits: "under fifty" → under 50, "a hundred and twenty
    dollars" → 120 dollars; other number words stay ("the second one")."""

    def number(match: re.Match[str]) -> str:
        hundreds, tens, unit, small = match.groups()
        priced = _PRICE_CUE.search(text[: match.start()]) or _CURRENCY.match(text[match.end() :])
        if not (hundreds or tens or small) or not priced:
            return match.group(0)  # "the second one", "one-piece": no price
        value = (1 if hundreds in ("a", "one") else _UNITS.index(hundreds)) * 100 if hundreds else 0
        value += _TENS.get(tens or "", 0) + _UNITS.index(unit or small or "zero")
        return str(value) + (" " if match.group(0).endswith(" ") else "")

    return _SPELLED.sub(number, text)
