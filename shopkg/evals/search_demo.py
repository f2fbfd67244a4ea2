"""Does search obey what a shopper states? Judged queries generated from the demo's truth.

Each query names a kind of product (a demo concept, "hiking boots") and, at random, a point of
interest ("waterproof"), a basic colour ("blue": any shade of its family), an audience ("for
kids"), a price bound ("under 120") and a negation ("not insulated", "not black"). The truth
(:mod:`catalog.demo.truth`, prices from the catalog) says which items satisfy every stated
constraint. Most queries are written from one item's own facts, so something satisfies them;
the rest combine constraints no item meets (a POI no item of the kind has, a price below the
kind's cheapest), and the right answer to those is "no exact match".

Reported, for the real assistant's search over the built KG:

- ``constraint_precision@10``: of the first ``k`` hits (``k`` = 10, or fewer when fewer items
  satisfy the query), the share that satisfy every constraint; mean over satisfiable queries,
  and per constraint type the share of hits that satisfy that one;
- ``negation_violations``: hits, over all queries, that have a fact the query negated;
- ``match``: how often the response says ``exact`` for satisfiable queries and something
  else (``relaxed``) for impossible ones.

Queries are generated with a fixed seed from the truth alone, never from what search returns.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.demo.truth import Truth, read_truth, records_by_id
from extraction.values import colour_family
from foundation.errors import ShopKGError

TOP = 10
AUDIENCES = {"men": "for men", "women": "for women", "kids": "for kids"}
CONSTRAINTS = ("concept", "poi", "colour", "audience", "price")


@dataclass(frozen=True)
class Facts:
    """What the truth says of one item, as the queries test it."""

    concept: str
    pois: frozenset[str]
    colour: str | None  # the basic colour family
    audience: str | None
    price: float | None


@dataclass(frozen=True)
class DemoQuery:
    text: str
    wanted: dict[str, Any]  # constraint type -> value
    negated: tuple[str, str] | None  # ("poi" | "colour", value)
    satisfying: frozenset[str] = field(default_factory=frozenset)

    def holds(self, facts: Facts, kind: str) -> bool:
        """Whether ``facts`` meet this query's ``kind`` constraint."""
        value = self.wanted[kind]
        if kind == "poi":
            return value in facts.pois
        if kind == "price":
            return facts.price is not None and facts.price <= value
        return bool(getattr(facts, kind) == value)

    def violates(self, facts: Facts) -> bool:
        """Whether ``facts`` have what this query negates."""
        if self.negated is None:
            return False
        kind, value = self.negated
        return value in facts.pois if kind == "poi" else facts.colour == value

    def satisfied_by(self, facts: Facts) -> bool:
        return all(self.holds(facts, kind) for kind in self.wanted) and not self.violates(facts)


def item_facts(truths: Sequence[Truth], catalog: Path) -> dict[str, Facts]:
    prices = {
        key: float(record["price"]) if record.get("price") is not None else None
        for key, record in records_by_id(catalog).items()
    }
    facts = {}
    for t in truths:
        colour = t.attributes.get("colour") or t.attributes.get("color")
        facts[t.id] = Facts(
            t.concept,
            frozenset(p.lower() for p in t.pois),
            colour_family(colour) if colour else None,
            t.attributes.get("audience"),
            prices.get(t.id),
        )
    return facts


def _plural(noun: str) -> str:
    if noun.endswith("s"):
        return noun
    if noun.endswith(("x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _text(wanted: dict[str, Any], negated: tuple[str, str] | None, rng: random.Random) -> str:
    words = [wanted[k] for k in ("colour", "poi") if k in wanted]
    words.append(_plural(wanted["concept"]))
    if "audience" in wanted:
        words.append(AUDIENCES.get(wanted["audience"], f"for {wanted['audience']}"))
    if "price" in wanted:
        words.append(f"{rng.choice(('under', 'below', 'less than'))} {wanted['price']:g}")
    if negated is not None:
        words.append(f"{rng.choice(('not', 'without')) if negated[0] == 'poi' else 'not'}")
        words.append(negated[1])
    return " ".join(words)


def _varied_text(
    wanted: dict[str, Any], negated: tuple[str, str] | None, rng: random.Random
) -> str:
    """The constraints as shoppers vary them: "women's", "ladies", "gray", "in blue", "under
    $120", "no more than 120 dollars", "w/o insulated", "non-insulated", "that aren't
    insulated", "excluding black"."""
    colour = wanted.get("colour")
    if colour == "grey" and rng.random() < 0.5:
        colour = "gray"
    before = [wanted["poi"]] if "poi" in wanted else []
    after: list[str] = []
    audience = wanted.get("audience")
    if audience is not None:
        forms = {
            "women": ("women's", "ladies", "for women", "womens"),
            "men": ("men's", "mens", "for men"),
            "kids": ("kids'", "for kids", "for children"),
        }.get(audience, (f"for {audience}",))
        form = rng.choice(forms)
        (after if form.startswith("for ") else before).insert(0, form)
    if colour is not None:
        if rng.random() < 0.5:
            after.append(f"in {colour}")
        else:
            before.insert(len(before) - ("poi" in wanted), colour)
    if "price" in wanted:
        price = f"{wanted['price']:g}"
        after.append(
            rng.choice(
                (
                    f"under ${price}",
                    f"below {price} dollars",
                    f"less than ${price}",
                    f"at most {price}",
                    f"no more than ${price}",
                    f"up to {price} bucks",
                )
            )
        )
    words = [*before, _plural(wanted["concept"]), *after]
    if negated is not None:
        kind, name = negated
        forms = ("not", "without", "w/o", "that aren't", "excluding", "with no")
        if kind == "colour":
            forms = ("not", "not in", "excluding", "except", "but not")
        form = rng.choice(forms)
        if kind == "poi" and " " not in name and "-" not in name and rng.random() < 0.25:
            words.insert(0, f"non-{name}")  # "non-insulated beanies"
        else:
            words += [form, name]
    return " ".join(words)


PHRASINGS = {"plain": _text, "varied": _varied_text}


def generate_queries(
    facts: dict[str, Facts],
    count: int,
    seed: int = 0,
    impossible_share: float = 0.2,
    phrasing: str = "plain",
) -> list[DemoQuery]:
    """``count`` judged queries: most written from one item's facts, the rest impossible;
    ``phrasing`` says how each constraint is put in words (:data:`PHRASINGS`)."""
    write = PHRASINGS[phrasing]
    rng = random.Random(seed)  # noqa: S311 - sampling queries, not secrets
    keys = sorted(facts)
    by_concept: dict[str, list[Facts]] = defaultdict(list)
    for key in keys:
        by_concept[facts[key].concept].append(facts[key])
    all_pois = sorted({p for f in facts.values() for p in f.pois})
    queries: list[DemoQuery] = []
    seen: set[str] = set()
    attempts = 0
    while len(queries) < count and attempts < count * 50:
        attempts += 1
        anchor = facts[rng.choice(keys)]
        kind_items = by_concept[anchor.concept]
        wanted: dict[str, Any] = {"concept": anchor.concept}
        negated: tuple[str, str] | None = None
        impossible = rng.random() < impossible_share
        if impossible:
            own = {p for f in kind_items for p in f.pois}
            foreign = [p for p in all_pois if p not in own]
            prices = [f.price for f in kind_items if f.price is not None]
            if foreign and rng.random() < 0.6:
                wanted["poi"] = rng.choice(foreign)
            elif prices:
                wanted["price"] = max(1.0, math.floor(min(prices) * 0.5))
            else:
                continue
        else:
            if anchor.pois and rng.random() < 0.5:
                wanted["poi"] = rng.choice(sorted(anchor.pois))
            if anchor.colour and rng.random() < 0.4:
                wanted["colour"] = anchor.colour
            if anchor.audience and rng.random() < 0.3:
                wanted["audience"] = anchor.audience
            if anchor.price is not None and rng.random() < 0.3:
                wanted["price"] = float(math.ceil(anchor.price * 1.2 / 10) * 10)
            if rng.random() < 0.35:
                pois = sorted({p for f in kind_items for p in f.pois} - anchor.pois)
                colours = sorted({f.colour for f in kind_items if f.colour} - {anchor.colour})
                if pois and (not colours or rng.random() < 0.6):
                    negated = ("poi", rng.choice(pois))
                elif colours:
                    negated = ("colour", str(rng.choice(colours)))
        text = write(wanted, negated, rng)
        if text in seen:
            continue
        seen.add(text)
        query = DemoQuery(text, wanted, negated)
        satisfying = frozenset(k for k in keys if query.satisfied_by(facts[k]))
        if impossible and satisfying:
            continue  # not impossible after all
        queries.append(DemoQuery(text, wanted, negated, satisfying))
    return queries


Search = Callable[[str], tuple[list[str], str]]  # query -> (item keys best first, match)


def evaluate_queries(
    queries: Sequence[DemoQuery], facts: dict[str, Facts], search: Search
) -> dict[str, Any]:
    """Constraint precision, negation violations and no-match correctness of ``search``."""
    precision: list[float] = []
    per_kind: dict[str, list[int]] = {kind: [0, 0] for kind in CONSTRAINTS}
    violations = violated_queries = 0
    match: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    for query in queries:
        keys, said = search(query.text)
        hits = [facts[k] for k in keys[:TOP] if k in facts]
        broken = sum(1 for h in hits if query.violates(h))
        violations += broken
        violated_queries += broken > 0
        possible = bool(query.satisfying)
        right_match = (said == "exact") == possible
        match[
            f"{'possible' if possible else 'impossible'}_{'right' if right_match else 'wrong'}"
        ] += 1
        if possible:
            k = min(TOP, len(query.satisfying))
            good = sum(1 for key in keys[:k] if key in query.satisfying)
            precision.append(good / k)
            for kind in query.wanted:
                per_kind[kind][0] += sum(1 for h in hits[:k] if query.holds(h, kind))
                per_kind[kind][1] += len(hits[:k])
            if good < k and len(failures) < 10:
                failures.append(
                    {
                        "query": query.text,
                        "satisfying": len(query.satisfying),
                        "right_in_top": good,
                        "k": k,
                    }
                )
    possible_count = sum(1 for q in queries if q.satisfying)
    impossible_count = len(queries) - possible_count
    return {
        "queries": len(queries),
        "satisfiable": possible_count,
        "impossible": impossible_count,
        "with_negation": sum(1 for q in queries if q.negated),
        "constraint_precision@10": round(sum(precision) / len(precision), 4) if precision else 0.0,
        "per_constraint_precision": {
            kind: round(right / total, 4) for kind, (right, total) in per_kind.items() if total
        },
        "negation_violations": violations,
        "queries_with_a_violation": violated_queries,
        "match_correct": {
            "satisfiable_said_exact": _share(match["possible_right"], possible_count),
            "impossible_said_no_exact": _share(match["impossible_right"], impossible_count),
        },
        "worst": failures,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate_demo_search(
    data: Path, search: Search, count: int = 300, seed: int = 0, phrasing: str = "plain"
) -> dict[str, Any]:
    """Generate judged queries from ``data``'s truth and score ``search`` on them."""
    truth_file, catalog = data / "truth.jsonl", data / "catalog.jsonl"
    for path in (truth_file, catalog):
        if not path.is_file():
            raise ShopKGError(
                f"{path} not found; write the demo with `shopkg demo-catalog --truth`"
            )
    facts = item_facts(list(read_truth(truth_file)), catalog)
    queries = generate_queries(facts, count, seed, phrasing=phrasing)
    return {"seed": seed, "phrasing": phrasing, **evaluate_queries(queries, facts, search)}
