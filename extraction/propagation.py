"""Points of interest a listing states in its own words, learned across the catalog.

A listing that puts "REFLECTIVE: makes you visible to traffic" in a bullet is found to be
reflective by the need patterns; another that only says "reflective details to make you
visible" is not, because "reflective details" is no POI the patterns know. Across a catalog
the two kinds of listing meet: most items whose text has the feature phrase "reflective
details" were found reflective by their own text. Such a phrase states the POI, and every
item whose text has it gets the POI too, with the share of items that bore it out as the
confidence (scaled down: it is a second-hand reading).

A phrase states a POI when at least :data:`MIN_ITEMS` items have the phrase, at least
:data:`MIN_SHARE` of them hold the POI from their own text, and the POI's words are in the
phrase or the share is at least :data:`MIN_SHARE_UNSAID` (a phrase that never names its POI
must be borne out more often). Phrases come from :meth:`extraction.needs.NeedFinder.
feature_phrases`; the facts go on the catalog-level copies of the records' facts.

A listing may state a POI only in its own words, and the POI's name is never among them:
"Swiss water decaffeination" for decaf, "multiple ports" for multi-port. Such items hold
the POI only where their title happens to name it ("… Decaf Coffee Beans"), so the share
above stays low. But the phrase covers the POI: at least :data:`MIN_ITEMS` items hold the
POI and have the phrase, at least :data:`MIN_COVER` of the items holding the POI have the
phrase, at least :data:`MIN_SHARE_COVERED` of those with the phrase hold it, and items with
the phrase hold it at least :data:`MIN_LIFT` times as often as items without. The phrase
then states the POI with :data:`DISCOUNT` times the cover as its confidence; of several
POIs a phrase covers, the one it covers best (a charger's "multiple ports" covers multi-port,
not the overheat protection chargers often have too). A phrase that merely goes with a POI
fails one of these: "hypoallergenic fill" is in 11 of the 12 soft
pillows' texts, but 51 of its 62 items are not soft.

A POI the catalog knows is also stated where a listing names it in a thing it offers: "its
high protein recipe", "contoured arch support", "Reflective Road Running Shoe" in a title.
When at least :data:`MIN_ITEMS` items hold a POI from their own text, every item with a
feature phrase or title phrase that has the POI's words as whole words gets it
(:data:`MODIFIER_CONFIDENCE`, the phrase as evidence); so does one whose feature phrase is
the POI's name ("with overheat protection": the patterns know only the lexicon's POIs). A
name inside a word ("semi-reflective") is not a use of it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from extraction.facts import RecordFacts
from extraction.item_problems import item_pois

PROPAGATION = "shopkg.poi_propagation@3"
MIN_ITEMS = 5
MIN_SHARE = 0.6
MIN_SHARE_UNSAID = 0.9
MIN_COVER = 0.8
MIN_SHARE_COVERED = 0.3
MIN_LIFT = 20.0
DISCOUNT = 0.9  # a propagated POI is this much less sure than the share that bore it out
MODIFIER_CONFIDENCE = 0.8  # a known POI named in a phrase: "its high protein recipe"


@dataclass(frozen=True)
class PhraseRule:
    """``phrase`` states ``poi``: ``share`` of the ``items`` with the phrase hold the POI,
    and ``cover`` of the items holding the POI have the phrase."""

    phrase: str
    poi: str
    items: int
    share: float
    cover: float
    confidence: float


def _names_poi(phrase: str, poi: str) -> bool:
    words = set(phrase.replace("-", " ").split())
    return all(word in words for word in poi.replace("-", " ").split())


def learn_rules(records: Sequence[RecordFacts]) -> list[PhraseRule]:
    """The phrase → POI rules the catalog bears out (deterministic: sorted)."""
    with_phrase: Counter[str] = Counter()
    holding: Counter[str] = Counter()
    together: dict[str, Counter[str]] = defaultdict(Counter)
    readable = 0
    for facts in records:
        if facts.error is not None:
            continue
        readable += 1
        pois = set(item_pois(facts))
        holding.update(pois)
        for phrase in set(facts.feature_phrases):
            with_phrase[phrase] += 1
            together[phrase].update(pois)
    rules = []
    for phrase, items in sorted(with_phrase.items()):
        if items < MIN_ITEMS:
            continue
        covered: PhraseRule | None = None  # a phrase in its own words stands for one POI
        for poi, count in sorted(together[phrase].items()):
            share, cover = count / items, count / holding[poi]
            elsewhere = (holding[poi] - count) / max(1, readable - items)
            rule = PhraseRule(phrase, poi, items, round(share, 4), round(cover, 4), 0.0)
            if share >= (MIN_SHARE if _names_poi(phrase, poi) else MIN_SHARE_UNSAID):
                rules.append(replace(rule, confidence=round(share * DISCOUNT, 3)))
            elif (
                count >= MIN_ITEMS
                and cover >= MIN_COVER
                and share >= MIN_SHARE_COVERED
                and share >= MIN_LIFT * elsewhere
                and (covered is None or cover > covered.cover)
            ):
                covered = replace(rule, confidence=round(cover * DISCOUNT, 3))
        if covered is not None:
            rules.append(covered)
    return sorted(rules, key=lambda r: (r.phrase, r.poi))


def known_pois(records: Sequence[RecordFacts]) -> dict[tuple[str, ...], str]:
    """The POIs at least :data:`MIN_ITEMS` items hold from their own text, by their words."""
    holding: Counter[str] = Counter()
    for facts in records:
        if facts.error is None:
            holding.update(set(item_pois(facts)))
    return {_words(poi): poi for poi, count in sorted(holding.items()) if count >= MIN_ITEMS}


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(phrase.replace("-", " ").split())


def qualified_pois(phrase: str, known: dict[tuple[str, ...], str]) -> list[str]:
    """The known POIs whose words are whole words of ``phrase``: "high protein recipe",
    "contoured arch support", "overheat protection"; not "semi-reflective trim"."""
    parts: list[str] = []
    bounds: set[int] = {0}  # where a whole word of the phrase starts or ends, in parts
    for word in phrase.split():
        parts += word.split("-")
        bounds.add(len(parts))
    found = []
    for start in sorted(bounds):
        for end in sorted(bounds):
            if start < end:
                poi = known.get(tuple(parts[start:end]))
                if poi is not None:
                    found.append(poi)
    return found


def _stated_pois(
    facts: RecordFacts,
    by_phrase: dict[str, list[PhraseRule]],
    known: dict[tuple[str, ...], str],
) -> dict[str, tuple[float, str]]:
    """POI → (confidence, phrase) for the POIs ``facts``' phrases state and it lacks."""
    have = set(item_pois(facts))
    wanted: dict[str, tuple[float, str]] = {}
    stated = [
        (rule.poi, rule.confidence, phrase)
        for phrase in facts.feature_phrases
        for rule in by_phrase.get(phrase, ())
    ]
    stated += [
        (poi, MODIFIER_CONFIDENCE, phrase)
        for phrase in [*facts.feature_phrases, *facts.concept_candidates]
        for poi in qualified_pois(phrase, known)
    ]
    for poi, confidence, phrase in stated:
        if poi not in have and confidence > wanted.get(poi, (0.0, ""))[0]:
            wanted[poi] = (confidence, phrase)
    return wanted


def propagate_pois(records: list[RecordFacts]) -> int:
    """Give each record the POIs its feature phrases state and it lacks; returns how many
    facts were added. ``records`` must be copies the caller may change (their node and
    relation lists are replaced, never changed in place)."""
    by_phrase: dict[str, list[PhraseRule]] = defaultdict(list)
    for rule in learn_rules(records):
        by_phrase[rule.phrase].append(rule)
    known = known_pois(records)
    added = 0
    for facts in records:
        if facts.error is not None:
            continue
        wanted = _stated_pois(facts, by_phrase, known)
        if not wanted:
            continue
        facts.nodes, facts.relations = list(facts.nodes), list(facts.relations)
        for poi, (confidence, phrase) in sorted(wanted.items()):
            node = facts.add_node("POI", poi, PROPAGATION, confidence)
            facts.add_relation(
                "HAS_POI",
                ("Item", facts.source_record),
                node,
                PROPAGATION,
                confidence,
                evidence=phrase,
            )
            added += 1
    return added
