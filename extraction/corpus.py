"""Catalog-level extraction: run the pipeline over records, then mine what needs them all.

Per record the pipeline gives facts; across the catalog come concepts (scored over all
titles, with is-a links and Item MENTIONS Concept), entity resolution (names merged within a
label, every fact rewritten to the canonical key), the POIs a listing's feature phrases
state (:mod:`extraction.propagation`), the brand a listing names only in its title
(:mod:`extraction.brands`), the problems each item helps with (its own text's,
and its concept's through a POI it has: :mod:`extraction.item_problems`) and dictionary
entries (Entry nodes with a gloss built from the data, DEFINES the concept or value they
describe) — the plug-in knowledge a DictBERT-style reader fetches.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from catalog.schema import CatalogRecord
from extraction.brands import infer_brands
from extraction.concepts import ConceptMiner, ConceptSet
from extraction.facts import ExtractedNode, ExtractedRelation, NodeRef, RecordFacts
from extraction.item_problems import add_item_problems
from extraction.pipeline import ExtractionPipeline, ExtractionReport
from extraction.propagation import propagate_pois
from extraction.resolution import RESOLVER, Encoder, Merge, resolve

CONCEPTS = "shopkg.concept_miner@1"
ENTRIES = "shopkg.dictionary_entries@1"
RESOLVED_LABELS = ("Brand", "Concept", "POI", "Problem", "Scene", "Crowd")


@dataclass
class CatalogFacts:
    """Facts per record, catalog-level facts (concepts, entries), merges and the counts."""

    records: list[RecordFacts]
    corpus: RecordFacts
    merges: list[Merge] = field(default_factory=list)
    report: ExtractionReport = field(default_factory=ExtractionReport)


def extract_catalog(
    records: Iterable[CatalogRecord | Mapping[str, Any]],
    pipeline: ExtractionPipeline,
    catalog: str = "catalog",
    encoder: Encoder | None = None,
    min_concept_items: int = 2,
) -> CatalogFacts:
    """Extract every record, then concepts, merges and entries across the catalog."""
    return mine_catalog(list(pipeline.extract_many(records)), catalog, encoder, min_concept_items)


def mine_catalog(
    record_facts: Sequence[RecordFacts],
    catalog: str = "catalog",
    encoder: Encoder | None = None,
    min_concept_items: int = 2,
) -> CatalogFacts:
    """Concepts, merges and entries across the catalog, from every record's pipeline facts.

    ``record_facts`` are what the pipeline gave (from this run or a cache of earlier runs);
    they are left as they are: the catalog-level facts go on rewritten copies.
    """
    miner = ConceptMiner(min_items=min_concept_items)
    report = ExtractionReport()
    all_facts = [replace(facts, relations=list(facts.relations)) for facts in record_facts]
    for facts in all_facts:
        report.count(facts)
        if facts.error is None:
            category = [str(n.properties.get("name", "")) for n in facts.nodes_of("Category")]
            miner.add(facts.source_record, facts.concept_candidates, category)
    corpus = RecordFacts(f"catalog:{catalog}")
    concepts = miner.mine()
    _add_concepts(concepts, corpus, all_facts)
    merges = resolve(_names([*all_facts, corpus]), encoder=encoder)
    rewrite = {(m.label, name): m.canonical for m in merges for name in m.members}
    all_facts = [_rewritten(facts, rewrite) for facts in all_facts]
    propagate_pois(all_facts)
    infer_brands(all_facts)
    corpus = _rewritten(corpus, rewrite)
    add_item_problems(all_facts)
    _add_entries(corpus, all_facts, merges)
    return CatalogFacts(all_facts, corpus, merges, report)


def _add_concepts(concepts: ConceptSet, corpus: RecordFacts, records: list[RecordFacts]) -> None:
    for concept in concepts.concepts.values():
        corpus.add_node(
            "Concept",
            concept.name,
            CONCEPTS,
            concept.confidence,
            name=concept.name,
            items=concept.items,
            score=concept.score,
        )
    for concept in concepts.concepts.values():
        if concept.parent and concept.parent in concepts.concepts:
            parent = concepts.concepts[concept.parent]
            confidence = round(min(concept.confidence, parent.confidence), 3)
            corpus.add_relation(
                "IS_A",
                ("Concept", concept.name),
                ("Concept", parent.name),
                CONCEPTS,
                confidence,
                evidence="category path" if concept.from_category else "head word",
            )
    by_id = {facts.source_record: facts for facts in records}
    for record_id, mentioned in concepts.mentions.items():
        for name, confidence in mentioned:
            item: NodeRef = ("Item", record_id)
            by_id[record_id].add_relation("MENTIONS", item, ("Concept", name), CONCEPTS, confidence)


def _names(all_facts: list[RecordFacts]) -> dict[str, Counter[str]]:
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for facts in all_facts:
        for node in facts.nodes:
            if node.label in RESOLVED_LABELS:
                names[node.label][node.key] += 1
        for rel in facts.relations:
            if rel.target[0] in RESOLVED_LABELS and rel.target[0] != "Concept":
                names[rel.target[0]][rel.target[1]] += 1
    return names


def _rewritten(facts: RecordFacts, rewrite: dict[tuple[str, str], str]) -> RecordFacts:
    touched = any(node.ref in rewrite for node in facts.nodes) or any(
        rel.source in rewrite or rel.target in rewrite for rel in facts.relations
    )
    if not touched:  # most records name nothing that was merged
        return facts

    def ref(node: NodeRef) -> NodeRef:
        return (node[0], rewrite.get(node, node[1]))

    nodes: dict[tuple[NodeRef, str], ExtractedNode] = {}
    for node in facts.nodes:
        new = replace(node, key=ref(node.ref)[1])
        if new.key != node.key:
            merged = [*new.properties.get("merged_from", []), node.key]
            new = replace(new, properties={**new.properties, "merged_from": merged})
        nodes.setdefault((new.ref, node.provenance.extractor), new)
    relations: dict[tuple[str, NodeRef, NodeRef, str], ExtractedRelation] = {}
    for rel in facts.relations:
        new_rel = replace(rel, source=ref(rel.source), target=ref(rel.target))
        key = (new_rel.type, new_rel.source, new_rel.target, rel.provenance.extractor)
        if key not in relations or relations[key].provenance.confidence < rel.provenance.confidence:
            relations[key] = new_rel
    return replace(facts, nodes=list(nodes.values()), relations=list(relations.values()))


def _add_entries(corpus: RecordFacts, records: list[RecordFacts], merges: list[Merge]) -> None:
    """Entry nodes for concepts and values, glossed from what the catalog says about them."""
    aliases: dict[NodeRef, set[str]] = defaultdict(set)
    for merge in merges:
        aliases[(merge.label, merge.canonical)].update(m for m in merge.members)
    values_of: dict[str, Counter[str]] = defaultdict(Counter)
    pois_of: dict[str, Counter[str]] = defaultdict(Counter)
    concepts_of: dict[str, Counter[str]] = defaultdict(Counter)
    categories_of: dict[str, Counter[str]] = defaultdict(Counter)
    for facts in records:
        mentioned = [r.target[1] for r in facts.relations_of("MENTIONS")]
        values = [r.target[1] for r in facts.relations_of("HAS_VALUE")]
        pois = [r.target[1] for r in facts.relations_of("HAS_POI")]
        leaf = [r.target[1].rsplit(" > ", 1)[-1] for r in facts.relations_of("IN_CATEGORY")]
        for concept in mentioned:
            values_of[concept].update(v.split("=", 1)[1] for v in values)
            pois_of[concept].update(pois)
            categories_of[concept].update(leaf)
        for value in values:
            concepts_of[value].update(mentioned)
    parents = {r.source[1]: r.target[1] for r in corpus.relations_of("IS_A")}
    for node in list(corpus.nodes_of("Concept")):
        parts = []
        if node.key in parents:
            parts.append(f"a kind of {parents[node.key]}")
        often = [v for v, _ in (values_of[node.key] + pois_of[node.key]).most_common(3)]
        if often:
            parts.append(f"often {', '.join(often)}")
        if categories_of[node.key]:
            parts.append(f"found in {categories_of[node.key].most_common(1)[0][0]}")
        _entry(corpus, node.ref, node.key, "; ".join(parts) or node.key, aliases[node.ref])
    for value_key, concepts in concepts_of.items():
        attribute, _, value = value_key.partition("=")
        seen_on = ", ".join(c for c, _ in concepts.most_common(3))
        gloss = f"a {attribute} value" + (f", seen on {seen_on}" if seen_on else "")
        _entry(corpus, ("Value", value_key), value, gloss, set())


def _entry(corpus: RecordFacts, target: NodeRef, name: str, gloss: str, aliases: set[str]) -> None:
    key = f"{target[0]}:{target[1]}"
    names = sorted(aliases - {name})
    entry = corpus.add_node("Entry", key, ENTRIES, 0.9, name=name, aliases=names, gloss=gloss)
    corpus.add_relation("DEFINES", entry, target, ENTRIES, 0.9)
    if names:
        corpus.add_relation("DEFINES", entry, target, RESOLVER, 0.9, merged=names)
