"""Readers for the image–text data layouts ShopKG trains and evaluates on.

``grocery``: ``products.jsonl`` (one product per class: name, taxonomy, description, iconic
image) plus ``train.csv`` / ``val.csv`` / ``test.csv`` (``path,class_id,...``) of shop photos.
``clothing``: ``train/<type>/*.jpg`` and ``validation/<type>`` or ``test/<type>`` folders;
its only text is the type name. Every photo belongs to one concept (product or type), which
is what prototypes and accuracy are computed over. Evaluation uses ``test`` when present,
else the validation split, and training never reads either.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from foundation.errors import ShopKGError

FORMATS = ("grocery", "clothing")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
CLOTHING_PHRASES = {
    "dress": "a dress",
    "hat": "a hat",
    "longsleeve": "a long-sleeve top",
    "outwear": "outerwear, a jacket or a coat",
    "pants": "pants",
    "shirt": "a shirt",
    "shoes": "shoes",
    "shorts": "shorts",
    "skirt": "a skirt",
    "t-shirt": "a t-shirt",
}


class DatasetError(ShopKGError):
    """An image data set directory does not have the expected layout."""

    code = "E510"


@dataclass
class LabeledImages:
    """Image files and the index of the concept each one shows."""

    paths: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)


@dataclass
class ImageTextData:
    """One data set: concepts with their texts, train photos, eval photos, iconic images."""

    name: str
    concepts: list[str]
    texts: list[str]  # the text describing each concept (product text or "a photo of …")
    train: LabeledImages
    evaluation: LabeledImages
    evaluation_split: str
    iconic: LabeledImages = field(default_factory=LabeledImages)


def clothing_text(concept: str) -> str:
    return f"a photo of {CLOTHING_PHRASES.get(concept, concept.replace('-', ' '))}"


def product_text(product: dict[str, object]) -> str:
    """What the text tower reads for a grocery product: name, taxonomy path and description."""
    name = str(product.get("name", "")).replace("-", " ")
    taxonomy = product.get("taxonomy") or []
    path = " / ".join(str(part).replace("-", " ") for part in taxonomy)  # type: ignore[attr-defined]
    description = str(product.get("description", "")).strip()
    return ". ".join(part for part in (f"{name} ({path})" if path else name, description) if part)


def with_reference(data: ImageTextData, reference: ImageTextData) -> ImageTextData:
    """``data``'s evaluation photos with ``reference``'s train and iconic photos as the labelled
    reference set (for a folder that holds test photos only); concepts are matched by name and
    reference photos of concepts ``data`` does not have are left out."""
    if reference.name != data.name:
        raise DatasetError(
            f"the reference set is a {reference.name} data set, the evaluated one {data.name}"
        )
    index_of = {concept: i for i, concept in enumerate(data.concepts)}

    def mapped(images: LabeledImages) -> LabeledImages:
        out = LabeledImages()
        for path, label in zip(images.paths, images.labels, strict=True):
            found = index_of.get(reference.concepts[label])
            if found is not None:
                out.paths.append(path)
                out.labels.append(found)
        return out

    train, iconic = mapped(reference.train), mapped(reference.iconic)
    if not len(train) and not len(iconic):
        raise DatasetError("the reference set shares no labelled photo with the evaluated one")
    return replace(data, train=train, iconic=iconic)


def read_dataset(directory: Path, data_format: str) -> ImageTextData:
    if data_format == "grocery":
        return read_grocery(directory)
    if data_format == "clothing":
        return read_clothing(directory)
    raise DatasetError(f"unknown image data format {data_format!r}; use one of {FORMATS}")


def read_grocery(directory: Path) -> ImageTextData:
    products_file = directory / "products.jsonl"
    if not products_file.is_file():
        raise DatasetError(f"{directory} is not a grocery data set: products.jsonl is missing")
    products: dict[int, dict[str, object]] = {}
    with products_file.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                product = json.loads(line)
                products[int(product["class_id"])] = product
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise DatasetError(f"{products_file}:{number}: not a product record: {e}") from e
    class_ids = sorted(products)
    index_of = {class_id: i for i, class_id in enumerate(class_ids)}
    iconic = LabeledImages()
    for class_id in class_ids:
        image = products[class_id].get("iconic_image")
        if image:
            iconic.paths.append(directory / str(image))
            iconic.labels.append(index_of[class_id])
    split = "test" if (directory / "test.csv").is_file() else "val"
    return ImageTextData(
        name="grocery",
        concepts=[str(products[c].get("name", c)) for c in class_ids],
        texts=[product_text(products[c]) for c in class_ids],
        train=_read_split_csv(directory, "train.csv", index_of),
        evaluation=_read_split_csv(directory, f"{split}.csv", index_of),
        evaluation_split=split,
        iconic=iconic,
    )


def _read_split_csv(directory: Path, name: str, index_of: dict[int, int]) -> LabeledImages:
    path = directory / name
    images = LabeledImages()
    if not path.is_file():
        return images
    with path.open(encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.DictReader(f), 2):
            try:
                label = index_of[int(row["class_id"])]
                images.paths.append(directory / row["path"])
            except (KeyError, TypeError, ValueError) as e:
                raise DatasetError(f"{path}:{number}: bad row (unknown class or path): {e}") from e
            images.labels.append(label)
    return images


def read_clothing(directory: Path) -> ImageTextData:
    train_dir = directory / "train"
    eval_name = "test" if (directory / "test").is_dir() else "validation"
    if not train_dir.is_dir() and not (directory / eval_name).is_dir():
        raise DatasetError(f"{directory} is not a clothing data set: no train/ or {eval_name}/")
    concepts = sorted(
        {
            p.name
            for split in (train_dir, directory / eval_name)
            if split.is_dir()
            for p in split.iterdir()
            if p.is_dir()
        }
    )
    return ImageTextData(
        name="clothing",
        concepts=concepts,
        texts=[clothing_text(concept) for concept in concepts],
        train=_read_folders(train_dir, concepts),
        evaluation=_read_folders(directory / eval_name, concepts),
        evaluation_split=eval_name,
    )


def _read_folders(directory: Path, concepts: list[str]) -> LabeledImages:
    images = LabeledImages()
    if not directory.is_dir():
        return images
    for label, concept in enumerate(concepts):
        folder = directory / concept
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    images.paths.append(path)
                    images.labels.append(label)
    return images
