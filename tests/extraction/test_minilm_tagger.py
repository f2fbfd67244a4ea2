"""The MiniLM attribute tagger: windows over long texts, decoding, the shipped model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from extraction.ave import read_ave
from extraction.minilm_tagger import (
    WINDOW_TOKENS,
    MiniLMTagger,
    decode_pieces,
    load_tokenizer,
    make_windows,
)
from extraction.value_taggers import SHIPPED_EXTRACTOR, extractor_dir, load_value_tagger

AVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "ave"
TAGS = ["O", "B-brand", "I-brand", "B-color", "I-color"]


class MarksWords:
    """A stand-in network that tags the word pieces of chosen words (B on the first piece of
    each, I after it), so the windowing and decoding around the model can be checked exactly."""

    def __init__(self, tokenizer: Any, marks: dict[str, str]) -> None:
        self.ids: dict[int, str] = {}
        for word, label in marks.items():
            for n, piece in enumerate(tokenizer(word, add_special_tokens=False)["input_ids"]):
                self.ids[piece] = f"{'B' if n == 0 else 'I'}-{label}"

    def logits(self, ids: Any, mask: Any) -> Any:
        import torch

        out = torch.zeros((*ids.shape, len(TAGS)))
        out[..., 0] = 1.0
        for (row, col), piece in np.ndenumerate(ids.numpy()):
            if piece in self.ids:
                out[row, col, TAGS.index(self.ids[piece])] = 5.0
        return out


def tagger_marking(marks: dict[str, str]) -> MiniLMTagger:
    tokenizer = load_tokenizer()
    manifest = {"version": "test", "tags": TAGS, "threshold": 0.5}
    return MiniLMTagger(MarksWords(tokenizer, marks), tokenizer, manifest)  # type: ignore[arg-type]


def test_a_long_description_is_read_whole_in_overlapping_windows() -> None:
    filler = " ".join(f"word{i}" for i in range(700))
    text = f"Plain title\n{filler} made by Zorbix in navy {filler} end"
    windows = make_windows(load_tokenizer(), [text], ["catalog"], ["Shoes"])
    assert len(windows) > 5 and all(len(w.ids) <= WINDOW_TOKENS for w in windows)
    covered = {o for w in windows for o in w.offsets if o is not None}
    assert max(end for _, end in covered) == len(text)
    found = tagger_marking({"zorbix": "brand", "navy": "color"}).extract(
        [text], ["catalog"], ["Shoes"]
    )[0]
    assert [(m.attribute, m.text) for m in found] == [("brand", "Zorbix"), ("color", "navy")]
    assert text[found[0].start_char : found[0].end_char] == "Zorbix"
    assert text.index("Zorbix") > 3000  # far past the first window


def test_a_word_goes_with_its_first_piece_and_punctuation_stands_alone() -> None:
    text = "Zorbixes, red"
    pieces = [(0, 6, "B-brand"), (6, 8, "O"), (8, 9, "O"), (10, 13, "I-color")]
    rows = [(a, b, np.eye(len(TAGS))[TAGS.index(tag)]) for a, b, tag in pieces]
    spans = decode_pieces(text, rows, TAGS)
    assert [(label, value) for label, value, *_ in spans] == [
        ("brand", "Zorbixes"),  # "es" is glued to "Zorbix": one word, one value
        ("color", "red"),  # an I- with nothing to continue starts a value
    ]


def test_empty_and_blank_texts_give_no_values() -> None:
    tagger = tagger_marking({"red": "color"})
    assert tagger.extract(["", "   ", "red"], ["catalog"] * 3, [""] * 3) == [
        [],
        [],
        tagger.extract(["red"], ["catalog"], [""])[0],
    ]


@pytest.fixture(scope="module")
def shipped() -> MiniLMTagger:
    tagger = load_value_tagger(SHIPPED_EXTRACTOR)
    assert isinstance(tagger, MiniLMTagger)
    return tagger


def test_the_build_uses_a_trained_extractor_before_the_shipped_one(tmp_path: Path) -> None:
    assert extractor_dir(tmp_path) == SHIPPED_EXTRACTOR
    (tmp_path / "extractor").mkdir()
    (tmp_path / "extractor" / "manifest.json").write_text("{}", encoding="utf-8")
    assert extractor_dir(tmp_path) == tmp_path / "extractor"


def test_the_shipped_extractor_finds_values_in_titles_it_never_saw(shipped: MiniLMTagger) -> None:
    found = shipped.extract(
        ["Merrell Women's Moab 3 Waterproof Hiking Shoe, Black/Grey, 8 M US"],
        ["oa-mine"],
        ["Shoes"],
    )[0]
    pairs = {(m.attribute, m.text) for m in found}
    assert ("brand", "Merrell") in pairs and ("gender", "Women's") in pairs
    assert all(0.0 <= m.confidence <= 1.0 for m in found)


@pytest.mark.skipif(not AVE.is_dir(), reason="needs ../shared/data/ave")
def test_the_shipped_extractor_beats_the_dictionary_on_the_dev_fifth(
    shipped: MiniLMTagger,
) -> None:
    from extraction.evaluate import DictionaryBaseline, evaluate_examples
    from extraction.tagger import read_dictionary

    dev = [e for e in read_ave(AVE / "ae-110k" / "train.jsonl", "ae-110k") if e.split == "dev"]
    baseline = DictionaryBaseline(read_dictionary(SHIPPED_EXTRACTOR))
    result = evaluate_examples(dev[:120], shipped, baseline)
    assert result["model"]["exact"]["f1"] > result["dictionary_baseline"]["exact"]["f1"] + 0.1
    at = result["model_at_threshold"]["exact"]
    assert at["precision"] >= result["model"]["exact"]["precision"]


def test_the_manifest_says_what_trained_the_shipped_model() -> None:
    manifest = json.loads((SHIPPED_EXTRACTOR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["architecture"] == "minilm-lora-bio"
    assert {"fit", "val", "dev"} == set(manifest["examples"])
    assert 0.0 < manifest["threshold"] < 1.0
    assert manifest["calibration"]["x"] == sorted(manifest["calibration"]["x"])


def test_the_pipeline_with_the_shipped_tagger_survives_bad_records(
    shipped: MiniLMTagger,
) -> None:
    from extraction.pipeline import build_pipeline

    records: list[dict[str, Any]] = [
        {"id": "ok", "title": "Merrell Men's Moab 3 Hiking Boot, Brown", "category": ["Boots"]},
        {"id": "empty", "title": ""},
        {"id": "huge", "title": "Lamp", "description": "bright warm light " * 60_000},  # 1 MB
        {"id": "long", "title": "Lamp", "description": "bright warm light " * 5_000},
        {"id": "html", "title": "<b>Acme</b> kettle &amp; <script>x()</script> 1.7 L"},
        {"id": "mojibake", "title": "CafÃ© crÃ¨me mug, 350 ml"},
        {"id": "japanese", "title": "防水 ハイキングシューズ メンズ 黒"},
    ]
    facts = list(build_pipeline(model_dir=SHIPPED_EXTRACTOR).extract_many(records))
    assert [f.source_record for f in facts] == [r["id"] for r in records]
    errors = {f.source_record: f.error for f in facts if f.error is not None}
    assert set(errors) == {"empty", "huge"}
    assert "title" in str(errors["empty"]) and "description" in str(errors["huge"])
    by_tagger = [
        r.target
        for r in facts[0].relations_of("HAS_VALUE")
        if r.provenance.extractor == shipped.extractor
    ]
    assert by_tagger, "the shipped tagger found no value in a plain title"


def test_the_tagger_fills_only_what_the_record_does_not_state(shipped: MiniLMTagger) -> None:
    from extraction.pipeline import build_pipeline

    title = "Merrell Men's Moab 3 Hiking Boot, Brown"
    bare = {"id": "bare", "title": title, "category": ["Boots"]}
    stated = {**bare, "id": "stated", "brand": "Merrell", "attributes": {"colour": "brown"}}
    facts = list(build_pipeline(model_dir=SHIPPED_EXTRACTOR).extract_many([bare, stated]))

    def tagged(f: Any) -> set[str]:
        return {
            r.target[1].split("=")[0]
            for r in f.relations_of("HAS_VALUE")
            if r.provenance.extractor == shipped.extractor
        }

    assert {"brand", "color"} <= tagged(facts[0])
    assert not tagged(facts[1]) & {"brand", "color"}
    assert ("Value", "color=brown") in {r.target for r in facts[1].relations_of("HAS_VALUE")}
