"""The brand of a listing that leaves its brand field empty, read from its title.

Many listings name their brand only in the title ("Copperleaf Chef's Lite Frying Pan, 30 cm",
"Frying Pan by Copperleaf"). Across a catalog the brands other listings state are known, and
so is how this catalog writes titles: a brand whose own listings mostly open their titles
with it (:data:`MIN_TITLE_SHARE`) is read from the start of a title too, and any known brand
after "by". The longest brand that fits wins; the fact carries extractor
:data:`BRAND_FROM_TITLE` and a confidence below the catalog's own 1.0. A listing that states
a brand, or whose title names none, is left as it is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from extraction.facts import RecordFacts

BRAND_FROM_TITLE = "shopkg.brand_from_title@1"
MIN_ITEMS = 2  # a brand stated by fewer listings is not read into others
MIN_TITLE_SHARE = 0.8  # of a brand's own listings whose titles open with it
AT_START = 0.85  # confidence of a brand read from the start of a title
AFTER_BY = 0.8  # … and after "by"


def _title(facts: RecordFacts) -> str:
    for node in facts.nodes_of("Item"):
        return " ".join(str(node.properties.get("name") or "").lower().split())
    return ""


def _brands(facts: RecordFacts) -> list[str]:
    return [rel.target[1] for rel in facts.relations if rel.type == "HAS_BRAND"]


def _opens(title: str, brand: str) -> bool:
    return re.match(rf"{re.escape(brand)}(?!\w)", title) is not None


def infer_brands(records: Sequence[RecordFacts]) -> int:
    """Give each listing without a brand the one its title names; returns how many were
    given. ``records`` must be copies the caller may change."""
    stated: Counter[str] = Counter()
    opening: Counter[str] = Counter()
    names: dict[str, str] = {}
    for facts in records:
        if facts.error is not None:
            continue
        title = _title(facts)
        for key in _brands(facts):
            stated[key] += 1
            opening[key] += _opens(title, key)
        for node in facts.nodes_of("Brand"):
            names.setdefault(node.key, str(node.properties.get("name") or node.key))
    known = sorted((k for k, n in stated.items() if n >= MIN_ITEMS), key=lambda k: (-len(k), k))
    leading = [k for k in known if opening[k] / stated[k] >= MIN_TITLE_SHARE]
    given = 0
    for facts in records:
        if facts.error is not None or _brands(facts):
            continue
        title = _title(facts)
        found = next(((k, AT_START) for k in leading if _opens(title, k)), None) or next(
            (
                (k, AFTER_BY)
                for k in known
                if re.search(rf"(?<!\w)by {re.escape(k)}(?!\w)", title) is not None
            ),
            None,
        )
        if found is None:
            continue
        key, confidence = found
        facts.nodes, facts.relations = list(facts.nodes), list(facts.relations)
        brand = facts.add_node("Brand", key, BRAND_FROM_TITLE, confidence, name=names[key])
        facts.add_relation(
            "HAS_BRAND", ("Item", facts.source_record), brand, BRAND_FROM_TITLE, confidence
        )
        given += 1
    return given
