"""Session-wide tiny models and sample images for the encoder tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

if TYPE_CHECKING:
    from encoders.sentence import SentenceTransformerTextEncoder


VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "a",
    "photo",
    "of",
    "dress",
    "hat",
    "shoe",
    "apple",
    "red",
    "green",
    "blue",
    "milk",
]


def write_vocab(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n")
    return path


def make_sentence_transformer(directory: Path, hidden: int = 32) -> Path:
    """A 1-layer random BERT saved as a sentence-transformers directory."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    bert_dir = directory.parent / f"{directory.name}-bert"
    tokenizer = BertTokenizerFast.from_pretrained(str(write_vocab(bert_dir).parent))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    word = Transformer(str(bert_dir))
    model = SentenceTransformer(modules=[word, Pooling(hidden), Normalize()], device="cpu")
    model.save(str(directory))
    return directory


def make_clip(directory: Path, image_size: int = 32, projection_dim: int = 16) -> Path:
    """A tiny random ``CLIPModel`` with a WordPiece tokenizer, saved with save_pretrained."""
    import torch
    from transformers import BertTokenizerFast, CLIPConfig, CLIPModel

    tokenizer = BertTokenizerFast.from_pretrained(str(write_vocab(directory).parent))
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(VOCAB),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "pad_token_id": 0,
            "bos_token_id": 2,
            "eos_token_id": 3,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=projection_dim,
    )
    CLIPModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def solid_image(color: tuple[int, ...], size: tuple[int, int] = (40, 30)) -> Image.Image:
    """A plain image with a little noise, so crops are not all identical."""
    rng = np.random.default_rng(sum(color))
    array = np.clip(np.asarray(color, np.float32) + rng.normal(0, 8, (size[1], size[0], 3)), 0, 255)
    return Image.fromarray(array.astype(np.uint8), "RGB")


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sentence_transformer(tmp_path_factory.mktemp("st") / "tiny-st")


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerTextEncoder:
    """The real bundled all-MiniLM-L6-v2, loaded once (it is ~90 MB)."""
    from encoders.sentence import SentenceTransformerTextEncoder

    return SentenceTransformerTextEncoder(device="cpu").load()


GOOD_KINDS = ("jpeg", "cmyk", "alpha", "palette", "grey16", "pil", "bytes")
BAD_KINDS = ("truncated", "garbage", "missing", "not-an-image")


@pytest.fixture
def good_and_bad() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys of :func:`odd_images` that decode, and those that must be skipped."""
    return GOOD_KINDS, BAD_KINDS


@pytest.fixture
def odd_images(tmp_path: Path) -> dict[str, object]:
    """One good image of each awkward kind, and several bad ones, keyed by what they are."""
    good_jpeg = tmp_path / "red.jpg"
    solid_image((200, 30, 30)).save(good_jpeg, "JPEG")
    cmyk = tmp_path / "cmyk.jpg"
    solid_image((30, 200, 30)).convert("CMYK").save(cmyk, "JPEG")
    alpha = tmp_path / "alpha.png"
    Image.new("RGBA", (20, 50), (0, 0, 255, 128)).save(alpha, "PNG")
    palette = tmp_path / "palette.gif"
    solid_image((10, 10, 200)).convert("P").save(palette, "GIF")
    grey16 = tmp_path / "grey16.png"
    Image.new("I;16", (30, 30), 4000).save(grey16, "PNG")
    truncated = tmp_path / "truncated.jpg"
    buffer = io.BytesIO()
    solid_image((100, 100, 100), (200, 200)).save(buffer, "JPEG")
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image at all")
    return {
        "jpeg": good_jpeg,
        "cmyk": cmyk,
        "alpha": alpha,
        "palette": palette,
        "grey16": grey16,
        "pil": solid_image((5, 5, 5)),
        "bytes": good_jpeg.read_bytes(),
        "truncated": truncated,
        "garbage": garbage,
        "missing": tmp_path / "no-such.jpg",
        "not-an-image": 42,
    }


COLOURS = {"red": (200, 30, 30), "green": (30, 180, 40), "blue": (30, 40, 200)}


@pytest.fixture(scope="session")
def colour_clothing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny data set in the clothing layout: three colour 'types', one corrupt file."""
    root = tmp_path_factory.mktemp("colours")
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("validation", 4)):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                size = (int(rng.integers(30, 60)), int(rng.integers(30, 60)))
                solid_image(tuple(int(c + rng.integers(-20, 20)) for c in colour), size).save(
                    folder / f"{i}.png"
                )
    (root / "train" / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return root
