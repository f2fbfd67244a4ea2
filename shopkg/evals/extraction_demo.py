"""How right the whole extraction is, against the demo catalog's truth, per fact type.

The demo generator decides what each item is before it writes the record (``truth.jsonl``,
:mod:`catalog.demo.truth`): its category, brand, every attribute value (also those the record
leaves out of its structured attributes), its points of interest, the problems it solves, the
scenes and crowds it suits. A build of that catalog should hold exactly those facts. This
reads them back from the built KG, as the card and the search read them, and scores each fact
type with micro precision, recall and F1 over ``(item, fact)`` pairs, plus the pairs missed
and wrongly added most often, so a low figure says where to look.

Names are compared after the KG's own normalization (:func:`extraction.values.canonical`
for values; lower case, collapsed spaces and a singular last word for names): "30 cm" and
"300 mm" are one diameter, "PFOA-free" and "pfoa-free" one POI, "students" and "student" one
crowd. The truth speaks the generator's vocabulary while a record speaks one of that entry's
wordings (:mod:`catalog.demo.vocab`): a record of a "navy" item may say "Navy Blue", one made
for "camping" says "camping trips", one with the POI "non-stick" says "a non-stick coating".
A KG fact is right when it names the true fact or one of the wordings the generator writes
for it; a truth fact is found when some KG fact names it so. Nothing else is accepted:
"camping" is not "hiking", "off-white" is white only because the generator writes white so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.demo.text import bare
from catalog.demo.truth import Truth, read_truth, records_by_id
from catalog.demo.vocab import COLOURS, POIS, SCENES
from extraction.lexicons import singular_phrase
from extraction.values import canonical, canonical_attribute
from foundation.errors import ShopKGError

if TYPE_CHECKING:
    import networkx as nx

    from kg import GraphStore

FACT_TYPES = ("category", "brand", "value", "poi", "problem", "scene", "crowd")
TOP = 10  # the most often missed / wrongly added facts listed per type

Facts = dict[str, dict[str, set[str]]]  # fact type -> item key -> facts
Wordings = dict[str, frozenset[str]]  # a true fact -> the names that state it
LEADING = ("on ", "at ", "in ", "during ", "with ", "for ", "around ")
ARTICLES = ("the ", "a ", "an ", "your ")


def _name(text: object) -> str:
    """Lower case, single spaces, hyphens as spaces ("dishwasher-safe" is "dishwasher safe"),
    the last word singular."""
    return singular_phrase(" ".join(str(text).lower().replace("-", " ").split()))


def _value(attribute: str, value: str) -> str:
    name = canonical_attribute(attribute)
    return f"{name}={canonical(value, name)}"


def _unled(phrase: str) -> str:
    """A wording without the preposition and article it follows in a sentence ("at the
    campsite", "a good night's sleep")."""
    for leading in (LEADING, ARTICLES):
        for lead in leading:
            if phrase.startswith(lead):
                phrase = phrase[len(lead) :]
                break
    return phrase


def _wordings() -> dict[str, Wordings]:
    """Per fact type, the generator's wordings of each of its names (in normal form)."""
    colours = {
        _value("color", c.name): frozenset(_value("color", s) for s in (c.name, *c.spellings))
        for c in COLOURS.values()
    }
    pois = {
        _name(poi): frozenset({_name(poi), _name(bare(feature))}) for poi, feature in POIS.items()
    }
    scenes = {
        _name(s.name): frozenset(_name(_unled(w)) for w in (s.name, s.at, s.for_))
        for s in SCENES.values()
    }
    return {"value": colours, "poi": pois, "scene": scenes}


def truth_facts(truths: Iterable[Truth]) -> Facts:
    """What each item really is, per fact type, in the evaluation's normal form."""
    facts: Facts = {kind: {} for kind in FACT_TYPES}
    for t in truths:
        facts["category"][t.id] = {_name(" > ".join(t.category))}
        facts["brand"][t.id] = {_name(t.brand)} if t.brand else set()
        facts["value"][t.id] = {_value(a, v) for a, v in t.attributes.items()}
        facts["poi"][t.id] = {_name(p) for p in t.pois}
        facts["problem"][t.id] = {_name(p) for p in t.problems}
        facts["scene"][t.id] = {_name(s) for s in t.scenes}
        facts["crowd"][t.id] = {_name(c) for c in t.crowds}
    return facts


def kg_facts(graph: nx.MultiDiGraph[tuple[str, str]], items: Iterable[str]) -> Facts:
    """What the KG holds about ``items``, per fact type, in the evaluation's normal form."""
    facts: Facts = {kind: {} for kind in FACT_TYPES}
    for key in items:
        node = ("Item", key)
        found: dict[str, set[str]] = {kind: set() for kind in FACT_TYPES}
        if node in graph:
            for _, target, relation in graph.out_edges(node, keys=True):
                label, target_key = target
                data = graph.nodes[target]
                name = _name(data.get("name") or target_key)
                if relation == "IN_CATEGORY":
                    found["category"].add(_name(target_key))
                elif relation == "HAS_BRAND":
                    found["brand"].add(name)
                elif relation == "HAS_VALUE":
                    attribute = str(data.get("attribute") or "")
                    found["value"].add(_value(attribute, str(data.get("value") or "")))
                elif relation == "HAS_POI":
                    found["poi"].add(name)
                elif relation == "SUITS" and label in ("Scene", "Crowd"):
                    found[label.lower()].add(name)
                elif relation == "SOLVES" and label == "Problem":  # the item's own problems
                    found["problem"].add(name)
        for kind in FACT_TYPES:
            facts[kind][key] = found[kind]
    return facts


def score(
    gold: dict[str, set[str]], predicted: dict[str, set[str]], wordings: Wordings | None = None
) -> dict[str, Any]:
    """Precision (KG facts that state a true fact), recall (true facts some KG fact states)
    and F1, micro over items, with the facts most often missed and wrongly added."""
    wordings = wordings or {}
    right_found = found_count = right_true = true_count = 0
    missed: Counter[str] = Counter()
    added: Counter[str] = Counter()
    for key, truth in gold.items():
        found = predicted.get(key, set())
        said = {fact: wordings.get(fact, frozenset()) | {fact} for fact in truth}
        stating = {fact for fact in found if any(fact in names for names in said.values())}
        stated = {fact for fact, names in said.items() if names & found}
        right_found += len(stating)
        found_count += len(found)
        right_true += len(stated)
        true_count += len(truth)
        missed.update(truth - stated)
        added.update(found - stating)
    precision = right_found / found_count if found_count else 0.0
    recall = right_true / true_count if true_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true": true_count,
        "found": found_count,
        "missed_most": missed.most_common(TOP),
        "added_most": added.most_common(TOP),
    }


def _record_text(record: dict[str, Any]) -> str:
    """Everything a record says, in lower case with single spaces: the reach of extraction."""
    parts = [str(record.get(k) or "") for k in ("title", "description", "brand")]
    parts += [str(b) for b in record.get("bullets") or []]
    parts += [f"{k}: {v}" for k, v in (record.get("attributes") or {}).items()]
    parts += [str(r.get("text", "")) for r in record.get("reviews") or [] if isinstance(r, dict)]
    for qa in record.get("qa") or []:
        if isinstance(qa, dict):
            parts += [str(qa.get("question", "")), str(qa.get("answer", ""))]
    return " ".join(" ".join(parts).lower().split())


def _said(text: str, names: Iterable[str]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(name)}", text) for name in names if name)


def stated_in_text(truths: Sequence[Truth], catalog: Path) -> dict[str, float]:
    """Per fact type, the share of true facts the item's record states in some wording: how
    much an extractor that reads only the record can find (the rest the generator decided but
    did not write). Values count as stated when a structured attribute gives them."""
    records = records_by_id(catalog)
    said: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for t in truths:
        record = records.get(t.id, {})
        text = _record_text(record)
        listed = {_value(str(k), str(v)) for k, v in (record.get("attributes") or {}).items()}
        scene_words = {s.name: (s.name, _unled(s.at), s.for_) for s in SCENES.values()}
        checks: dict[str, list[bool]] = {
            "category": [list(record.get("category") or []) == list(t.category)],
            "brand": [bool(t.brand) and t.brand.lower() in text],
            "value": [
                _value(a, v) in listed
                or _said(text, _colour_spellings(v) if canonical_attribute(a) == "color" else [v])
                for a, v in t.attributes.items()
            ],
            "poi": [_said(text, (p.lower(), bare(POIS.get(p, p)).lower())) for p in t.pois],
            "problem": [_said(text, (p.lower(),)) for p in t.problems],
            "scene": [_said(text, scene_words.get(s, (s,))) for s in t.scenes],
            "crowd": [_said(text, (c.lower(),)) for c in t.crowds],
        }
        for kind, found in checks.items():
            said[kind] += sum(found)
            total[kind] += len(found)
    return {kind: round(said[kind] / total[kind], 4) if total[kind] else 0.0 for kind in total}


def _colour_spellings(value: str) -> list[str]:
    colour = COLOURS.get(value.lower())
    return [value.lower()] if colour is None else [colour.name, *colour.spellings]


def evaluate_demo_extraction(
    store: GraphStore, truth_file: Path, catalog: Path | None = None
) -> dict[str, Any]:
    """Per fact type, how well the KG in ``store`` holds the truth of ``truth_file``'s items
    (and, given the ``catalog`` they were built from, how much of it their text states)."""
    truths = list(read_truth(truth_file))
    if not truths:
        raise ShopKGError(f"{truth_file} holds no items")
    graph = store.export_networkx(
        labels=("Item", "Category", "Brand", "Value", "POI", "Problem", "Scene", "Crowd"),
        relations=("IN_CATEGORY", "HAS_BRAND", "HAS_VALUE", "HAS_POI", "SOLVES", "SUITS"),
    )
    keys = [t.id for t in truths]
    built = {key for label, key in graph.nodes if label == "Item"}
    gold, found = truth_facts(truths), kg_facts(graph, keys)
    wordings = _wordings()
    types = {kind: score(gold[kind], found[kind], wordings.get(kind)) for kind in FACT_TYPES}
    if catalog is not None and catalog.is_file():
        for kind, share in stated_in_text(truths, catalog).items():
            types[kind]["stated_in_text"] = share
    return {
        "truth_items": len(keys),
        "built_items": len(built),
        "matched_items": len(built & set(keys)),
        "fact_types": types,
        "lowest_f1": min(types.values(), key=lambda s: s["f1"])["f1"],
    }
