"""How right the problems a build says its items help with are, against the demo's truth.

The demo generator decides each item's points of interest first and writes ``truth.jsonl``
with the problems they solve for its product type (a waterproof boot: "wet feet", never
"leaking tent"). This scores what shoppers are told: the problems on each item's card (and
in its answers' evidence), read as the assistant reads them
(:func:`assistant.service.item_facts`), and the items search links to each problem (the
build's graph postings, :mod:`retrieval.graph_postings`), as (item, problem) pairs, by exact
name: precision, recall, and of the problems said that are not the item's product type's
(a shortened name, "slipping" for "slipping on wet ground", counts as the type's), those that
are another type's (``other_type``: reached across categories, a tent's "leaking tent" on a
boot) and those in no type's words (``unnamed``: the text's own, "cold toes" for "cold
feet"). Pairs are also split by what the KG says they rest on: the item's own text, or
only its concept (:mod:`extraction.item_problems`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from assistant.service import item_facts
from catalog.demo.products import DEPARTMENTS
from catalog.demo.truth import read_truth
from catalog.demo.vocab import PROBLEMS
from extraction.item_problems import PROBLEM_SCOPE

Pairs = dict[str, set[str]]  # item key → problem names


def evaluate_problems(
    store: Any, postings: dict[str, dict[str, list[str]]] | None, truth_file: Path
) -> dict[str, Any]:
    """The card's and search's problems in ``store`` (and ``postings``) against the truth."""
    truths = list(read_truth(truth_file))
    truth: Pairs = {t.id: set(t.problems) for t in truths}
    of_type = {k.name: k.problems for department in DEPARTMENTS for k in department.types}
    type_problems = {t.id: of_type.get(t.concept, ()) for t in truths}
    card: Pairs = {key: set(item_facts(store, key)["Problem"]) for key in truth}
    report: dict[str, Any] = {
        "truth_items": len(truth),
        "items_with_problems": sum(1 for found in card.values() if found),
        "card": _scores(card, truth, type_problems),
    }
    if postings is not None:
        search: Pairs = {key: set() for key in truth}
        for problem, items in postings.get("Problem", {}).items():
            name = _name(store, problem)
            for key in items:
                if key in search:
                    search[key].add(name)
        report["search"] = _scores(search, truth, type_problems)
    report["card_by_evidence"] = _by_evidence(store, card, truth)
    return report


def _name(store: Any, key: str) -> str:
    from kg import NodeRef

    node = store.get_node(NodeRef("Problem", key))
    return str(node.name) if node is not None else key


def _scores(said: Pairs, truth: Pairs, type_problems: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    right = sum(len(said[k] & truth[k]) for k in truth)
    told = sum(len(said[k]) for k in truth)
    true = sum(len(truth[k]) for k in truth)
    other_type: Counter[str] = Counter()
    unnamed: Counter[str] = Counter()
    for key in truth:
        for problem in said[key]:
            if any(_part_of(problem, q) for q in type_problems[key]):
                continue
            if any(_part_of(problem, q) for q in PROBLEMS):
                other_type[problem] += 1
            else:
                unnamed[problem] += 1
    return {
        "pairs_said": told,
        "pairs_true": true,
        "precision": _share(right, told),
        "recall": _share(right, true),
        "other_type": sum(other_type.values()),
        "other_type_share": _share(sum(other_type.values()), told),
        "other_type_most_said": dict(other_type.most_common(5)),
        "unnamed": sum(unnamed.values()),
        "unnamed_most_said": dict(unnamed.most_common(5)),
    }


def _part_of(said: str, problem: str) -> bool:
    """``said`` is ``problem`` or its leading words ("slipping" of "slipping on ice")."""
    return said == problem or problem.startswith(said + " ")


def _by_evidence(store: Any, card: Pairs, truth: Pairs) -> dict[str, Any]:
    """Precision of the card's pairs resting on the item's own text, and on its concept only."""
    graph = store.export_networkx(labels=("Item", "Problem"), relations=("SOLVES",))
    concept_only: set[tuple[str, str]] = set()
    for (_, item), (_, problem), _, data in graph.edges(keys=True, data=True):
        extractors = {p["extractor"] for p in data.get("provenance", [data])}
        if extractors == {PROBLEM_SCOPE}:
            concept_only.add((item, str(graph.nodes[("Problem", problem)].get("name", problem))))
    found: dict[str, Any] = {}
    for evidence in ("text", "concept"):
        pairs = [
            (k, p)
            for k in truth
            for p in card[k]
            if ((k, p) in concept_only) == (evidence == "concept")
        ]
        right = sum(1 for k, p in pairs if p in truth[k])
        found[evidence] = {"pairs_said": len(pairs), "precision": _share(right, len(pairs))}
    return found


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
