"""One root exception with a subclass per area.

Every error ShopKG raises on purpose derives from :class:`ShopKGError`. Messages say what is
wrong, where, and what to do about it; the CLI prints them as one line. Errors from libraries
are chained with ``raise ... from e`` so ``--debug`` still shows the cause.
"""

from __future__ import annotations


class ShopKGError(Exception):
    """Root of all ShopKG errors. ``code`` is a stable, machine-readable identifier."""

    code = "E000"


class ConfigError(ShopKGError):
    """A setting is missing or invalid."""

    code = "E100"


class DatabaseError(ShopKGError):
    """The metadata database cannot be reached, migrated or written."""

    code = "E200"


class GraphStoreError(ShopKGError):
    """The graph store (Kùzu or Neo4j) failed or was used wrongly."""

    code = "E300"


class GraphBusyError(GraphStoreError):
    """Another process holds the graph (a build writing it): try again when it is done."""

    code = "E320"


class SchemaError(GraphStoreError):
    """A node, relation or property does not fit the ontology."""

    code = "E310"


class NotFoundError(ShopKGError):
    """A node, item, job or record that was asked for does not exist."""

    code = "E400"


class IngestError(ShopKGError):
    """A catalog file or record cannot be read."""

    code = "E500"


class ExtractionError(ShopKGError):
    """The extraction pipeline is misconfigured or failed."""

    code = "E600"


class EncoderError(ShopKGError):
    """A text or image encoder cannot be loaded or used."""

    code = "E700"


class VectorIndexError(ShopKGError):
    """A vector index is missing, corrupt, or made by another encoder."""

    code = "E800"


class RetrievalError(ShopKGError):
    """Search, question answering or the assistant failed."""

    code = "E900"


class JobError(ShopKGError):
    """A batch job failed as a whole (not a single bad record)."""

    code = "E1000"


class AuthError(ShopKGError):
    """Authentication or authorization failed."""

    code = "E1100"


class NotBuiltError(ShopKGError):
    """A command or feature that is planned but not built yet."""

    code = "E1200"


class MissingDependencyError(ShopKGError):
    """An optional heavy dependency is not installed."""

    code = "E1300"


class InputError(ShopKGError):
    """What the caller handed in cannot be used (an unreadable photo, a blank question); the
    web app answers it as a client error (400), never as a server failure."""

    code = "E1400"


class RoomStateError(ShopKGError):
    """A live room's state does not allow the request (going live with no items, asking in an
    ended room); the web app answers it as a conflict (409)."""

    code = "E1420"


class UnavailableError(ShopKGError):
    """A feature this build does not have (photo search without an image index)."""

    code = "E1410"


def require(module: str, extra: str | None = None) -> object:
    """Import ``module`` or raise a :class:`MissingDependencyError` that says how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        hint = f"pip install 'shopkg[{extra}]'" if extra else f"pip install {module}"
        raise MissingDependencyError(
            f"the Python package {module!r} is needed here but is not installed; run: {hint}"
        ) from e
