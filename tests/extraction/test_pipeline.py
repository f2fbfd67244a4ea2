from __future__ import annotations

from pathlib import Path

import pytest

from catalog.schema import CatalogRecord
from extraction.components import DictionaryEntry
from extraction.facts import ExtractedNode, ExtractedRelation
from extraction.pipeline import DEFAULT_CONFIG, ExtractionPipeline, build_pipeline
from foundation.errors import ExtractionError
from kg import SHOPKG_ONTOLOGY, Provenance

ENTRIES = [
    DictionaryEntry("Brand", "acme", ("Acme", "ACME Corp")),
    DictionaryEntry("Value", "material=gore-tex", ("Gore-Tex", "goretex")),
    DictionaryEntry("Scene", "mountain marathon", ("mountain marathon",)),
]


@pytest.fixture(scope="module")
def pipeline() -> ExtractionPipeline:
    return build_pipeline(ENTRIES)


def record(**fields: object) -> CatalogRecord:
    return CatalogRecord.model_validate({"id": "r1", "title": "Acme Trail Boot", **fields})


def test_needs_problems_scenes_and_crowds_with_solves_and_suits(
    pipeline: ExtractionPipeline,
) -> None:
    facts = pipeline.extract(
        record(
            description="Waterproof boots that keep your feet dry on rainy commutes.",
            bullets=["Perfect for toddlers", "Prevents blisters", "Great for mountain marathon"],
        )
    )
    assert facts.error is None
    solves = {(r.source, r.target) for r in facts.relations_of("SOLVES")}
    assert (("POI", "waterproof"), ("Problem", "wet feet")) in solves
    suits = {r.target for r in facts.relations_of("SUITS")}
    assert {("Scene", "rainy commute"), ("Crowd", "toddler")} <= suits
    assert ("Scene", "mountain marathon") in suits  # the lexicon learnt the KG's own scene
    assert ("Problem", "blisters") in {n.ref for n in facts.nodes}


def test_dictionary_matcher_uses_the_entries_passed_in(pipeline: ExtractionPipeline) -> None:
    facts = pipeline.extract(record(title="ACME Corp shell with GORETEX lining"))
    assert ("Brand", "acme") in {r.target for r in facts.relations_of("HAS_BRAND")}
    assert ("Value", "material=gore-tex") in {r.target for r in facts.relations_of("HAS_VALUE")}
    bare = build_pipeline().extract(record(title="ACME Corp shell with GORETEX lining"))
    assert not bare.relations_of("HAS_BRAND")


def test_every_fact_has_provenance(pipeline: ExtractionPipeline) -> None:
    facts = pipeline.extract(
        record(category=["Shoes", "Boots"], brand="Acme", attributes={"volume": "0.5 L"})
    )
    all_facts: list[ExtractedNode | ExtractedRelation] = [*facts.nodes, *facts.relations]
    for fact in all_facts:
        assert fact.provenance.source == "r1"
        assert "@" in fact.provenance.extractor
        assert 0 <= fact.provenance.confidence <= 1
    values = {r.target for r in facts.relations_of("HAS_VALUE")}
    assert ("Value", "volume=500 ml") in values


def test_facts_use_the_graphs_one_ontology_and_provenance(pipeline: ExtractionPipeline) -> None:
    facts = pipeline.extract(record(category=["Shoes", "Boots"], brand="Acme"))
    all_facts: list[ExtractedNode | ExtractedRelation] = [*facts.nodes, *facts.relations]
    assert all(isinstance(fact.provenance, Provenance) for fact in all_facts)
    assert {n.label for n in facts.nodes} <= set(SHOPKG_ONTOLOGY.labels)
    assert {r.type for r in facts.relations} <= set(SHOPKG_ONTOLOGY.relation_types)
    with pytest.raises(ValueError, match="unknown node label"):
        ExtractedNode("Gadget", "x", {}, Provenance("r1", "t@1", 1.0))
    with pytest.raises(ValueError, match="unknown relation type"):
        ExtractedRelation("OWNS", ("Item", "a"), ("Brand", "b"), {}, Provenance("r1", "t@1", 1.0))


@pytest.mark.parametrize(
    ("provenance", "message"),
    [
        (Provenance("r1", "tagger", 0.5), "name@version"),
        (Provenance("r1", "t@1", 1.5), r"\[0, 1\]"),
    ],
)
def test_a_fact_with_malformed_provenance_is_refused(provenance: Provenance, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExtractedNode("Item", "x", {}, provenance)


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        ({"id": "e", "title": ""}, "invalid record"),
        ({"id": "big", "title": "Mug", "description": "x" * 1_000_000}, "invalid record"),
        ({"id": "m", "title": "Caf\u00c3\u00a9 mug", "description": "â€œniceâ€\x9d"}, None),
        ({"id": "h", "title": "<b>Mug</b> &amp; lid", "description": "<ul><li>a</li>"}, None),
        ({"id": "zh", "title": "保温杯 500毫升", "description": "适合 办公室"}, None),
        ({"id": "ru", "title": "Кружка для кофе", "description": "Подходит для дома"}, None),
    ],
)
def test_bad_input_gives_a_result_or_a_clear_error_and_is_counted(
    data: dict[str, object], outcome: str | None
) -> None:
    pipeline = build_pipeline()
    facts = pipeline.extract(data)
    if outcome is None:
        assert facts.error is None
        assert facts.nodes_of("Item")
        assert "<" not in facts.nodes_of("Item")[0].properties["name"]
    else:
        assert facts.error is not None and facts.error.startswith(outcome)
    assert pipeline.report.extracted + pipeline.report.failed == 1


def test_an_oversized_field_is_truncated_with_a_warning() -> None:
    big = CatalogRecord.model_construct(
        id="big",
        title="Mug",
        description="warm mug. " * 100_000,
        bullets=[],
        attributes={},
        category=[],
        brand=None,
        price=None,
        currency=None,
        images=[],
        reviews=[],
        qa=[],
    )
    facts = build_pipeline().extract(big)
    assert facts.error is None
    assert any("truncated" in warning for warning in facts.warnings)


def test_a_step_that_fails_fails_only_its_record(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = build_pipeline()

    monkeypatch.setattr(pipeline.nlp.get_pipe("need_finder"), "finder", None)
    results = list(pipeline.extract_many([record(), {"id": "2", "title": "Mug"}]))
    assert all(r.error and "extraction failed" in r.error for r in results)
    assert pipeline.report.failed == 2


def test_misordered_steps_are_refused_before_anything_runs(
    tmp_path: Path, tiny_model: Path
) -> None:
    config = DEFAULT_CONFIG.read_text(encoding="utf-8")
    swapped = config.replace(
        'pipeline = ["normalizer", "dictionary_matcher"',
        'pipeline = ["dictionary_matcher", "normalizer"',
    )
    assert swapped != config
    (tmp_path / "bad.cfg").write_text(swapped, encoding="utf-8")
    with pytest.raises(ExtractionError, match=r"needs doc\._\.normalized"):
        build_pipeline(config_path=tmp_path / "bad.cfg")
    late_tagger = config.replace(
        '"attribute_tagger", "value_normalizer"', '"value_normalizer", "attribute_tagger"'
    )
    (tmp_path / "late.cfg").write_text(late_tagger, encoding="utf-8")
    with pytest.raises(ExtractionError, match="written only later"):
        build_pipeline(config_path=tmp_path / "late.cfg", model_dir=tiny_model)


def test_the_tagger_step_needs_a_trained_model(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="shopkg train extractor"):
        build_pipeline(model_dir=tmp_path)
    assert "attribute_tagger" not in build_pipeline().steps
    assert build_pipeline(steps=["normalizer"]).steps == ["normalizer"]


def test_colour_and_color_grey_and_gray_make_one_value_node(pipeline: ExtractionPipeline) -> None:
    facts = pipeline.extract(
        record(
            title="Acme Trail Boot, grey",
            description="A boot in gray suede.",
            attributes={"Colour": "Gray"},
        )
    )
    colours = {
        (n.properties["attribute"], n.properties["value"])
        for n in facts.nodes
        if n.label == "Value" and "col" in str(n.properties["attribute"])
    }
    assert colours == {("color", "grey")}


def test_a_poi_inside_the_items_category_or_value_names_is_no_point_of_its_own(
    pipeline: ExtractionPipeline,
) -> None:
    facts = pipeline.extract(
        record(
            title="Helix Echo Wireless Earbuds, Pink",
            category=["Electronics", "Audio", "Wireless Earbuds"],
            description="These wireless earbuds are waterproof. Made from Gore-Tex fabric.",
        )
    )
    pois = {r.target[1] for r in facts.relations_of("HAS_POI")}
    assert pois == {"waterproof"}  # "wireless" is part of the category's name

    facts = pipeline.extract(record(description="A wireless mouse, waterproof too."))
    assert {r.target[1] for r in facts.relations_of("HAS_POI")} == {"wireless", "waterproof"}
