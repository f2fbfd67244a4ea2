"""Knowledge injection: the fusion module, its training, its files and its use in search."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from encoders.base import EncoderManifest, TextEncoder, Vectors
from foundation.errors import RetrievalError
from foundation.text import SEARCH_TERMS, tokens
from retrieval.injection import (
    EntryGlossary,
    InjectionConfig,
    KnowledgeInjector,
    initial_weights,
    load_injector,
    model_dir,
)
from retrieval.injection_train import (
    InjectionTrainingConfig,
    TrainingExample,
    _fusion_module,
    near_duplicate,
    train_injection,
    word_sets,
)
from retrieval.query import DictionaryEntry, EntityDictionary
from retrieval.search import HybridSearcher
from retrieval.vector_index import VectorIndex

DIM = 32


class HashingTextEncoder(TextEncoder):
    """Bag of hashed words: a real, tiny text encoder (similar wording → similar vectors)."""

    def __init__(self, name: str = "hashing") -> None:
        self._manifest = EncoderManifest(name, "1", DIM, "text")

    @property
    def manifest(self) -> EncoderManifest:
        return self._manifest

    def _encode_texts(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokens(text, SEARCH_TERMS):
                out[row, hashlib.sha256(token.encode()).digest()[0] % DIM] += 1.0
        out[:, 0] += 0.1  # no all-zero rows
        return out


def unit(rows: int, seed: int) -> npt.NDArray[np.float32]:
    vectors = np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)
    return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), dtype=np.float32)


def injector(encoder_id: str = "hashing@1/32", gate_bias: float = -2.0) -> KnowledgeInjector:
    config = InjectionConfig(DIM, encoder_id, hidden=8, rank=4, gate_bias=gate_bias)
    return KnowledgeInjector(config, initial_weights(config, seed=1))


def test_with_no_entries_the_query_passes_unchanged() -> None:
    module = injector(gate_bias=5.0)  # even with the gate wide open
    query = unit(1, 0)[0]
    injected = module.inject(query, np.zeros((0, DIM), dtype=np.float32))
    assert np.array_equal(injected.vector, query)
    assert injected.attention == [] and injected.gate == 0.0


def test_at_initialisation_the_module_stays_near_identity() -> None:
    module = injector()
    query, entries = unit(1, 0)[0], unit(3, 1)
    injected = module.inject(query, entries)
    assert float(injected.vector @ query) > 0.95
    assert np.linalg.norm(injected.vector) == pytest.approx(1.0, abs=1e-5)
    assert sum(injected.attention) < 1.0  # the null slot keeps a share
    assert 0.0 < injected.gate < 0.2


def test_files_round_trip_and_a_mismatched_encoder_is_refused(tmp_path: Path) -> None:
    module = injector()
    module.save(model_dir(tmp_path))
    loaded = load_injector(tmp_path, "hashing@1/32")
    assert loaded is not None
    query, entries = unit(1, 0)[0], unit(2, 1)
    assert np.allclose(loaded.inject(query, entries).vector, module.inject(query, entries).vector)
    with pytest.raises(RetrievalError, match="trained against text encoder 'hashing@1/32'"):
        load_injector(tmp_path, "all-MiniLM-L6-v2@x/384")
    assert load_injector(tmp_path / "nothing", "hashing@1/32") is None
    (model_dir(tmp_path) / "config.json").write_text('{"architecture": "other"}')
    with pytest.raises(RetrievalError, match="not a shopkg-knowledge-injection"):
        load_injector(tmp_path, "hashing@1/32")


def test_the_torch_twin_computes_what_numpy_serves() -> None:
    import torch

    module = injector()
    weights = dict(module.weights)
    weights["value_up"] = unit(4, 7)  # not the zero start, so every term counts
    weights["gate_weight"] = unit(1, 8)[0].repeat(2) * 0.5
    module = KnowledgeInjector(module.config, weights)
    query, entries = unit(1, 0), unit(3, 1)
    mask = torch.tensor([[True, True, False]])
    fused = _fusion_module(module.config, weights)(
        torch.from_numpy(query), torch.from_numpy(entries[None]), mask
    )
    expected = module.inject(query[0], entries[:2]).vector
    assert np.allclose(fused.detach().numpy()[0], expected, atol=1e-5)


def _synthetic(count: int) -> tuple[list[TrainingExample], dict[str, npt.NDArray[np.float32]]]:
    """Queries that alone point nowhere; the entry each names points at its item."""
    items = unit(40, 2)
    noise = unit(count, 3)
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    examples = []
    for i in range(count):
        item = i % len(items)
        query, entry = f"query {i}", f"entry {item}"
        mixed = 0.9 * noise[i] + 0.3 * items[item]
        vectors[query] = mixed / np.linalg.norm(mixed)
        vectors[entry] = items[item]
        examples.append(TrainingExample(query, (entry,), f"item:{item}"))
    vectors.update({f"item:{i}": items[i] for i in range(len(items))})
    return examples, vectors


def test_training_on_a_tiny_set_lowers_the_loss_and_round_trips(tmp_path: Path) -> None:
    examples, vectors = _synthetic(160)
    keys = [f"item:{i}" for i in range(40)]

    def embed(texts: object) -> npt.NDArray[np.float32]:
        return np.stack([vectors[t] for t in texts])  # type: ignore[attr-defined]

    config = InjectionTrainingConfig(epochs=25, batch_size=32, hidden=8, rank=4, learning_rate=1e-2)
    result = train_injection(
        examples, embed, keys, embed(keys), "hashing@1/32", config, meta={"trained_on": "toy"}
    )
    meta = result.injector.config.meta
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert meta["validation_loss"] < meta["validation_loss_without_injection"]
    assert result.counts["with_entries"] == 160 and result.counts["validation"] > 0
    result.injector.save(tmp_path / "injection")
    loaded = KnowledgeInjector.load(tmp_path / "injection", "hashing@1/32")
    assert loaded.config == result.injector.config and loaded.config.meta["trained_on"] == "toy"
    for name, value in result.injector.weights.items():
        assert np.array_equal(loaded.weights[name], value)
    # the trained module moves an ambiguous query towards the item its entry names
    query, entry = vectors["query 3"], vectors["entry 3"]
    fused = loaded.inject(query, entry[None, :]).vector
    assert fused @ vectors["item:3"] > query @ vectors["item:3"]


def test_training_without_any_query_naming_an_entry_says_why() -> None:
    example = TrainingExample("plain query", (), "item:0")
    with pytest.raises(RetrievalError, match="names a KG entry"):
        train_injection(
            [example], lambda t: unit(len(list(t)), 0), ["item:0"], unit(1, 1), "hashing@1/32"
        )


def test_near_duplicates_of_judged_queries_are_recognised() -> None:
    held = word_sets(["Will this fit a Frigidaire FRS20QRB?"])
    assert near_duplicate("will this fit a frigidaire frs20qrb", held)
    assert not near_duplicate("how long is the power cord?", held)


def _searcher(module: KnowledgeInjector | None) -> HybridSearcher:
    encoder = HashingTextEncoder()
    titles = {
        "kettle": "stainless kettle boils water",
        "boots": "rain boots keep feet dry",
        "tent": "camping tent for hiking trips",
    }
    index = VectorIndex("item_text", encoder.encoder_id, DIM)
    index.add(list(titles), encoder.encode(list(titles.values())).require_all())
    dictionary = EntityDictionary()
    dictionary.add("waterproof", DictionaryEntry("POI", "waterproof", "waterproof"))
    glossary = EntryGlossary(glosses={("POI", "waterproof"): "keeps feet dry in rain"})
    items = {key: {"key": key, "title": title} for key, title in titles.items()}
    return HybridSearcher(
        items, None, index, encoder, None, dictionary, injector=module, glossary=glossary
    )


def test_the_searcher_fuses_entries_when_a_module_is_loaded() -> None:
    module = injector(gate_bias=4.0)
    weights = dict(module.weights)
    searcher = _searcher(KnowledgeInjector(module.config, weights))
    assert searcher.knowledge_mode == "fusion"
    fused = searcher.search("something waterproof", channels=["dense"])
    assert fused.knowledge_mode == "fusion"
    assert [k.text for k in fused.knowledge] == ["waterproof: keeps feet dry in rain"]
    assert 0.0 < fused.knowledge[0].weight <= 1.0
    assert set(fused.candidates[0].channels) == {"dense"} and not fused.candidates[0].reasons
    fused_vector, _ = searcher.dense_query(fused.parsed)
    searcher.knowledge_mode = "none"
    bare = searcher.search("something waterproof", channels=["dense"])
    assert bare.knowledge == []
    bare_vector, _ = searcher.dense_query(bare.parsed)
    assert searcher.dense is not None
    keys, items = searcher.dense.vectors()
    boots = items[keys.index("boots")]
    assert fused_vector is not None and bare_vector is not None
    assert float(fused_vector[0] @ boots) > float(bare_vector[0] @ boots)  # the gloss: dry feet
    # a query naming no entry is searched exactly as without the module
    searcher.knowledge_mode = "fusion"
    plain = searcher.search("stainless kettle", channels=["dense"])
    searcher.knowledge_mode = "none"
    assert plain.candidates == searcher.search("stainless kettle", channels=["dense"]).candidates


def test_without_a_module_the_searcher_appends_entry_names() -> None:
    searcher = _searcher(None)
    outcome = searcher.search("something waterproof", channels=["dense"])
    assert outcome.knowledge_mode == "augment"
    assert [k.text for k in outcome.knowledge] == []  # the name is already in the query
    searcher.use_injector(injector())
    assert searcher.knowledge_mode == "fusion"
    searcher.use_injector(None)
    assert searcher.knowledge_mode == "augment"


def test_the_searcher_refuses_a_module_of_another_encoder() -> None:
    with pytest.raises(RetrievalError, match="SHOPKG_TEXT_ENCODER"):
        _searcher(injector(encoder_id="other@1/32"))


def test_the_loader_falls_back_to_augmentation_on_a_mismatched_module(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from assistant.loader import _injector
    from foundation.settings import load_settings

    settings = load_settings(data_dir=tmp_path)
    assert _injector(settings, "hashing@1/32") is None  # none trained
    injector(encoder_id="other@1/32").save(model_dir(settings.models_dir))
    with caplog.at_level(logging.WARNING, logger="assistant.loader"):
        assert _injector(settings, "hashing@1/32") is None
    assert "trained against text encoder 'other@1/32'" in caplog.text
    injector().save(model_dir(settings.models_dir))
    assert _injector(settings, "hashing@1/32") is not None


def test_the_commands_are_registered() -> None:
    from shopkg.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["train", "injection", "--help"])
    assert result.exit_code == 0 and "--with-tuning-half" in result.output
    result = runner.invoke(cli, ["eval", "search", "--help"])
    assert result.exit_code == 0 and "--injection" in result.output
