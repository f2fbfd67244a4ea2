"""Attribute-value extraction data: the public AVE sets and distant supervision from catalogs.

OA-Mine and AE-110K give a title (``input``) and gold values; WDC-PAVE gives a title and a
description. Gold values become character spans by finding them in the text (case-insensitive,
on word boundaries); values that do not occur, and ``n/a``, are kept for scoring but give no
span. The dev split is a hash of the text, so it is the same on every machine and run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.schema import CatalogRecord
from extraction.textnorm import normalize_text
from foundation.errors import ExtractionError

AVE_FORMATS = ("oa-mine", "ae-110k", "wdc-pave")
# descriptions are read whole (the MiniLM tagger reads them in overlapping windows); this
# only bounds a pathological one, as the pipeline's normalizer bounds a section
MAX_DESCRIPTION_CHARS = 20_000
DEV_BUCKETS = 5  # one bucket in five is dev: 20 %
Span = tuple[int, int, str]


@dataclass
class AveExample:
    """One product text with its gold values (``attribute`` lowercased → values)."""

    text: str
    category: str
    data_format: str
    gold: dict[str, list[str]] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()  # noqa: S324 - not security

    @property
    def split(self) -> str:
        """``dev`` for a fifth of the texts, ``val`` (early stopping) for a tenth of the rest."""
        number = int(self.uid[:12], 16)
        if number % DEV_BUCKETS == 0:
            return "dev"
        return "val" if (number // DEV_BUCKETS) % 10 == 0 else "fit"

    def spans(self, labels: Iterable[str] | None = None) -> list[Span]:
        """Character spans of the gold values that occur in the text."""
        wanted = None if labels is None else set(labels)
        found: list[Span] = []
        for attribute, values in self.gold.items():
            if wanted is not None and attribute not in wanted:
                continue
            for value in values:
                found.extend((start, end, attribute) for start, end in locate(self.text, value))
        return found


def product_text(title: str, description: str = "") -> str:
    """The text the tagger reads: the title, then the description (up to 20,000 characters)."""
    title = normalize_text(title)
    description = normalize_text(description)[:MAX_DESCRIPTION_CHARS]
    return f"{title}\n{description}" if description else title


def locate(text: str, value: str) -> list[tuple[int, int]]:
    """Where ``value`` occurs in ``text``: case-insensitive, not inside a longer word."""
    value = normalize_text(value)
    if not value or value.lower() == "n/a":
        return []
    pattern = re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])", re.I)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def read_ave(path: Path, data_format: str, limit: int | None = None) -> list[AveExample]:
    """Examples of one AVE file in the ``oa-mine``, ``ae-110k`` or ``wdc-pave`` layout."""
    if data_format not in AVE_FORMATS:
        raise ExtractionError(
            f"unknown AVE format {data_format!r}; use one of {', '.join(AVE_FORMATS)}"
        )
    if not path.is_file():
        raise ExtractionError(f"{path} is not a file; give a .jsonl file of the {data_format} set")
    examples = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                examples.append(_example(row, data_format))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
                raise ExtractionError(
                    f"{path}:{number} is not a {data_format} record ({e!r}); check --format"
                ) from e
            if limit is not None and len(examples) >= limit:
                break
    return examples


def _example(row: dict[str, Any], data_format: str) -> AveExample:
    if "input" in row:
        text = product_text(str(row["input"]))
    else:
        text = product_text(str(row["input_title"]), str(row.get("input_description") or ""))
    gold: dict[str, list[str]] = {}
    for attribute, values in row["target_scores"].items():
        kept = [str(v).strip() for v in values if str(v).strip() and str(v).lower() != "n/a"]
        if kept:
            gold.setdefault(attribute.strip().lower(), []).extend(kept)
    return AveExample(text, str(row.get("category", "")), data_format, gold)


def ave_training_files(ave_dir: Path) -> Iterator[tuple[Path, str]]:
    """The train files under a directory laid out as ``../shared/data/ave``."""
    for data_format in AVE_FORMATS:
        for path in sorted((ave_dir / data_format).glob("train*.jsonl")):
            yield path, data_format


def catalog_examples(records: Iterable[CatalogRecord]) -> list[AveExample]:
    """Distant supervision: a record's own structured attributes found in its title/description.

    A record contributes only when at least one of its attribute values occurs in its text.
    """
    examples = []
    for record in records:
        text = product_text(record.title, record.description)
        gold: dict[str, list[str]] = {}
        for name, value in record.attributes.items():
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, bool):
                    continue
                item_text = str(item).strip()
                if len(item_text) >= 2 and locate(text, item_text):
                    gold.setdefault(name.strip().lower(), []).append(item_text)
        if gold:
            category = record.category[-1] if record.category else ""
            examples.append(AveExample(text, category, "catalog", gold))
    return examples
