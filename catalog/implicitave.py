"""The ImplicitAVE data set: products whose photo shows a value their title leaves out.

Laid out as in ``../shared/data/implicitave``: ``texts/<Domain>_annotated_final.tsv`` (the
products with a photo, ``images/<id>.jpg``), ``training_texts/<Domain>/{train,val}.tsv``
(titles only, their photos unavailable) and ``options_<Group>.json`` (each attribute's
possible values). Every row is tab-separated ``id, images, category, texts,
attribute_names, attribute_values``; ``texts`` is ``[Title] …``.

An attribute is known by its options file and name (``Clothing_Shoes_and_Jewelry|Material``
and ``Home|Material`` have different options). Which options file a domain uses is read from
the data, not written down: the file that holds all of the domain's attributes and most of
its labelled values.

:func:`implicitave_records` yields the photographed products as catalog records (title,
``[domain, category]``, the photo), with the labelled value left out: it is what the build
must find.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalog.ingest import RawRecord
from foundation.errors import IngestError

SUFFIX = "_annotated_final.tsv"
COLUMNS = ("id", "images", "category", "texts", "attribute_names", "attribute_values")


@dataclass(frozen=True)
class ImplicitRow:
    """One labelled product: its value of one attribute, not written in its title."""

    id: str
    domain: str
    category: str
    title: str
    attribute: str
    value: str
    image: str  # file name under images/ (absent for the text-only rows' photos)
    location: str

    def record(self) -> dict[str, object]:
        """The catalog record this product is (the labelled value left out)."""
        return {
            "id": self.id,
            "title": self.title,
            "category": [self.domain.replace("_", " "), self.category],
            "images": [self.image] if self.image else [],
        }


@dataclass
class ImplicitAve:
    """A read ImplicitAVE directory."""

    root: Path
    photos: list[ImplicitRow]
    train: list[ImplicitRow]
    val: list[ImplicitRow]
    options: dict[str, list[str]]  # attribute key → options
    group_of: dict[str, str]  # domain → options group
    skipped: list[str] = field(default_factory=list)  # "location: why"

    def key(self, row: ImplicitRow) -> str:
        return attribute_key(self.group_of[row.domain], row.attribute)

    def labelled(self, rows: list[ImplicitRow]) -> list[tuple[ImplicitRow, str, int]]:
        """``(row, key, option index)`` of the rows whose value is one of the options; the
        others are added to :attr:`skipped` with the reason."""
        kept = []
        for row in rows:
            key = self.key(row)
            options = self.options.get(key, [])
            if row.value in options:
                kept.append((row, key, options.index(row.value)))
            else:
                self.skipped.append(f"{row.location}: {row.value!r} is not an option of {key}")
        return kept


def attribute_key(group: str, attribute: str) -> str:
    return f"{group}|{attribute}"


def read_implicitave(root: Path, *, texts: bool = True) -> ImplicitAve:
    """Read the directory; ``texts=False`` skips the text-only training rows."""
    if not (root / "texts").is_dir():
        raise IngestError(f"{root} has no texts/ folder; point at an ImplicitAVE directory")
    photos = [r for f in sorted((root / "texts").glob(f"*{SUFFIX}")) for r in _rows(f)]
    if not photos:
        raise IngestError(f"{root / 'texts'} holds no *{SUFFIX} files")
    train: list[ImplicitRow] = []
    val: list[ImplicitRow] = []
    if texts:
        for domain_dir in sorted((root / "training_texts").glob("*")):
            train += _rows(domain_dir / "train.tsv", domain_dir.name)
            val += _rows(domain_dir / "val.tsv", domain_dir.name)
    options = _options(root)
    group_of = _groups(photos + train + val, options)
    return ImplicitAve(root, photos, train, val, options, group_of)


def implicitave_records(root: Path) -> Iterator[RawRecord]:
    """The photographed products of ``root`` as catalog records (``--format implicitave``)."""
    for row in read_implicitave(root, texts=False).photos:
        yield RawRecord(row.location, row.id, row.record())


def _rows(file: Path, domain: str | None = None) -> list[ImplicitRow]:
    if not file.is_file():
        return []
    name = domain or file.name.removesuffix(SUFFIX)
    domain = name.split("_")[0] if domain is None else domain.split("_")[0]
    rows = []
    with file.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise IngestError(f"{file}: missing column(s) {', '.join(missing)}")
        for number, raw in enumerate(reader, start=2):
            title = (raw["texts"] or "").replace("[Title]", "").strip()
            if not raw["id"] or not title or not raw["attribute_names"]:
                continue
            rows.append(
                ImplicitRow(
                    id=raw["id"].strip(),
                    domain=domain,
                    category=(raw["category"] or "").strip(),
                    title=" ".join(title.split()),
                    attribute=raw["attribute_names"].strip(),
                    value=(raw["attribute_values"] or "").strip(),
                    image=(raw["images"] or "").strip(),
                    location=f"{file}:{number}",
                )
            )
    return rows


def _options(root: Path) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for file in sorted(root.glob("options_*.json")):
        group = file.stem.removeprefix("options_")
        try:
            listed = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise IngestError(f"{file}: not valid JSON ({e.msg})") from e
        if not isinstance(listed, dict):
            raise IngestError(f"{file}: expected an object of attribute → options")
        for attribute, values in listed.items():
            options[attribute_key(group, attribute)] = [str(v) for v in values]
    if not options:
        raise IngestError(f"{root} has no options_*.json files")
    return options


def _groups(rows: list[ImplicitRow], options: dict[str, list[str]]) -> dict[str, str]:
    """Each domain's options group: the one holding all its attributes and most of its
    labelled values."""
    groups = sorted({key.split("|", 1)[0] for key in options})
    by_domain: dict[str, list[ImplicitRow]] = {}
    for row in rows:
        by_domain.setdefault(row.domain, []).append(row)
    chosen = {}
    for domain, domain_rows in by_domain.items():
        attributes = {r.attribute for r in domain_rows}
        fits = Counter[str]()
        for group in groups:
            if all(attribute_key(group, a) in options for a in attributes):
                fits[group] = sum(
                    r.value in options[attribute_key(group, r.attribute)] for r in domain_rows
                )
        if not fits:
            raise IngestError(f"no options file lists all attributes of domain {domain!r}")
        chosen[domain] = max(sorted(fits), key=lambda g: fits[g])
    return chosen
