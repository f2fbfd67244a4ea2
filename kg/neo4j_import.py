"""Neo4j's bulk-import files from a graph store: the fast first load of a large catalog.

``neo4j-admin database import full`` builds a Neo4j database offline from CSV files, much
faster than any transactional write. :func:`write_import_files` writes them from any open
store (usually the Kùzu graph of a build): one node file per label, with the natural key as
the ``:ID`` in an id space per label (keys are unique per label only), one relationship file
per (type, start label, end label), every property ShopKG stores (provenance and the derived
``search_text`` included), and the schema version marker, so the imported graph opens as an
up-to-date ShopKG graph (the first open creates its constraints and indexes).
"""

from __future__ import annotations

import csv
import json
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.neo4j_queries import META_LABEL, ident
from kg.records import RelationRecord
from kg.schema import KEY, Property, PropType
from kg.store import GraphStore, described_schema

ARRAY_DELIMITER = "\x1f"
"""Between list items (aliases may hold ``;``, the importer's default): the unit separator,
given to the importer as ``U+001F``."""
_TYPES = {
    PropType.STRING: "",
    PropType.INT64: ":long",
    PropType.DOUBLE: ":double",
    PropType.BOOL: ":boolean",
    PropType.STRING_LIST: ":string[]",
    PropType.DOUBLE_LIST: ":double[]",
}


@dataclass
class ImportFiles:
    """What :func:`write_import_files` wrote, and how many rows each file holds."""

    directory: Path
    nodes: dict[str, int] = field(default_factory=dict)
    """Rows per node file name."""
    relationships: dict[str, int] = field(default_factory=dict)
    """Rows per relationship file name."""
    node_counts: dict[str, int] = field(default_factory=dict)
    relation_counts: dict[str, int] = field(default_factory=dict)

    def command(self, database: str = "neo4j") -> str:
        """The ``neo4j-admin`` command line that loads the files (the database stopped)."""
        args = ["neo4j-admin", "database", "import", "full"]
        args += [f"--nodes={self.directory / name}" for name in self.nodes]
        args += [f"--relationships={self.directory / name}" for name in self.relationships]
        args += ["--array-delimiter=U+001F", "--multiline-fields=true", "--overwrite-destination"]
        return shlex.join([*args, database])


def _header(props: Mapping[str, Property]) -> list[str]:
    return [f"{name}{_TYPES[prop.type]}" for name, prop in props.items()]


def _cell(prop: Property, value: Any) -> str:
    if value is None:
        return ""  # no property (the importer skips empty fields)
    if prop.type.is_list:
        return ARRAY_DELIMITER.join(str(v) for v in value)
    if prop.type is PropType.BOOL:
        return "true" if value else "false"
    return str(value)


def write_import_files(store: GraphStore, directory: Path, *, page: int = 5000) -> ImportFiles:
    """Write every node and relation of ``store`` into ``directory`` as import CSV files."""
    directory.mkdir(parents=True, exist_ok=True)
    files = ImportFiles(directory.resolve())
    ontology = store.ontology
    meta = f"nodes_{ident(META_LABEL)}.csv"
    with (directory / meta).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"key:ID({META_LABEL})", ":LABEL", "version:long", "ontology"])
        described = json.dumps(described_schema(ontology), sort_keys=True)
        writer.writerow(["schema", META_LABEL, ontology.version, described])
    files.nodes[meta] = 1
    for node in ontology.node_types():
        label = node.label
        props = {n: p for n, p in node.all_properties.items() if n != KEY}
        name = f"nodes_{ident(label)}.csv"
        count = 0
        with (directory / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([f"{KEY}:ID({label})", ":LABEL", *_header(props)])
            for batch in store.iter_nodes(label, batch_size=page):
                for record in batch:
                    cells = [_cell(p, record.properties.get(n)) for n, p in props.items()]
                    writer.writerow([record.key, label, *cells])
                count += len(batch)
        files.nodes[name] = count
        files.node_counts[label] = count
    for rel in ontology.relations():
        props = dict(rel.all_properties)
        for start, end in rel.endpoints:
            name = f"relationships_{ident(rel.type)}_{ident(start)}_{ident(end)}.csv"
            count = 0
            with (directory / name).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                head = [f":START_ID({start})", f":END_ID({end})", ":TYPE", *_header(props)]
                writer.writerow(head)
                for found in _relations(store, rel.type, start, end, page):
                    cells = [_cell(p, found.properties.get(n)) for n, p in props.items()]
                    writer.writerow([found.start.key, found.end.key, rel.type, *cells])
                    count += 1
            files.relationships[name] = count
            files.relation_counts[rel.type] = files.relation_counts.get(rel.type, 0) + count
    return files


def _relations(
    store: GraphStore, rel_type: str, start: str, end: str, page: int
) -> Iterator[RelationRecord]:
    """The relations of one (type, start, end) group, a page of start nodes at a time."""
    for batch in store.iter_nodes(start, batch_size=page):
        nodes = {(start, r.key) for r in batch}
        nodes.add((end, ""))  # the end label is wanted; ends are not filtered by key
        for found in store._relations_among(nodes, (rel_type,)):
            if found.start.label == start and found.end.label == end:
                yield found
