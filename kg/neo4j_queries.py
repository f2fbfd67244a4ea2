"""All Neo4j 5 Cypher in one place: constraints and indexes generated from the ontology, and
the query builders of :class:`~kg.neo4j_store.Neo4jStore`.

Values always travel as parameters. Labels, relation types and property names come from the
ontology and pass :func:`ident` before they are written into the text; hop counts are checked
integers (Cypher takes no parameter for variable-length bounds). The driver types queries as
``LiteralString``; :func:`_lit` is the one place where our checked builders claim that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import LiteralString

from foundation.errors import SchemaError

META_LABEL = "ShopKGMeta"
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _lit(text: str) -> LiteralString:
    """Builders assemble checked identifiers and constants, never user input."""
    return text  # type checkers that enforce LiteralString would need a cast here


def ident(name: str) -> str:
    """``name`` if it is a plain identifier (as every ontology name is), else a SchemaError."""
    if not _IDENT.match(name):
        raise SchemaError(f"{name!r} is not a valid identifier for a Cypher query")
    return name


def _hops(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 3:
        raise SchemaError(f"hop count must be an integer from 1 to 3, got {n!r}")
    return n


def fulltext_index_name(label: str) -> str:
    return f"shopkg_{ident(label)}_search"


# -- schema --------------------------------------------------------------------------------
def key_constraint_name(label: str) -> str:
    return f"shopkg_{ident(label)}_key"


def property_index_name(label_or_type: str, prop: str) -> str:
    return f"shopkg_{ident(label_or_type)}_{ident(prop)}"


def key_constraint(label: str) -> LiteralString:
    """Uniqueness of the natural key; it also gives MERGE and key lookups their index."""
    return _lit(
        f"CREATE CONSTRAINT shopkg_{ident(label)}_key IF NOT EXISTS "
        f"FOR (n:{ident(label)}) REQUIRE n.key IS UNIQUE"
    )


def node_property_index(label: str, prop: str) -> LiteralString:
    return _lit(
        f"CREATE INDEX shopkg_{ident(label)}_{ident(prop)} IF NOT EXISTS "
        f"FOR (n:{ident(label)}) ON (n.{ident(prop)})"
    )


def relation_property_index(rel_type: str, prop: str) -> LiteralString:
    return _lit(
        f"CREATE INDEX shopkg_{ident(rel_type)}_{ident(prop)} IF NOT EXISTS "
        f"FOR ()-[r:{ident(rel_type)}]-() ON (r.{ident(prop)})"
    )


FULLTEXT_ANALYZER = "whitespace"
"""ShopKG folds and stems the indexed words itself (:func:`kg.validation.index_word`); the
index only splits them, so Neo4j matches the words Kùzu (``stemmer := 'none'``) matches."""


def fulltext_index(label: str, prop: str) -> LiteralString:
    return _lit(
        f"CREATE FULLTEXT INDEX {fulltext_index_name(label)} IF NOT EXISTS "
        f"FOR (n:{ident(label)}) ON EACH [n.{ident(prop)}] "
        f"OPTIONS {{indexConfig: {{`fulltext.analyzer`: '{FULLTEXT_ANALYZER}'}}}}"
    )


def drop_index(name: str) -> LiteralString:
    return _lit(f"DROP INDEX {ident(name)} IF EXISTS")


SHOW_INDEXES: LiteralString = "SHOW INDEXES YIELD name, type, options RETURN name, type, options"
SHOW_CONSTRAINTS: LiteralString = "SHOW CONSTRAINTS YIELD name RETURN name"


AWAIT_INDEXES: LiteralString = "CALL db.awaitIndexes(300)"
META_CONSTRAINT = key_constraint(META_LABEL)
READ_SCHEMA_VERSION: LiteralString = (
    "MATCH (m:ShopKGMeta {key: 'schema'}) RETURN m.version AS version"
)
WRITE_SCHEMA_VERSION: LiteralString = (
    "MERGE (m:ShopKGMeta {key: 'schema'}) SET m.version = $version, m.ontology = $ontology"
)
SHOW_FULLTEXT_INDEXES: LiteralString = (
    "SHOW INDEXES YIELD name, type WHERE type = 'FULLTEXT' RETURN name ORDER BY name"
)
BULK_ROWS = 10_000
"""Rows per inner transaction of a bulk delete: memory stays bounded however big the graph."""


def _rows_per_tx(rows: int) -> int:
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        raise SchemaError(f"rows per transaction must be a positive integer, got {rows!r}")
    return rows


def in_transactions(match: str, var: str, action: str, rows: int = BULK_ROWS) -> LiteralString:
    """``match`` (a MATCH … that binds ``var``), then ``action`` on every ``var`` in inner
    transactions of ``rows`` rows each. Valid only in an auto-commit transaction
    (``session.run``, not ``execute_write``): the server commits every batch itself."""
    return _lit(
        f"{match} CALL {{ WITH {ident(var)} {action} }} "
        f"IN TRANSACTIONS OF {_rows_per_tx(rows)} ROWS"
    )


def clear_relations(rows: int = BULK_ROWS) -> LiteralString:
    """Every relation, batched: relations go before nodes, so no batch detaches a hub."""
    return in_transactions("MATCH ()-[r]->()", "r", "DELETE r", rows)


def clear_nodes(keep_meta: bool, rows: int = BULK_ROWS) -> LiteralString:
    """Every node (but the schema marker when ``keep_meta``), batched."""
    match = f"MATCH (n) WHERE NOT n:{META_LABEL}" if keep_meta else "MATCH (n)"
    return in_transactions(match, "n", "DETACH DELETE n", rows)


# -- nodes ---------------------------------------------------------------------------------
def fetch_nodes(label: str) -> LiteralString:
    return _lit(
        f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) RETURN properties(n) AS props"
    )


def existing_keys(label: str) -> LiteralString:
    return _lit(f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) RETURN n.key AS key")


def create_nodes(label: str) -> LiteralString:
    """One node per map in ``$rows`` (null values are simply not stored)."""
    return _lit(f"UNWIND $rows AS row CREATE (n:{ident(label)}) SET n = row")


def update_nodes(label: str) -> LiteralString:
    """``$rows``: ``{key, props}``; ``+=`` sets the given properties, a null removes one."""
    return _lit(f"UNWIND $rows AS row MATCH (n:{ident(label)} {{key: row.key}}) SET n += row.props")


def delete_nodes(label: str) -> LiteralString:
    return _lit(f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) DETACH DELETE n")


def _where(var: str, extractor: bool, source: bool) -> str:
    parts = [f"{var}.extractor = $extractor"] if extractor else []
    parts += [f"{var}.source IN $sources"] if source else []
    if not parts:
        raise SchemaError("a provenance filter needs an extractor or a source")
    return " AND ".join(parts)


def node_keys_where(label: str, extractor: bool, source: bool) -> LiteralString:
    where = _where("n", extractor, source)
    return _lit(f"MATCH (n:{ident(label)}) WHERE {where} RETURN n.key AS key")


def orphan_keys(label: str) -> LiteralString:
    return _lit(
        f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) "
        "WHERE NOT EXISTS { (n)--() } RETURN n.key AS key"
    )


def page(label: str, first: bool) -> LiteralString:
    where = "" if first else " WHERE n.key > $after"
    return _lit(
        f"MATCH (n:{ident(label)}){where} RETURN properties(n) AS props ORDER BY n.key LIMIT $size"
    )


def count_nodes(label: str) -> LiteralString:
    return _lit(f"MATCH (n:{ident(label)}) RETURN count(n) AS n")


# -- relations -----------------------------------------------------------------------------
def _rel_match(rel_type: str, start: str, end: str) -> str:
    return (
        f"MATCH (a:{ident(start)} {{key: row.start}})-[r:{ident(rel_type)}]->"
        f"(b:{ident(end)} {{key: row.end}}) "
        "WHERE r.extractor = row.extractor AND r.source = row.source"
    )


def fetch_relations(rel_type: str, start: str, end: str) -> LiteralString:
    return _lit(
        f"UNWIND $keys AS k MATCH (a:{ident(start)} {{key: k}})-[r:{ident(rel_type)}]->"
        f"(b:{ident(end)}) RETURN a.key AS start, b.key AS end, properties(r) AS props"
    )


def create_relations(rel_type: str, start: str, end: str) -> LiteralString:
    """``$rows``: ``{start, end, props}``; endpoints were checked to exist beforehand."""
    return _lit(
        f"UNWIND $rows AS row MATCH (a:{ident(start)} {{key: row.start}}) "
        f"MATCH (b:{ident(end)} {{key: row.end}}) "
        f"CREATE (a)-[r:{ident(rel_type)}]->(b) SET r = row.props"
    )


def update_relations(rel_type: str, start: str, end: str) -> LiteralString:
    """``$rows``: ``{start, end, extractor, source, props}``."""
    return _lit(f"UNWIND $rows AS row {_rel_match(rel_type, start, end)} SET r += row.props")


def delete_relations(rel_type: str, start: str, end: str) -> LiteralString:
    return _lit(f"UNWIND $rows AS row {_rel_match(rel_type, start, end)} DELETE r")


def delete_relations_where(rel_type: str, extractor: bool, source: bool) -> LiteralString:
    where = _where("r", extractor, source)
    return _lit(f"MATCH ()-[r:{ident(rel_type)}]->() WHERE {where} DELETE r RETURN count(*) AS n")


def count_relations_where(rel_type: str, extractor: bool, source: bool) -> LiteralString:
    where = _where("r", extractor, source)
    return _lit(f"MATCH ()-[r:{ident(rel_type)}]->() WHERE {where} RETURN count(r) AS n")


def delete_relations_where_batched(
    rel_type: str, extractor: bool, source: bool, rows: int = BULK_ROWS
) -> LiteralString:
    """:func:`delete_relations_where` in inner transactions (auto-commit only)."""
    match = f"MATCH ()-[r:{ident(rel_type)}]->() WHERE {_where('r', extractor, source)}"
    return in_transactions(match, "r", "DELETE r", rows)


def delete_orphans(label: str) -> LiteralString:
    """Delete the nodes of ``$keys`` that have no relation; returns the keys deleted."""
    return _lit(
        f"UNWIND $keys AS k MATCH (n:{ident(label)} {{key: k}}) "
        "WHERE NOT EXISTS { (n)--() } WITH n, n.key AS key DELETE n RETURN key"
    )


def count_relations(rel_type: str) -> LiteralString:
    return _lit(f"MATCH ()-[r:{ident(rel_type)}]->() RETURN count(r) AS n")


def count_relations_by_extractor(rel_type: str) -> LiteralString:
    return _lit(
        f"MATCH ()-[r:{ident(rel_type)}]->() RETURN r.extractor AS extractor, count(r) AS n"
    )


def relations_of(label: str, outgoing: bool) -> LiteralString:
    pattern = "-[r]->(b)" if outgoing else "<-[r]-(b)"
    return _lit(
        f"MATCH (a:{ident(label)} {{key: $key}}){pattern} "
        "RETURN type(r) AS type, labels(b) AS labels, b.key AS key, properties(r) AS props"
    )


def relations_among(rel_type: str, start: str, end: str, by_keys: bool) -> LiteralString:
    head = (
        f"UNWIND $keys AS k MATCH (a:{ident(start)} {{key: k}})"
        if by_keys
        else (f"MATCH (a:{ident(start)})")
    )
    return _lit(
        f"{head}-[r:{ident(rel_type)}]->(b:{ident(end)}) "
        "RETURN a.key AS start, b.key AS end, properties(r) AS props"
    )


# -- graph queries -------------------------------------------------------------------------
def _types(relations: Sequence[str] | None) -> str:
    return ":" + "|".join(ident(t) for t in relations) if relations else ""


def _followed(extractor: str | None) -> str:
    """The path's filter of the relations it follows by ``$extractor``: equal to it
    (``"exact"``), starting with it (``"prefix"``), or none."""
    if extractor is None:
        return ""
    test = {"exact": "= $extractor", "prefix": "STARTS WITH $extractor"}[extractor]
    return f" AND all(r IN relationships(p) WHERE r.extractor {test})"


def neighborhood(
    label: str,
    hops: int,
    relations: Sequence[str] | None,
    labels: bool,
    direction: str,
    extractor: str | None = None,
) -> LiteralString:
    """The ``$limit`` nearest nodes: nearest first, then by label and key. ``extractor``
    ("exact" or "prefix"): follow only relations whose extractor matches ``$extractor`` so."""
    rel = f"[{_types(relations)}*1..{_hops(hops)}]"
    arrow = {"out": f"-{rel}->", "in": f"<-{rel}-", "both": f"-{rel}-"}[direction]
    label_filter = " AND any(l IN labels(b) WHERE l IN $labels)" if labels else ""
    return _lit(
        f"MATCH (a:{ident(label)} {{key: $key}}) MATCH p = (a){arrow}(b) "
        f"WHERE b <> a{label_filter}{_followed(extractor)} "
        "WITH b, min(length(p)) AS d "
        "RETURN labels(b)[0] AS label, properties(b) AS props, d "
        "ORDER BY d, label, b.key LIMIT $limit"
    )


def paths(start: str, end: str, length: int, relations: Sequence[str] | None) -> LiteralString:
    """Simple paths (no repeated node) of exactly ``length`` hops, relations either way."""
    n = _hops(length)
    return _lit(
        f"MATCH (a:{ident(start)} {{key: $from_key}}), (b:{ident(end)} {{key: $to_key}}) "
        f"MATCH p = (a)-[{_types(relations)}*{n}..{n}]-(b) "
        "WHERE all(x IN nodes(p) WHERE single(y IN nodes(p) WHERE y = x)) "
        "RETURN [x IN nodes(p) | {labels: labels(x), props: properties(x)}] AS nodes, "
        "[r IN relationships(p) | {type: type(r), start: labels(startNode(r)), "
        "start_key: startNode(r).key, end: labels(endNode(r)), end_key: endNode(r).key, "
        "props: properties(r)}] AS rels"
    )


SEARCH: LiteralString = (
    "CALL db.index.fulltext.queryNodes($index, $text, {limit: $top}) YIELD node, score "
    "RETURN properties(node) AS props, score ORDER BY score DESC, node.key LIMIT $top"
)
