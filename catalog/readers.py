"""Readers that turn the public data sets in ``../shared/data`` into catalog records.

- ``grocery``: ``products.jsonl`` of the Grocery Store data set — name, taxonomy, description,
  the "Title / Country and volume" block of the shop page, and the iconic image.
- ``epqa``: ePQA's ``dev.csv`` grouped by ASIN — the title column, attribute candidates
  (``name: { value: … }``), bullets, description sentences, reviews, and community Q&A.
- ``hetpqa``: hetPQA's tab-separated files grouped by ASIN. hetPQA has no titles, so the first
  bullet (else the first description sentence) stands in as the title; a product with neither
  is quarantined by validation like any record without a title.
- ``implicitave``: ImplicitAVE's photographed products (:mod:`catalog.implicitave`): title,
  domain and category, the photo; the labelled implicit value is left out.

Each yields :class:`~catalog.ingest.RawRecord` in the catalog schema, so ingestion validates
them like any user's catalog.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalog.ingest import RawRecord
from foundation.errors import IngestError

FORMATS = ("grocery", "epqa", "hetpqa", "implicitave")

_ATTRIBUTE = re.compile(r"^\s*([A-Za-z0-9_ .-]+?)\s*:\s*(\{.*\})\s*$", re.S)
_BLOCK = re.compile(r"\{((?:[^{}\"]|\"(?:[^\"\\]|\\.)*\")*)\}")
_FIELD = r"(?<![\w])%s\s*:\s*(\"(?:[^\"\\]|\\.)*\"|[^,}\]]+)"
_VALUE = re.compile(_FIELD % "value")
_UNIT = re.compile(_FIELD % "unit")
_ANY_FIELD = re.compile(_FIELD % r"(\w+)")
_CQA_SPLIT = re.compile(r"\s+Question:\s+", re.I)


def read_dataset(path: Path, data_format: str) -> Iterator[RawRecord]:
    """Records of a public data set laid out as in ``../shared/data``."""
    if data_format == "grocery":
        return grocery_records(path)
    if data_format == "epqa":
        return epqa_records(path)
    if data_format == "hetpqa":
        return hetpqa_records(path)
    if data_format == "implicitave":
        from catalog.implicitave import implicitave_records

        return implicitave_records(path)
    raise IngestError(f"unknown data set format {data_format!r}; use one of {', '.join(FORMATS)}")


def grocery_records(root: Path) -> Iterator[RawRecord]:
    """The 81 products of the Grocery Store data set (``root/products.jsonl``)."""
    products = root / "products.jsonl" if root.is_dir() else root
    if not products.is_file():
        raise IngestError(f"{products} not found; point at the grocery data set directory")
    with products.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            location = f"{products}:{number}"
            try:
                source = json.loads(line)
            except json.JSONDecodeError as e:
                yield RawRecord(location, line.strip(), None, f"not valid JSON: {e.msg}")
                continue
            yield RawRecord(location, line.strip(), _grocery_record(source))


def _grocery_record(source: dict[str, Any]) -> dict[str, Any]:
    info = _info_block(str(source.get("information", "")))
    taxonomy = [str(part) for part in source.get("taxonomy", [])]
    attributes: dict[str, Any] = {}
    country, _, volume = info.get("country and volume", "").partition(",")
    if country.strip():
        attributes["country of origin"] = country.strip()
    if volume.strip():
        attributes["volume"] = volume.strip()
    name = str(source.get("name", "")).replace("-", " ")
    record: dict[str, Any] = {
        "id": f"grocery-{source.get('class_id')}",
        "title": info.get("title") or name,
        "description": str(source.get("description", "")),
        "category": ["Grocery", *taxonomy[:-1]] if taxonomy else ["Grocery"],
        "attributes": attributes,
    }
    if source.get("iconic_image"):
        record["images"] = [str(source["iconic_image"])]
    return record


def _info_block(information: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in information.replace("\ufeff", "").splitlines():
        name, sep, value = line.partition(":")
        if sep and value.strip():
            fields[name.strip().lower()] = value.strip()
    return fields


def epqa_records(path: Path) -> Iterator[RawRecord]:
    """ePQA products: the candidates of ``dev.csv`` grouped by ASIN."""
    file = path / "dev.csv" if path.is_dir() else path
    rows = _read_rows(file, delimiter=",")
    yield from _grouped(file, rows, title_column="title")


def hetpqa_records(path: Path) -> Iterator[RawRecord]:
    """hetPQA products: the candidates of the tab-separated files grouped by ASIN."""
    files = sorted(path.rglob("*.csv")) if path.is_dir() else [path]
    rows = [row for file in files for row in _read_rows(file, delimiter="\t")]
    yield from _grouped(path, rows, title_column=None)


def _read_rows(file: Path, delimiter: str) -> list[dict[str, str]]:
    if not file.is_file():
        raise IngestError(f"{file} not found")
    with file.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        missing = {"ASIN", "candidate", "source"} - set(reader.fieldnames or [])
        if missing:
            raise IngestError(f"{file} lacks the column(s) {sorted(missing)}; is it a PQA file?")
        return list(reader)


def _grouped(
    where: Path, rows: list[dict[str, str]], title_column: str | None
) -> Iterator[RawRecord]:
    products: dict[str, dict[str, Any]] = {}
    seen: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        asin = row["ASIN"].strip()
        product = products.setdefault(
            asin,
            {
                "id": asin,
                "title": "",
                "description": [],
                "bullets": [],
                "attributes": {},
                "reviews": [],
                "qa": [],
            },
        )
        if title_column and not product["title"]:
            product["title"] = row.get(title_column, "").strip()
        candidate, source = row["candidate"].strip(), row["source"].strip().lower()
        if not candidate or (source, candidate) in seen.setdefault(asin, set()):
            continue
        seen[asin].add((source, candidate))
        _add_candidate(product, source, candidate)
    for asin, product in products.items():
        product["description"] = " ".join(product["description"])
        if not product["title"]:
            product["title"] = (product["bullets"] or [product["description"][:200]])[0]
        yield RawRecord(f"{where}#{asin}", json.dumps(product, ensure_ascii=False), product)


def _add_candidate(product: dict[str, Any], source: str, candidate: str) -> None:
    if source == "attribute":
        parsed = parse_attribute(candidate)
        if parsed is not None:
            name, value = parsed
            product["attributes"].setdefault(name, value)
    elif source == "bullet":
        product["bullets"].append(candidate)
    elif source in ("description", "desc", "osp"):
        product["description"].append(candidate)
    elif source == "review":
        product["reviews"].append({"text": candidate})
    elif source == "cqa":
        # ePQA writes community Q&A as "<answer> Question: <question>"
        parts = _CQA_SPLIT.split(candidate, maxsplit=1)
        if len(parts) == 2 and parts[0].strip() and parts[1].strip():
            product["qa"].append({"question": parts[1].strip(), "answer": parts[0].strip()})
        else:  # an answer whose question was not kept is still a shopper's own words
            product["reviews"].append({"text": candidate})


def parse_attribute(candidate: str) -> tuple[str, str | list[str]] | None:
    """``'size:  { value:"ipad case" }'`` → ``('size', 'ipad case')``; several values → a list."""
    match = _ATTRIBUTE.match(candidate)
    if match is None:
        return None
    name = match.group(1).strip().replace("_", " ")
    values = []
    for block in _BLOCK.finditer(match.group(2)):
        found = _VALUE.search(block.group(1))
        if found is None:  # e.g. { quantity:1, type:aaa }: keep every field
            fields = _ANY_FIELD.findall(block.group(1))
            value = ", ".join(f"{name.replace('_', ' ')} {_unquote(v)}" for name, v in fields)
            if value:
                values.append(value)
            continue
        value = _unquote(found.group(1))
        unit_match = _UNIT.search(block.group(1))
        unit = _unquote(unit_match.group(1)) if unit_match else ""
        if value:
            values.append(f"{value} {unit}".strip())
    if not values:
        return None
    return name, values[0] if len(values) == 1 else values


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"')
    return text.strip()
