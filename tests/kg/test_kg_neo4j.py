"""The Neo4j backend without a server: its Cypher text, its parameters, its failure modes.

The conformance suite runs it against a real Neo4j 5 when ``SHOPKG_NEO4J_URI`` is set; these
tests pin down what can be checked here: every query is built from constants and checked
identifiers, values only ever travel as parameters, and the write primitives send the
parameter shapes those queries expect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from foundation.errors import GraphStoreError, SchemaError
from kg import SHOPKG_ONTOLOGY, NodeRef, Provenance, store_from_uri
from kg import neo4j_queries as nq
from kg.neo4j_store import ExistingSchema, Neo4jStore, Neo4jWriteTx, plan_schema
from kg.validation import valid_relation


def test_schema_statements_are_neo4j_5_ddl() -> None:
    assert nq.key_constraint("Item") == (
        "CREATE CONSTRAINT shopkg_Item_key IF NOT EXISTS FOR (n:Item) REQUIRE n.key IS UNIQUE"
    )
    assert nq.fulltext_index("Entry", "search_text") == (
        "CREATE FULLTEXT INDEX shopkg_Entry_search IF NOT EXISTS "
        "FOR (n:Entry) ON EACH [n.search_text] "
        "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace'}}"
    )
    assert nq.relation_property_index("HAS_POI", "extractor") == (
        "CREATE INDEX shopkg_HAS_POI_extractor IF NOT EXISTS FOR ()-[r:HAS_POI]-() ON (r.extractor)"
    )
    assert nq.clear_relations(500) == (
        "MATCH ()-[r]->() CALL { WITH r DELETE r } IN TRANSACTIONS OF 500 ROWS"
    )


def test_write_queries_merge_on_keys_with_parameters() -> None:
    assert nq.update_nodes("POI") == (
        "UNWIND $rows AS row MATCH (n:POI {key: row.key}) SET n += row.props"
    )
    assert nq.create_relations("HAS_POI", "Item", "POI") == (
        "UNWIND $rows AS row MATCH (a:Item {key: row.start}) MATCH (b:POI {key: row.end}) "
        "CREATE (a)-[r:HAS_POI]->(b) SET r = row.props"
    )
    assert nq.delete_relations("SOLVES", "POI", "Problem") == (
        "UNWIND $rows AS row MATCH (a:POI {key: row.start})-[r:SOLVES]->(b:Problem "
        "{key: row.end}) WHERE r.extractor = row.extractor AND r.source = row.source DELETE r"
    )
    assert nq.delete_relations_where("HAS_POI", True, False) == (
        "MATCH ()-[r:HAS_POI]->() WHERE r.extractor = $extractor DELETE r RETURN count(*) AS n"
    )


def test_read_queries() -> None:
    assert nq.neighborhood("Item", 2, ["HAS_POI", "SOLVES"], False, "both") == (
        "MATCH (a:Item {key: $key}) MATCH p = (a)-[:HAS_POI|SOLVES*1..2]-(b) WHERE b <> a "
        "WITH b, min(length(p)) AS d RETURN labels(b)[0] AS label, properties(b) AS props, d "
        "ORDER BY d, label, b.key LIMIT $limit"
    )
    paths = nq.paths("Item", "Problem", 2, None)
    assert "MATCH p = (a)-[*2..2]-(b)" in paths
    assert "single(y IN nodes(p) WHERE y = x)" in paths
    assert nq.SEARCH.startswith("CALL db.index.fulltext.queryNodes($index, $text, {limit: $top})")


def every_query() -> list[str]:
    queries: list[str] = []
    for node in SHOPKG_ONTOLOGY.node_types():
        label = node.label
        queries += [nq.key_constraint(label), nq.fetch_nodes(label), nq.existing_keys(label)]
        queries += [nq.fulltext_index(label, "search_text"), nq.delete_orphans(label)]
        queries += [nq.create_nodes(label), nq.update_nodes(label), nq.delete_nodes(label)]
        queries += [nq.node_keys_where(label, True, True), nq.orphan_keys(label)]
        queries += [nq.page(label, False), nq.count_nodes(label), nq.relations_of(label, True)]
        for direction in ("out", "in", "both"):
            queries.append(nq.neighborhood(label, 3, None, True, direction))
    for rel in SHOPKG_ONTOLOGY.relations():
        for start, end in rel.endpoints:
            queries += [nq.fetch_relations(rel.type, start, end)]
            queries += [nq.create_relations(rel.type, start, end)]
            queries += [nq.update_relations(rel.type, start, end)]
            queries += [nq.relations_among(rel.type, start, end, True)]
            queries += [nq.paths(start, end, 3, [rel.type])]
    return queries


def test_no_value_is_ever_written_into_query_text() -> None:
    allowed_literals = {"'schema'", "'FULLTEXT'", "'whitespace'"}
    for query in every_query():
        assert set(re.findall(r"'[^']*'", query)) <= allowed_literals, query
        assert '"' not in query, query


def test_identifiers_that_are_not_ontology_names_are_refused() -> None:
    for bad in ("Item`) DETACH DELETE (x", "Item {key: 'x'}", "", "1Item", "Ité m"):
        with pytest.raises(SchemaError, match="not a valid identifier"):
            nq.fetch_nodes(bad)
    with pytest.raises(SchemaError, match="hop count"):
        nq.paths("Item", "POI", 7, None)


class FakeTx:
    """Records what a managed transaction is asked to run."""

    def __init__(self, results: list[list[dict[str, Any]]] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.results = results or []

    def run(self, query: str, params: dict[str, Any]) -> FakeTx:
        self.calls.append((query, params))
        return self

    def consume(self) -> None:
        return None

    def __iter__(self) -> Any:
        return iter(self.results.pop(0) if self.results else [])


def test_write_primitives_send_the_parameters_their_queries_read() -> None:
    tx = FakeTx()
    writer = Neo4jWriteTx(tx, SHOPKG_ONTOLOGY)
    writer.update_nodes("POI", [{"key": "warm", "description": None, "aliases": ["cosy"]}])
    rel = valid_relation(
        "HAS_POI",
        NodeRef("Item", "a"),
        NodeRef("POI", "warm"),
        {"source": "r1", "extractor": "t@1", "confidence": 0.5},
        0,
    )
    writer.create_relations(("HAS_POI", "Item", "POI"), [rel])
    writer.update_relations(("HAS_POI", "Item", "POI"), [rel])
    writer.delete_relations(("HAS_POI", "Item", "POI"), [rel.identity])
    writer.create_nodes("Item", [])  # nothing to do, nothing sent
    assert [params for _, params in tx.calls] == [
        {"rows": [{"key": "warm", "props": {"description": None, "aliases": ["cosy"]}}]},
        {"rows": [{"start": "a", "end": "warm", "props": dict(rel.values)}]},
        {
            "rows": [
                {
                    "start": "a",
                    "end": "warm",
                    "extractor": "t@1",
                    "source": "r1",
                    "props": dict(rel.values),
                }
            ]
        },
        {"rows": [{"start": "a", "end": "warm", "extractor": "t@1", "source": "r1"}]},
    ]


def test_fetches_complete_missing_properties() -> None:
    tx = FakeTx([[{"props": {"key": "warm", "name": "Warm"}}]])
    found = Neo4jWriteTx(tx, SHOPKG_ONTOLOGY).fetch_nodes("POI", ["warm"])
    assert found["warm"]["aliases"] == []
    assert found["warm"]["description"] is None


def test_constructing_a_store_does_no_io_and_a_dead_server_is_a_clear_error() -> None:
    store = store_from_uri("bolt://127.0.0.1:9", user="neo4j", password="secret")
    assert isinstance(store, Neo4jStore)
    assert "secret" not in repr(store)
    with pytest.raises(GraphStoreError, match="not open"):
        store.get_node(NodeRef("Item", "x"))
    with pytest.raises(GraphStoreError, match=r"cannot connect to Neo4j at bolt://127.0.0.1:9"):
        store.open()
    assert not store.is_open


def test_provenance_defaults_are_valid() -> None:
    assert Provenance().extractor == "manual@0"


Answer = list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]]


class RecordingStore(Neo4jStore):
    """A Neo4j store whose statements are recorded instead of sent: (how, query, params),
    ``how`` being "auto" (auto-commit, where IN TRANSACTIONS may run), "read" or "write"."""

    def __init__(self, answers: dict[str, Answer], **kwargs: Any) -> None:
        super().__init__("bolt://127.0.0.1:9", **kwargs)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.answers = answers
        self._open = True

    def _answer(self, how: str, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.sent.append((how, query, params))
        for start, rows in self.answers.items():
            if query.startswith(start):
                return rows(params) if callable(rows) else rows
        return []

    def _auto_commit(self, query: str, **params: Any) -> None:
        self._answer("auto", query, params)

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        return self._answer("read", query, params)

    def _write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        return self._answer("write", query, params)

    def _connect(self) -> None:
        self.sent.append(("connect", "", {}))

    def _disconnect(self) -> None:
        self.sent.append(("disconnect", "", {}))


def test_clear_deletes_relations_then_nodes_in_bounded_auto_commit_batches() -> None:
    store = RecordingStore({}, bulk_rows=2000)
    store.clear()
    assert store.sent == [
        ("auto", "MATCH ()-[r]->() CALL { WITH r DELETE r } IN TRANSACTIONS OF 2000 ROWS", {}),
        (
            "auto",
            "MATCH (n) WHERE NOT n:ShopKGMeta CALL { WITH n DETACH DELETE n } "
            "IN TRANSACTIONS OF 2000 ROWS",
            {},
        ),
    ]


def test_reset_deletes_the_schema_marker_too_without_opening_the_store() -> None:
    store = RecordingStore({})
    store._open = False
    store.reset()
    assert [how for how, _, _ in store.sent] == ["connect", "auto", "auto", "disconnect"]
    assert store.sent[2][1] == (
        "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
    )
    assert not store.is_open


def test_deleting_an_extractors_facts_commits_in_batches_relations_first() -> None:
    answers: dict[str, Answer] = {
        "MATCH ()-[r:HAS_POI]->() WHERE r.extractor = $extractor RETURN count(r)": [{"n": 3}],
        "MATCH ()-[r:": [{"n": 0}],
        "MATCH (n:POI) WHERE": [{"key": k} for k in ("a", "b", "c", "d", "e")],
        "UNWIND $keys AS k MATCH (n:POI": lambda p: [{"key": k} for k in p["keys"] if k < "c"],
    }
    store = RecordingStore(answers, bulk_rows=2)
    report = store.delete_facts(extractor="poi_tagger@1")
    assert report.relations_deleted == {"HAS_POI": 3}
    assert report.nodes_deleted == (NodeRef("POI", "a"), NodeRef("POI", "b"))
    autos = [(query, params) for how, query, params in store.sent if how == "auto"]
    assert autos == [
        (
            "MATCH ()-[r:HAS_POI]->() WHERE r.extractor = $extractor "
            "CALL { WITH r DELETE r } IN TRANSACTIONS OF 2 ROWS",
            {"extractor": "poi_tagger@1"},
        )
    ]
    orphan_batches = [params["keys"] for how, query, params in store.sent if how == "write"]
    assert orphan_batches == [["a", "b"], ["c", "d"], ["e"]]  # 2 keys per transaction
    first_node_read = next(i for i, s in enumerate(store.sent) if s[1].startswith("MATCH (n:"))
    last_relation_write = max(i for i, s in enumerate(store.sent) if s[0] == "auto")
    assert last_relation_write < first_node_read  # relations before nodes
    assert nq.delete_orphans("POI") == (
        "UNWIND $keys AS k MATCH (n:POI {key: k}) WHERE NOT EXISTS { (n)--() } "
        "WITH n, n.key AS key DELETE n RETURN key"
    )


def test_bulk_batch_sizes_must_be_positive() -> None:
    with pytest.raises(SchemaError, match="rows per transaction"):
        nq.clear_relations(0)
    with pytest.raises(GraphStoreError, match="bulk_rows"):
        Neo4jStore("bolt://127.0.0.1:9", bulk_rows=0)


def every_schema_name() -> set[str]:
    names = {nq.key_constraint_name(nq.META_LABEL)}
    for node in SHOPKG_ONTOLOGY.node_types():
        names.add(nq.key_constraint_name(node.label))
        names.update(nq.property_index_name(node.label, p) for p in ("extractor", "source"))
        if node.search_fields:
            names.add(nq.fulltext_index_name(node.label))
    for rel in SHOPKG_ONTOLOGY.relations():
        names.update(nq.property_index_name(rel.type, p) for p in ("extractor", "source"))
    return names


def test_opening_an_up_to_date_graph_creates_nothing() -> None:
    names = every_schema_name()
    analyzers = {n: "whitespace" for n in names if n.endswith("_search")}
    plan = plan_schema(SHOPKG_ONTOLOGY, ExistingSchema(frozenset(names), analyzers))
    assert plan.create == ()
    assert plan.reindex == ()


def test_an_empty_database_gets_every_constraint_and_index() -> None:
    plan = plan_schema(SHOPKG_ONTOLOGY, ExistingSchema(frozenset(), {}))
    assert len(plan.create) == len(every_schema_name()) - 1  # the marker's comes first
    assert plan.create[0] == nq.key_constraint(next(SHOPKG_ONTOLOGY.node_types()).label)
    assert all("IF NOT EXISTS" in s for s in plan.create)


def test_only_missing_schema_is_created_and_old_analyzers_are_reindexed() -> None:
    names = every_schema_name() - {"shopkg_Item_source", "shopkg_HAS_POI_extractor"}
    analyzers = {n: "whitespace" for n in names if n.endswith("_search")}
    analyzers["shopkg_POI_search"] = "standard-no-stop-words"  # made by an older ShopKG
    plan = plan_schema(SHOPKG_ONTOLOGY, ExistingSchema(frozenset(names), analyzers))
    assert plan.reindex == ("POI",)
    assert plan.create == (
        nq.node_property_index("Item", "source"),
        nq.fulltext_index("POI", "search_text"),
        nq.relation_property_index("HAS_POI", "extractor"),
    )


def test_opening_reads_the_schema_then_creates_only_what_is_missing() -> None:
    names = sorted(every_schema_name() - {"shopkg_Brand_key"})
    indexes = [
        {"name": n, "type": "FULLTEXT" if n.endswith("_search") else "RANGE"}
        | ({"options": {"indexConfig": {"fulltext.analyzer": "whitespace"}}})
        for n in names
    ]
    store = RecordingStore(
        {"SHOW INDEXES": indexes, "MATCH (m:ShopKGMeta": [{"version": SHOPKG_ONTOLOGY.version}]}
    )
    report = store.ensure_schema()
    autos = [query for how, query, _ in store.sent if how == "auto"]
    assert autos == [nq.key_constraint("Brand"), nq.AWAIT_INDEXES]
    assert report.applied == (nq.key_constraint("Brand"),)
