"""The encoder contract, written once and run on every TextEncoder and ImageEncoder.

As the graph-store suite (``tests/kg``) does for stores: one parametrized fixture per modality
over the implementations, and tests of what every one of them promises (:mod:`encoders.base`):
rows of the declared dimension, L2-normalized float32, in input order and equal to encoding one
by one, an empty batch gives no rows, unusable inputs are skipped with their position, the
``encoder_id`` is stable and names a version, and the same input always gives the same vector.

Text: the bundled all-MiniLM-L6-v2, the same behind :class:`BatchingTextEncoder`, a tiny
sentence-transformers directory given by path, and a tiny CLIP's text tower. Image: a tiny
seeded ShopKG image tower (aligned with MiniLM's space) and the tiny CLIP's image tower.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from encoders.base import Encoded, ImageEncoder, TextEncoder
from encoders.sentence import BF16_MIN_COSINE
from tests.encoders.conftest import solid_image

TEXT_ENCODERS = ("minilm", "minilm-batching", "sentence-transformers-dir", "clip-text")
IMAGE_ENCODERS = ("tower", "shipped-tower", "clip-image")
# (text encoder, image encoder) that claim one space: a query vector searches image vectors
SHARED_SPACES = (("minilm", "tower"), ("minilm", "shipped-tower"), ("clip-text", "clip-image"))

TEXTS = ["a red summer dress", "green apple", "blue hat for a rainy walk", "milk", "shoe"]
# encoders may compute batches in reduced precision (bf16) within this cosine of one by one
SAME_DIRECTION = BF16_MIN_COSINE
ONE_BY_ONE_ATOL = 1e-5  # image batches: the same arithmetic, only batch size may change rounding


def _tower_dir(directory: Path, text_encoder_id: str, dimension: int) -> Path:
    """A tiny seeded image tower, saved; its config says it was aligned with the text space."""
    import torch

    from encoders.tower import ImageTower, TowerConfig, save_tower

    torch.manual_seed(0)
    config = TowerConfig(
        image_size=32, widths=(8, 16), embed_dim=dimension, text_encoder_id=text_encoder_id
    )
    save_tower(ImageTower(config), directory)
    return directory


def _make_text_encoder(
    name: str, request: pytest.FixtureRequest
) -> Generator[TextEncoder, None, None]:
    from encoders.batching import BatchingTextEncoder
    from encoders.clip import ClipTextEncoder
    from encoders.sentence import SentenceTransformerTextEncoder

    if name == "minilm":
        yield request.getfixturevalue("minilm")
    elif name == "minilm-batching":
        batching = BatchingTextEncoder(request.getfixturevalue("minilm"))
        try:
            yield batching
        finally:
            batching.close()
    elif name == "sentence-transformers-dir":
        directory = request.getfixturevalue("tiny_st_dir")
        yield SentenceTransformerTextEncoder(directory, device="cpu").load()
    else:
        yield ClipTextEncoder(request.getfixturevalue("tiny_clip_dir")).load()


def _make_image_encoder(name: str, request: pytest.FixtureRequest, directory: Path) -> ImageEncoder:
    from encoders.clip import ClipImageEncoder
    from encoders.tower import TowerImageEncoder

    if name == "tower":
        minilm = request.getfixturevalue("minilm")
        tower = _tower_dir(directory / "tower", minilm.encoder_id, minilm.dimension)
        return TowerImageEncoder(tower, device="cpu").load()
    if name == "shipped-tower":  # EfficientNet-Lite0 + the projection ShopKG trained
        from encoders.factory import BUNDLED_TOWER

        return TowerImageEncoder(BUNDLED_TOWER, device="cpu").load()
    return ClipImageEncoder(request.getfixturevalue("tiny_clip_dir")).load()


@pytest.fixture(scope="module", params=TEXT_ENCODERS)
def text_encoder(request: pytest.FixtureRequest) -> Iterator[TextEncoder]:
    """Each TextEncoder implementation, loaded."""
    yield from _make_text_encoder(request.param, request)


@pytest.fixture(scope="module", params=IMAGE_ENCODERS)
def image_encoder(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ImageEncoder:
    """Each ImageEncoder implementation, loaded."""
    return _make_image_encoder(request.param, request, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """RGB, RGBA and grayscale images of several sizes and shapes (none square at 32)."""
    return [
        solid_image((200, 30, 30), (40, 30)),
        Image.new("RGBA", (17, 61), (30, 40, 200, 128)),
        solid_image((30, 180, 40), (300, 120)).convert("L"),
        solid_image((240, 200, 10), (9, 9)),
        solid_image((90, 20, 160), (64, 48)).convert("RGBA"),
    ]


def _assert_unit_float32_rows(encoded: Encoded, rows: int, dimension: int) -> None:
    vectors = encoded.vectors
    assert vectors.shape == (rows, dimension)
    assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
    assert np.all(np.isfinite(vectors))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def _cosines(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(np.sum(a * b, axis=1), dtype=np.float32)


def _assert_names_a_version(encoder: TextEncoder | ImageEncoder, modality: str) -> None:
    manifest = encoder.manifest
    assert encoder.encoder_id == manifest.encoder_id == encoder.encoder_id
    assert manifest.modality == modality and manifest.version.strip()
    assert re.fullmatch(r"[^@/]+@.+/\d+", encoder.encoder_id), encoder.encoder_id
    assert encoder.encoder_id == f"{manifest.name}@{manifest.version}/{encoder.dimension}"
    assert manifest.to_dict()["encoder_id"] == encoder.encoder_id


# -- text encoders --------------------------------------------------------------------------
def test_text_rows_have_the_declared_dimension_and_are_unit_float32(
    text_encoder: TextEncoder,
) -> None:
    encoded = text_encoder.encode(TEXTS)
    _assert_unit_float32_rows(encoded, len(TEXTS), text_encoder.dimension)
    assert encoded.positions == list(range(len(TEXTS))) and encoded.skipped == []


def test_a_text_batch_keeps_input_order_and_matches_encoding_one_by_one(
    text_encoder: TextEncoder,
) -> None:
    batch = text_encoder.encode(TEXTS).vectors
    alone = np.concatenate([text_encoder.encode([text]).vectors for text in TEXTS])
    assert np.min(_cosines(batch, alone)) >= SAME_DIRECTION
    reversed_batch = text_encoder.encode(TEXTS[::-1]).vectors[::-1]
    assert np.min(_cosines(batch, reversed_batch)) >= SAME_DIRECTION


def test_a_gathered_text_batch_matches_the_plain_one(text_encoder: TextEncoder) -> None:
    gathered = text_encoder.encode_batch(TEXTS)
    _assert_unit_float32_rows(gathered, len(TEXTS), text_encoder.dimension)
    assert np.min(_cosines(gathered.vectors, text_encoder.encode(TEXTS).vectors)) >= (
        SAME_DIRECTION
    )


def test_an_empty_text_batch_gives_no_rows(text_encoder: TextEncoder) -> None:
    for encoded in (text_encoder.encode([]), text_encoder.encode_batch([])):
        assert encoded.vectors.shape == (0, text_encoder.dimension)
        assert encoded.vectors.dtype == np.float32
        assert encoded.positions == [] and encoded.skipped == [] and encoded.count == 0


def test_empty_texts_are_skipped_with_their_position(text_encoder: TextEncoder) -> None:
    encoded = text_encoder.encode(["", "green apple", "   ", "milk"])
    assert encoded.positions == [1, 3]
    assert [s.position for s in encoded.skipped] == [0, 2]
    assert all(s.reason for s in encoded.skipped)
    _assert_unit_float32_rows(encoded, 2, text_encoder.dimension)
    full = encoded.full(4)
    assert full.shape == (4, text_encoder.dimension) and not full[[0, 2]].any()


def test_the_text_encoder_id_is_stable_and_names_a_version(text_encoder: TextEncoder) -> None:
    _assert_names_a_version(text_encoder, "text")


def test_different_texts_get_different_vectors(text_encoder: TextEncoder) -> None:
    encoded = text_encoder.encode(TEXTS)
    cosines = encoded.vectors @ encoded.vectors.T
    off_diagonal = cosines[~np.eye(len(TEXTS), dtype=bool)]
    assert float(off_diagonal.max()) < 0.9999  # no two texts collapse into one vector


def test_text_encoding_is_deterministic(text_encoder: TextEncoder) -> None:
    first = text_encoder.encode(TEXTS).vectors
    assert np.array_equal(first, text_encoder.encode(TEXTS).vectors)
    one = text_encoder.encode(TEXTS[:1]).vectors
    assert np.array_equal(one, text_encoder.encode(TEXTS[:1]).vectors)


# -- image encoders -------------------------------------------------------------------------
def test_image_rows_have_the_declared_dimension_and_are_unit_float32(
    image_encoder: ImageEncoder, images: list[Image.Image]
) -> None:
    encoded = image_encoder.encode(images)
    _assert_unit_float32_rows(encoded, len(images), image_encoder.dimension)


def test_rgb_rgba_and_grayscale_images_of_any_size_are_all_encoded(
    image_encoder: ImageEncoder, images: list[Image.Image]
) -> None:
    assert {image.mode for image in images} == {"RGB", "RGBA", "L"}
    encoded = image_encoder.encode(images)
    assert encoded.positions == list(range(len(images))) and encoded.skipped == []


def test_an_image_batch_keeps_input_order_and_matches_encoding_one_by_one(
    image_encoder: ImageEncoder, images: list[Image.Image]
) -> None:
    batch = image_encoder.encode(images).vectors
    alone = np.concatenate([image_encoder.encode([image]).vectors for image in images])
    assert np.allclose(batch, alone, atol=ONE_BY_ONE_ATOL)
    reversed_batch = image_encoder.encode(images[::-1]).vectors[::-1]
    assert np.allclose(batch, reversed_batch, atol=ONE_BY_ONE_ATOL)


def test_an_empty_image_batch_gives_no_rows(image_encoder: ImageEncoder) -> None:
    encoded = image_encoder.encode([])
    assert encoded.vectors.shape == (0, image_encoder.dimension)
    assert encoded.vectors.dtype == np.float32
    assert encoded.positions == [] and encoded.skipped == [] and encoded.count == 0


def test_awkward_images_are_encoded_and_broken_or_huge_ones_skipped_with_a_reason(
    image_encoder: ImageEncoder,
    odd_images: dict[str, object],
    good_and_bad: tuple[tuple[str, ...], tuple[str, ...]],
    tmp_path: Path,
) -> None:
    good, bad = good_and_bad
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # ~400 Mpx behind a small file
    sources = [odd_images[kind] for kind in (*good, *bad)] + [bomb]
    encoded = image_encoder.encode(sources)
    assert encoded.positions == list(range(len(good)))  # CMYK, alpha, palette, 16-bit grey …
    assert [s.position for s in encoded.skipped] == list(range(len(good), len(sources)))
    assert all(s.reason and "object at 0x" not in s.reason for s in encoded.skipped)
    assert encoded.skipped[-1].reason.startswith("image too large")  # refused, never decoded
    _assert_unit_float32_rows(encoded, len(good), image_encoder.dimension)


def test_unreadable_images_are_skipped_with_their_position(
    image_encoder: ImageEncoder, images: list[Image.Image], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image")
    encoded = image_encoder.encode([garbage, images[0], tmp_path / "missing.png", images[1]])
    assert encoded.positions == [1, 3]
    assert [s.position for s in encoded.skipped] == [0, 2]
    assert all(s.reason for s in encoded.skipped)
    alone = image_encoder.encode([images[0], images[1]]).vectors
    assert np.allclose(encoded.vectors, alone, atol=ONE_BY_ONE_ATOL)


def test_the_image_encoder_id_is_stable_and_names_a_version(image_encoder: ImageEncoder) -> None:
    _assert_names_a_version(image_encoder, "image")


def test_image_encoding_is_deterministic(
    image_encoder: ImageEncoder, images: list[Image.Image]
) -> None:
    first = image_encoder.encode(images).vectors
    assert np.array_equal(first, image_encoder.encode(images).vectors)


def test_paths_bytes_and_opened_images_of_one_picture_encode_alike(
    image_encoder: ImageEncoder, images: list[Image.Image], tmp_path: Path
) -> None:
    path = tmp_path / "picture.png"
    images[0].save(path, "PNG")
    encoded = image_encoder.encode([path, path.read_bytes(), images[0], str(path)])
    assert encoded.positions == [0, 1, 2, 3]
    assert np.allclose(encoded.vectors, encoded.vectors[:1], atol=ONE_BY_ONE_ATOL)


# -- text and image encoders in one space ---------------------------------------------------
@pytest.mark.parametrize(("text_name", "image_name"), SHARED_SPACES)
def test_text_and_image_encoders_claiming_one_space_share_a_dimension(
    text_name: str,
    image_name: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    images: list[Image.Image],
) -> None:
    made = _make_text_encoder(text_name, request)
    text = next(made)
    image = _make_image_encoder(image_name, request, tmp_path)
    claimed = image.manifest.extra.get("text_encoder_id")
    if claimed is not None:  # aligned with a text encoder (ShopKG's tower)
        assert claimed == text.encoder_id
    else:  # both towers of one checkpoint (CLIP)
        assert image.manifest.name == text.manifest.name
        assert image.manifest.version == text.manifest.version
    assert image.dimension == text.dimension
    similarity = text.encode(TEXTS).vectors @ image.encode(images).vectors.T
    assert similarity.shape == (len(TEXTS), len(images))
    assert np.all(np.abs(similarity) <= 1.0 + 1e-5)
    made.close()
