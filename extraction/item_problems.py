"""The problems an item helps with: only facts that hold for that item.

A point of interest is one node shared across the catalog: "waterproof" is a tent's and a
boot's, and the problems records say it solves ("leaking tent", "wet feet") are each true of
one kind of item. So an item's problems are never read through its POIs' ``SOLVES`` links;
they are facts of their own, ``Item SOLVES Problem``, made here from two kinds of evidence:

- **text**: the item's own text names the problem ("tired of slow setup?", "keeps your feet
  dry", a review's "no more blisters"), with the POI the text says solves it; where the text
  does not say, the one POI of the item that some record says solves it, if there is one;
- **concept**: other items of a concept the item is (its ``MENTIONS``) say that a POI solves
  the problem, and this item has that POI: a "PFOA-free" frying pan helps with "toxic
  coatings" because another frying pan says its PFOA-free coating does. The confidence is
  the item's POI confidence times the share of the concept's items with that POI that say it.

It runs over the whole catalog after concepts and entity resolution (names are final), and
adds the relations to each record's facts, so they are written, and replaced, with the record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from extraction.facts import NodeRef, RecordFacts
from extraction.record_facts import NEEDS

PROBLEM_SCOPE = "shopkg.problem_scope@1"
MIN_CONCEPT_SUPPORT = 1  # other items of the concept that must say a POI solves a problem


def add_item_problems(records: Sequence[RecordFacts]) -> None:
    """Add ``Item SOLVES Problem`` to each of ``records`` (their facts as finally named)."""
    usable = [facts for facts in records if facts.error is None]
    pois = {facts.source_record: item_pois(facts) for facts in usable}
    said = {facts.source_record: _said(facts) for facts in usable}
    # which POI solves what, as any record says it: names the POI of a problem an item's text
    # names without saying what solves it, when exactly one of the item's POIs is known to
    solvers: dict[str, set[str]] = defaultdict(set)
    for problems in said.values():
        for problem, (_, poi) in problems.items():
            if poi:
                solvers[problem].add(poi)
    for record, problems in said.items():
        for problem, (confidence, poi) in list(problems.items()):
            known = solvers.get(problem, set()) & set(pois[record])
            if not poi and len(known) == 1:
                problems[problem] = (confidence, next(iter(known)))
    concepts = {
        facts.source_record: sorted({r.target[1] for r in facts.relations_of("MENTIONS")})
        for facts in usable
    }
    # (concept, POI) → the items of that concept with that POI, and per problem those that
    # say the POI solves it
    holding: dict[tuple[str, str], set[str]] = defaultdict(set)
    stating: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for record, names in concepts.items():
        for concept in names:
            for poi in pois[record]:
                holding[(concept, poi)].add(record)
            for problem, (_, poi) in said[record].items():
                if poi:
                    stating[(concept, poi)][problem].add(record)
    for facts in usable:
        record = facts.source_record
        item: NodeRef = ("Item", record)
        for problem, (confidence, poi) in sorted(said[record].items()):
            via = {"poi": poi} if poi else {}
            facts.add_relation(
                "SOLVES", item, ("Problem", problem), NEEDS, confidence, evidence="text", **via
            )
        for concept in concepts[record]:
            for poi, poi_confidence in sorted(pois[record].items()):
                for problem, items in sorted(stating.get((concept, poi), {}).items()):
                    if problem in said[record] or len(items - {record}) < MIN_CONCEPT_SUPPORT:
                        continue
                    share = len(items) / len(holding[(concept, poi)])
                    confidence = round(poi_confidence * share, 3)
                    # the record names the node too: records are written in batches, and
                    # the ones that name it may come later
                    node = facts.add_node("Problem", problem, PROBLEM_SCOPE, confidence)
                    facts.add_relation(
                        "SOLVES",
                        item,
                        node,
                        PROBLEM_SCOPE,
                        confidence,
                        evidence="concept",
                        poi=poi,
                        concept=concept,
                    )


def item_pois(facts: RecordFacts) -> dict[str, float]:
    """The item's POIs with the confidence of its HAS_POI."""
    found: dict[str, float] = {}
    for rel in facts.relations_of("HAS_POI"):
        found[rel.target[1]] = max(found.get(rel.target[1], 0.0), rel.provenance.confidence)
    return found


def _said(facts: RecordFacts) -> dict[str, tuple[float, str]]:
    """Problem → (confidence, the POI the text says solves it or "") of the item's own text."""
    found: dict[str, tuple[float, str]] = {}
    for node in facts.nodes_of("Problem"):
        if node.provenance.extractor == NEEDS:
            confidence = max(found.get(node.key, (0.0, ""))[0], node.provenance.confidence)
            found[node.key] = (confidence, "")
    links: dict[str, tuple[float, str]] = {}
    for rel in facts.relations_of("SOLVES"):
        if rel.source[0] != "POI" or rel.provenance.extractor != NEEDS:
            continue
        best = links.get(rel.target[1])
        link = (rel.provenance.confidence, rel.source[1])
        if best is None or link > best:
            links[rel.target[1]] = link
    for problem, (_, poi) in links.items():
        confidence = found.get(problem, links[problem])[0]
        found[problem] = (confidence, poi)
    return found
