"""The ground truth behind one generated demo item.

The generator decides these facts first and writes the catalog record from them, so an
evaluation of extraction or search on the demo catalog can be scored against what is really
true of each item rather than against another model's guess. Truth never goes into
``catalog.jsonl``; it is returned by :func:`catalog.demo.generate.generate` and written to
``truth.jsonl`` on request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Truth:
    """What the generator made item ``id`` to be.

    ``attributes`` hold every value in canonical form (quantities as "500 ml", "1.2 kg"), also
    those the record leaves out of its structured attributes; ``listed`` maps the canonical
    names the record does list to the key it uses ("colour" may be listed as "color").
    ``review_claims`` says, per review in order, which problem it talks about and whether the
    reviewer says it was "solved", "partly" solved or "not solved". ``image_colour`` and
    ``pattern`` are what the item's images show.
    """

    id: str
    index: int
    seed: int
    department: str
    concept: str
    category: tuple[str, ...]
    brand: str
    model: str
    attributes: dict[str, str]
    listed: dict[str, str]
    pois: tuple[str, ...]
    problems: tuple[str, ...]
    scenes: tuple[str, ...]
    crowds: tuple[str, ...]
    review_claims: tuple[tuple[str, str], ...]
    image_colour: str
    pattern: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps`` writes the tuples as lists)."""
        # a shallow copy: dataclasses.asdict deep-copies and costs more than the item itself
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        """The inverse of :meth:`to_json`."""
        fields = dict(data)
        for name in ("category", "pois", "problems", "scenes", "crowds"):
            fields[name] = tuple(fields[name])
        fields["review_claims"] = tuple(
            (str(problem), str(verdict)) for problem, verdict in fields["review_claims"]
        )
        return cls(**fields)


def records_by_id(catalog: Path) -> dict[str, dict[str, Any]]:
    """The records of a demo ``catalog.jsonl`` by id, as read for ingestion (unreadable lines
    left out: the generator writes none), for evaluations that read what a record says."""
    from catalog.ingest import read_catalog

    return {str(raw.data.get("id")): raw.data for raw in read_catalog(catalog) if raw.data}


def read_truth(path: Path) -> Iterator[Truth]:
    """The truths of a ``truth.jsonl`` file that ``shopkg demo-catalog --truth`` wrote."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield Truth.from_json(json.loads(line))
