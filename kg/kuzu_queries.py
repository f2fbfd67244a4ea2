"""All Kùzu Cypher in one place: DDL generated from the ontology, and the query builders.

Values always travel as parameters. Labels, relation types and property names are written into
the text, but only after :func:`ident` has checked them against the identifier rules the
ontology enforces, so nothing a user typed ever becomes Cypher. The one exception Kùzu forces
on us (it takes no parameter there) is the file path of ``COPY``: a temporary file the store
itself creates, checked by :func:`file_literal`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from foundation.errors import SchemaError
from kg.schema import (
    KEY,
    SEARCH_TEXT,
    NodeType,
    Property,
    RelationType,
)

META_TABLE = "ShopKGMeta"
NULL_MARKER = "__shopkg_null__"
"""How COPY files spell NULL (Kùzu reads this exact string, quoted or not, as NULL)."""
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./\-]+$")


def ident(name: str) -> str:
    """``name`` if it is a plain identifier (as every ontology name is), else a SchemaError."""
    if not _IDENT.match(name):
        raise SchemaError(f"{name!r} is not a valid identifier for a Cypher query")
    return name


def file_literal(path: str) -> str:
    """A quoted file path for COPY/stop-words; only paths of our own temporary files pass."""
    if not _SAFE_PATH.match(path):
        raise SchemaError(f"temporary file path {path!r} has characters Kùzu cannot quote safely")
    return f"'{path}'"


def fts_index_name(label: str) -> str:
    return f"{ident(label)}_search"


# -- DDL -----------------------------------------------------------------------------------
def _column(prop: Property) -> str:
    default = " DEFAULT []" if prop.type.is_list else ""
    return f"{ident(prop.name)} {prop.type.value}{default}"


def create_node_table(node: NodeType) -> str:
    columns = ", ".join(_column(p) for p in node.all_properties.values())
    return f"CREATE NODE TABLE IF NOT EXISTS {ident(node.label)}({columns}, PRIMARY KEY({KEY}))"


def create_rel_table(rel: RelationType) -> str:
    pairs = ", ".join(f"FROM {ident(s)} TO {ident(e)}" for s, e in rel.endpoints)
    columns = "".join(f", {_column(p)}" for p in rel.all_properties.values())
    return f"CREATE REL TABLE IF NOT EXISTS {ident(rel.type)}({pairs}{columns})"


def add_column(table: str, prop: Property) -> str:
    return f"ALTER TABLE {ident(table)} ADD IF NOT EXISTS {_column(prop)}"


def add_rel_pair(rel_type: str, start: str, end: str) -> str:
    return f"ALTER TABLE {ident(rel_type)} ADD IF NOT EXISTS FROM {ident(start)} TO {ident(end)}"


FTS_OPTIONS = "stemmer := 'none'"
"""ShopKG stems and folds the indexed words itself (:func:`kg.validation.index_word`), so
Kùzu and Neo4j match the same words; Kùzu's stop words never match a prefixed word."""


def create_fts_index(label: str) -> str:
    """Kùzu's built-in FTS over the derived ``search_text``, without a stemmer of its own."""
    return (
        f"CALL CREATE_FTS_INDEX('{ident(label)}', '{fts_index_name(label)}', "
        f"['{SEARCH_TEXT}'], {FTS_OPTIONS})"
    )


def drop_fts_index(label: str) -> str:
    return f"CALL DROP_FTS_INDEX('{ident(label)}', '{fts_index_name(label)}')"


CREATE_META_TABLE = (
    f"CREATE NODE TABLE IF NOT EXISTS {META_TABLE}"
    "(key STRING, version INT64, ontology STRING, PRIMARY KEY(key))"
)
READ_SCHEMA_VERSION = f"MATCH (m:{META_TABLE} {{key: 'schema'}}) RETURN m.version, m.ontology"
WRITE_SCHEMA_VERSION = (
    f"MERGE (m:{META_TABLE} {{key: 'schema'}}) SET m.version = $version, m.ontology = $ontology"
)
SHOW_TABLES = "CALL show_tables() RETURN name, type"
SHOW_INDEXES = "CALL show_indexes() RETURN table_name, index_name, index_definition"
CHECKPOINT = "CHECKPOINT"


def table_info(table: str) -> str:
    return f"CALL table_info('{ident(table)}') RETURN name, type"


def show_connection(rel_type: str) -> str:
    return f"CALL show_connection('{ident(rel_type)}') RETURN *"


# -- nodes ---------------------------------------------------------------------------------
def _returns(var: str, columns: Sequence[str]) -> str:
    return ", ".join(f"{var}.{ident(c)}" for c in columns)


def fetch_nodes(label: str, columns: Sequence[str]) -> str:
    """Rows of ``columns`` for the nodes whose keys are in ``$keys``. Kùzu runs this as a scan
    and hash join (it costs about a table scan), so few keys go through :func:`fetch_node`."""
    return f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) RETURN {_returns('n', columns)}"


def fetch_node(label: str, columns: Sequence[str]) -> str:
    """``columns`` of the node keyed ``$key``: a primary-key index lookup."""
    return f"MATCH (n:{ident(label)} {{key: $key}}) RETURN {_returns('n', columns)}"


def existing_keys(label: str) -> str:
    return f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) RETURN n.key"


def count_existing(label: str) -> str:
    """How many of the (distinct) keys in ``$keys`` have a ``label`` node."""
    return f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) RETURN count(*)"


def _get(name: str, index: int, positional: bool) -> str:
    """A field of an UNWIND row: ``row[i]`` of a list of strings, or ``row.name`` of a map.

    Lists of strings are the cheap form (Kùzu converts a map per row several times slower);
    maps are used only when a column holds a list, which a list of strings cannot carry.
    """
    return f"row[{index + 1}]" if positional else f"row.{ident(name)}"


def _unpack(columns: Sequence[Property], offset: int, positional: bool) -> str:
    """Each column as ``v_<name>``, cast to its type (strings, or a column of nulls, arrive
    with the wrong type)."""
    return ", ".join(
        f"CAST({_get(c.name, offset + i, positional)} AS {c.type.value}) AS v_{c.name}"
        for i, c in enumerate(columns)
    )


def create_nodes(label: str, columns: Sequence[Property], positional: bool) -> str:
    """New nodes from ``$rows`` (values of ``columns``, ``key`` among them).

    MERGE, not CREATE, although the rows are known to be new: in Kùzu 0.11.3 one CREATE of
    several rows indexes the first row's text for all of them in the full-text index.
    """
    sets = ", ".join(f"n.{ident(c.name)} = v_{c.name}" for c in columns if c.name != KEY)
    return (
        f"UNWIND $rows AS row WITH {_unpack(columns, 0, positional)} "
        f"MERGE (n:{ident(label)} {{key: v_key}})" + (f" SET {sets}" if sets else "")
    )


def update_nodes(label: str, columns: Sequence[Property], positional: bool) -> str:
    """SET ``columns`` on the nodes keyed by the rows' ``key`` (rows: key, then columns)."""
    sets = ", ".join(f"n.{ident(c.name)} = v_{c.name}" for c in columns)
    return (
        f"UNWIND $rows AS row WITH {_get(KEY, 0, positional)} AS k, "
        f"{_unpack(columns, 1, positional)} MATCH (n:{ident(label)} {{key: k}}) SET {sets}"
    )


def copy_nodes(label: str, columns: Sequence[str], path: str) -> str:
    cols = ", ".join(ident(c) for c in columns)
    return f"COPY {ident(label)}({cols}) FROM {file_literal(path)} ({_CSV_OPTIONS}, PARALLEL=false)"


def delete_nodes(label: str) -> str:
    return f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) DETACH DELETE n"


def node_keys_where(label: str, extractor: bool, source: bool) -> str:
    return f"MATCH (n:{ident(label)}) WHERE {_where('n', extractor, source)} RETURN n.key"


def orphan_keys(label: str) -> str:
    return (
        f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) "
        "WHERE NOT EXISTS { MATCH (n)-[]-() } RETURN n.key"
    )


def page(label: str, first: bool) -> str:
    where = "" if first else " WHERE n.key > $after"
    return f"MATCH (n:{ident(label)}){where} RETURN n ORDER BY n.key LIMIT $size"


def count_nodes(label: str) -> str:
    return f"MATCH (n:{ident(label)}) RETURN count(n)"


# -- relations -----------------------------------------------------------------------------
_CSV_OPTIONS = f"HEADER=false, QUOTE='\"', ESCAPE='\"', NULL_STRINGS=['{NULL_MARKER}']"


def _where(var: str, extractor: bool, source: bool) -> str:
    parts = [f"{var}.extractor = $extractor"] if extractor else []
    parts += [f"{var}.source IN $sources"] if source else []
    if not parts:
        raise SchemaError("a provenance filter needs an extractor or a source")
    return " AND ".join(parts)


def fetch_relations(
    rel_type: str, start: str, end: str, columns: Sequence[str], by_key: bool = False
) -> str:
    """Relations of one type from the nodes keyed in ``$keys`` (or ``$key``) to ``end`` nodes."""
    head = "MATCH (a:{s} {{key: $key}})" if by_key else "UNWIND $keys AS k MATCH (a:{s} {{key: k}})"
    return (
        head.format(s=ident(start))
        + f"-[r:{ident(rel_type)}]->(b:{ident(end)}) RETURN a.key, b.key, {_returns('r', columns)}"
    )


def create_relations(
    rel_type: str, start: str, end: str, columns: Sequence[Property], positional: bool
) -> str:
    """Relations from ``$rows`` (start key, end key, then ``columns``)."""
    props = ", ".join(f"{ident(c.name)}: v_{c.name}" for c in columns)
    carry = "".join(f", v_{c.name}" for c in columns)
    return (
        f"UNWIND $rows AS row WITH {_get('s', 0, positional)} AS s, {_get('e', 1, positional)} "
        f"AS e, {_unpack(columns, 2, positional)} "
        f"MATCH (a:{ident(start)} {{key: s}}) WITH a, e{carry} "
        f"MATCH (b:{ident(end)} {{key: e}}) CREATE (a)-[r:{ident(rel_type)} {{{props}}}]->(b)"
    )


def _match_identity(rel_type: str, start: str, end: str, positional: bool) -> str:
    fields = ", ".join(
        f"{_get(name, i, positional)} AS {name}" for i, name in enumerate(("s", "e", "x", "src"))
    )
    return (
        f"UNWIND $rows AS row WITH {fields}, row "
        f"MATCH (a:{ident(start)} {{key: s}})-[r:{ident(rel_type)}]->(b:{ident(end)} {{key: e}}) "
        "WHERE r.extractor = x AND r.source = src"
    )


def update_relations(
    rel_type: str, start: str, end: str, columns: Sequence[Property], positional: bool
) -> str:
    """SET ``columns`` on the relations matched by each row's (start, end, extractor, source)."""
    sets = ", ".join(f"r.{ident(c.name)} = v_{c.name}" for c in columns)
    return (
        f"{_match_identity(rel_type, start, end, positional)} "
        f"WITH r, {_unpack(columns, 4, positional)} SET {sets}"
    )


def delete_relations(rel_type: str, start: str, end: str) -> str:
    """Rows: [start key, end key, extractor, source]."""
    return f"{_match_identity(rel_type, start, end, True)} DELETE r"


def copy_relations(rel_type: str, start: str, end: str, columns: Sequence[str], path: str) -> str:
    cols = ", ".join(ident(c) for c in columns)
    return (
        f"COPY {ident(rel_type)}({cols}) FROM {file_literal(path)} "
        f"(from='{ident(start)}', to='{ident(end)}', {_CSV_OPTIONS}, PARALLEL=false)"
    )


def count_relations_where(rel_type: str, extractor: bool, source: bool) -> str:
    return (
        f"MATCH ()-[r:{ident(rel_type)}]->() WHERE {_where('r', extractor, source)} RETURN count(r)"
    )


def delete_relations_where(rel_type: str, extractor: bool, source: bool) -> str:
    return f"MATCH ()-[r:{ident(rel_type)}]->() WHERE {_where('r', extractor, source)} DELETE r"


def count_relations(rel_type: str) -> str:
    return f"MATCH ()-[r:{ident(rel_type)}]->() RETURN count(r)"


def count_relations_by_extractor(rel_type: str) -> str:
    return f"MATCH ()-[r:{ident(rel_type)}]->() RETURN r.extractor, count(r)"


def relations_of(label: str, outgoing: bool) -> str:
    pattern = "-[r]->(b)" if outgoing else "<-[r]-(b)"
    return f"MATCH (a:{ident(label)} {{key: $key}}){pattern} RETURN label(b), b.key, r"


def relations_among(rel_type: str, start: str, end: str, by_keys: bool) -> str:
    head = "UNWIND $keys AS k MATCH (a:{s} {{key: k}})" if by_keys else "MATCH (a:{s})"
    return (
        head.format(s=ident(start))
        + f"-[r:{ident(rel_type)}]->(b:{ident(end)}) RETURN a.key, b.key, r"
    )


# -- graph queries -------------------------------------------------------------------------
def _rel_pattern(relations: Sequence[str] | None, tail: str) -> str:
    types = ":" + "|".join(ident(t) for t in relations) if relations else ""
    return f"[r{types}{tail}]"


def _followed(extractor: str | None) -> str:
    """The recursive join's filter of the relations it follows by ``$extractor``: equal to
    it (``"exact"``), starting with it (``"prefix"``), or none."""
    if extractor is None:
        return ""
    test = {"exact": "= $extractor", "prefix": "STARTS WITH $extractor"}[extractor]
    return f" (e, n | WHERE e.extractor {test})"


def neighborhood(
    label: str,
    hops: int,
    relations: Sequence[str] | None,
    labels: bool,
    direction: str,
    extractor: str | None = None,
) -> str:
    """(label, key, distance) of the ``$limit`` nearest nodes: one BFS (SHORTEST), each node
    once at its distance. Properties are read afterwards, by key, for the nodes kept.
    ``extractor`` ("exact" or "prefix"): follow only relations whose extractor matches
    ``$extractor`` so."""
    rel = _rel_pattern(relations, f"* SHORTEST 1..{int(hops)}{_followed(extractor)}")
    arrow = {"out": f"-{rel}->", "in": f"<-{rel}-", "both": f"-{rel}-"}[direction]
    where = " AND label(b) IN $labels" if labels else ""
    return (
        f"MATCH (a:{ident(label)} {{key: $key}}){arrow}(b) WHERE id(b) <> id(a){where} "
        "WITH b, length(r) AS d ORDER BY d, label(b), b.key LIMIT $limit "
        "RETURN label(b), b.key, d"
    )


def paths(start: str, end: str, length: int, relations: Sequence[str] | None) -> str:
    """All simple (ACYCLIC) paths of exactly ``length`` hops, either direction."""
    rel = _rel_pattern(relations, f"* ACYCLIC {int(length)}..{int(length)}")
    return (
        f"MATCH p = (a:{ident(start)} {{key: $from_key}})-{rel}-(b:{ident(end)} {{key: $to_key}}) "
        "RETURN nodes(p), rels(p)"
    )


def search(label: str) -> str:
    return (
        f"CALL QUERY_FTS_INDEX('{ident(label)}', '{fts_index_name(label)}', $query, top := $top) "
        "RETURN node, score ORDER BY score DESC, node.key LIMIT $top"
    )
