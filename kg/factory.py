"""Build the graph store a URI or the settings name, without connecting to it yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from foundation.errors import ConfigError
from kg.ontology import SHOPKG_ONTOLOGY
from kg.schema import Ontology
from kg.store import GraphStore

if TYPE_CHECKING:
    from foundation.settings import Settings


def store_from_uri(
    uri: str,
    *,
    user: str = "neo4j",
    password: str = "",
    database: str | None = None,
    ontology: Ontology = SHOPKG_ONTOLOGY,
    batch_size: int = 512,
) -> GraphStore:
    """A store for ``kuzu:///dir``, ``neo4j://host:7687`` or ``bolt://…``; does no I/O."""
    from foundation.settings import parse_graph_uri

    try:
        parsed = parse_graph_uri(uri)
    except ValueError as e:
        raise ConfigError(str(e)) from e
    if parsed.backend == "kuzu":
        from kg.kuzu_store import KuzuStore

        return KuzuStore(parsed.path, ontology, batch_size=batch_size)
    from kg.neo4j_store import Neo4jStore

    return Neo4jStore(
        parsed.target,
        user=user,
        password=password,
        database=database,
        ontology=ontology,
        batch_size=batch_size,
    )


def open_store(
    settings: Settings, *, ontology: Ontology = SHOPKG_ONTOLOGY, graph: str | None = None
) -> GraphStore:
    """The store the settings name (``graph``, ``neo4j_*``, ``batch_size``); not yet opened.
    ``graph`` names another graph URI, with the settings' credentials (a published build's).

    Use it as a context manager, or call ``.open()``.
    """
    return store_from_uri(
        graph or settings.graph,
        user=settings.neo4j_user,
        password=settings.neo4j_password.get_secret_value(),
        database=settings.neo4j_database,
        ontology=ontology,
        batch_size=settings.batch_size,
    )
