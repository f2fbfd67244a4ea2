"""The image and prototype channels of hybrid search: on when the image tower was aligned with
the searcher's text encoder, off (and silent) otherwise, explained per hit, deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from encoders.tower import ImageTower, TowerConfig, TowerImageEncoder, save_tower
from kg import GraphStore, Neighbor, NodeRow, Provenance, RelationRow, store_from_uri
from retrieval.search import FusionWeights, HybridSearcher
from retrieval.vector_index import VectorIndex
from retrieval.visual import ImageSpace, load_image_space
from tests.retrieval.test_injection import DIM, HashingTextEncoder

# what each item's photos show; the tiny "aligned" tower is simulated by putting the item-image
# vectors where the text encoder puts these words (the titles say something else)
PICTURED = {
    "sku-1": "red apple fruit",
    "sku-2": "green pear fruit",
    "sku-3": "orange juice carton",
}
TITLES = {"sku-1": "crisp snack", "sku-2": "sweet snack", "sku-3": "breakfast drink"}
CONCEPTS = {"apple": ["sku-1"], "pear": ["sku-2"], "juice": ["sku-3"]}


def tower_encoder(directory: Path, text_encoder_id: str) -> TowerImageEncoder:
    """A tiny real tower, saved and loaded; its config names the text space it was aligned to."""
    config = TowerConfig(
        image_size=16, widths=(4, 8), embed_dim=DIM, text_encoder_id=text_encoder_id
    )
    save_tower(ImageTower(config), directory)
    return TowerImageEncoder(directory, device="cpu").load()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    directory = tmp_path_factory.mktemp("graph")
    graph = store_from_uri(f"kuzu://{directory}").open()
    prov = Provenance(source="test", extractor="test@1", confidence=1.0)
    nodes = [NodeRow("Item", {"key": key, "name": title}) for key, title in TITLES.items()]
    nodes += [NodeRow("Concept", {"name": name}, prov) for name in CONCEPTS]
    relations = [
        RelationRow(
            "MENTIONS", graph.ref("Item", key=key), graph.ref("Concept", name=name), provenance=prov
        )
        for name, keys in CONCEPTS.items()
        for key in keys
    ]
    graph.upsert(nodes=nodes, relations=relations)
    yield graph
    graph.close()


def image_indexes(encoder: TowerImageEncoder, text: HashingTextEncoder, index_dir: Path) -> None:
    """What the build's image stage writes: item-image vectors and concept prototypes."""
    items = VectorIndex("item_image", encoder.encoder_id, DIM)
    items.add(list(PICTURED), text.encode(list(PICTURED.values())).require_all())
    items.save(index_dir / "item_image")
    prototypes = VectorIndex("concept_prototype", encoder.encoder_id, DIM)
    prototypes.add(list(CONCEPTS), text.encode(list(CONCEPTS)).require_all())
    prototypes.save(index_dir / "concept_prototype")


def searcher(
    store: GraphStore, images: ImageSpace | None, text: HashingTextEncoder
) -> HybridSearcher:
    items = {key: {"key": key, "title": title} for key, title in TITLES.items()}
    dense = VectorIndex("item_text", text.encoder_id, DIM)
    dense.add(list(TITLES), text.encode(list(TITLES.values())).require_all())
    return HybridSearcher(items, None, dense, text, store, images=images)


@pytest.fixture(scope="module")
def aligned(tmp_path_factory: pytest.TempPathFactory, store: GraphStore) -> HybridSearcher:
    root = tmp_path_factory.mktemp("aligned")
    text = HashingTextEncoder()
    encoder = tower_encoder(root / "tower", text.encoder_id)
    image_indexes(encoder, text, root / "indexes")
    return searcher(store, load_image_space(encoder, root / "indexes"), text)


def test_an_aligned_tower_turns_both_channels_on(aligned: HybridSearcher) -> None:
    assert aligned.image_channels == ("image", "prototype")
    assert aligned.images is not None and aligned.images.text_encoder_id == "hashing@1/32"


def test_the_image_channel_finds_the_item_whose_photos_match(aligned: HybridSearcher) -> None:
    outcome = aligned.search("red apple", channels=["image"])
    best = outcome.candidates[0]
    assert best.key == "sku-1" and best.channels == {"image": 1.0}
    assert best.reasons == ["looks like “red apple” in its photos"]


def test_the_prototype_channel_finds_the_concept_and_its_items(aligned: HybridSearcher) -> None:
    outcome = aligned.search("juice", channels=["prototype"])
    best = outcome.candidates[0]
    assert best.key == "sku-3" and best.channels == {"prototype": 1.0}
    assert best.reasons == ["looks like a juice"]
    assert aligned.concept_items("juice") == ("juice", ("sku-3",))


def test_the_channels_fuse_with_the_text_channels(aligned: HybridSearcher) -> None:
    outcome = aligned.search("pear snack")
    best = outcome.candidates[0]
    assert best.key == "sku-2"  # the title says snack, the photos and the concept say pear
    assert {"dense", "image", "prototype"} <= set(best.channels)
    assert "looks like a pear" in best.reasons
    weights = FusionWeights()
    expected = sum(getattr(weights, c) * s for c, s in best.channels.items())
    assert best.score == pytest.approx(expected)


def test_results_are_deterministic(aligned: HybridSearcher, store: GraphStore) -> None:
    first = aligned.search("green fruit juice", limit=0).candidates
    assert aligned.search("green fruit juice", limit=0).candidates == first
    fresh = searcher(store, aligned.images, HashingTextEncoder())
    assert fresh.search("green fruit juice", limit=0).candidates == first


def test_a_limited_search_returns_the_head_of_the_full_ranking(aligned: HybridSearcher) -> None:
    for query in ("green fruit juice", "pear", "juice under $3", "juice not green"):
        everything = aligned.search(query, limit=0)
        assert everything.total == len(everything.candidates)
        for limit in (1, 2, 5):
            head = aligned.search(query, limit=limit)
            assert head.candidates == everything.candidates[:limit]
            assert head.total == everything.total
    assert aligned.search("pear", limit=-1).candidates == []


def test_a_tower_aligned_with_another_text_encoder_leaves_the_channels_off(
    tmp_path: Path, store: GraphStore
) -> None:
    text = HashingTextEncoder()
    encoder = tower_encoder(tmp_path / "tower", "all-MiniLM-L6-v2@other/384")
    image_indexes(encoder, text, tmp_path / "indexes")
    space = load_image_space(encoder, tmp_path / "indexes")
    assert not space.aligned_with(text) and "all-MiniLM-L6-v2@other/384" in space.why_not(text)
    off = searcher(store, space, text)
    assert off.image_channels == () and off.images is None
    outcome = off.search("red apple")
    assert all(set(c.channels) <= {"dense"} for c in outcome.candidates)


def test_an_image_encoder_with_its_own_text_space_leaves_the_channels_off(
    tmp_path: Path, store: GraphStore
) -> None:
    text = HashingTextEncoder()
    encoder = tower_encoder(tmp_path / "tower", "")  # untrained, like a CLIP image tower
    image_indexes(encoder, text, tmp_path / "indexes")
    space = load_image_space(encoder, tmp_path / "indexes")
    assert "records no text encoder" in space.why_not(text)
    assert searcher(store, space, text).image_channels == ()


def test_missing_indexes_leave_the_channel_missing(tmp_path: Path, store: GraphStore) -> None:
    text = HashingTextEncoder()
    encoder = tower_encoder(tmp_path / "tower", text.encoder_id)
    space = load_image_space(encoder, tmp_path / "no-indexes")
    assert space.item_image is None and space.concept_prototype is None
    none = searcher(store, space, text)
    assert none.image_channels == ()
    assert none.search("red apple").candidates  # the text channels still answer
    assert searcher(store, None, text).image_channels == ()


def test_an_index_of_another_image_encoder_is_not_used(tmp_path: Path) -> None:
    text = HashingTextEncoder()
    encoder = tower_encoder(tmp_path / "tower", text.encoder_id)
    stale = VectorIndex("item_image", "shopkg-image-tower@older/32", DIM)
    stale.add(["sku-1"], np.ones((1, DIM), dtype=np.float32))
    stale.save(tmp_path / "indexes" / "item_image")
    assert load_image_space(encoder, tmp_path / "indexes").item_image is None


def test_assistant_hits_carry_the_image_channels_and_their_reasons(
    aligned: HybridSearcher,
) -> None:
    from assistant.service import Assistant

    assistant = Assistant(aligned, records=lambda key: None, ranker=None)
    result = assistant.search("pear snack", limit=3)
    hit = result.hits[0]
    assert hit.key == "sku-2" and {"image", "prototype"} <= set(hit.channels)
    assert hit.reasons == ["looks like “pear snack” in its photos", "looks like a pear"]
    assistant.dialog.turn("s1", "pear snack")
    assistant.dialog.turn("s1", "1")
    why = assistant.dialog.turn("s1", "why this one?")
    assert why.intent == "why" and why.message == (
        "Because it looks like “pear snack” in its photos; looks like a pear."
    )


def test_kg_reads_are_remembered_for_a_while(
    aligned: HybridSearcher, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.graph_links as graph_links

    reads = []  # the store's neighborhood reads (the searcher remembers them for a while)
    neighborhood = store.neighborhood

    def counted(*args: Any, **kwargs: Any) -> list[Neighbor]:
        reads.append(args)
        return neighborhood(*args, **kwargs)

    monkeypatch.setattr(store, "neighborhood", counted)
    fresh = searcher(store, aligned.images, HashingTextEncoder())
    first = fresh.search("juice", channels=["prototype"]).candidates
    count = len(reads)  # one per concept among the closest prototypes
    assert fresh.search("juice", channels=["prototype"]).candidates == first
    assert len(reads) == count > 0
    monkeypatch.setattr(graph_links, "KG_CACHE_SECONDS", 0.0)
    assert fresh.search("juice", channels=["prototype"]).candidates == first
    assert len(reads) == 2 * count
