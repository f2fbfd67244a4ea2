"""One Kùzu connection with a cache of prepared statements.

``Connection.execute(text, params)`` plans the query on every call; for the short reads a
store runs again and again (key lookups, neighborhoods, full-text queries) planning is a third
or more of the time. Statements are prepared once per connection and reused; the cache is
emptied when the schema changes. Kùzu errors become :class:`GraphStoreError`.

:class:`ReadWriteGate` exists because committing a transaction that ran ``COPY`` makes Kùzu
checkpoint, and a checkpoint waits for every open read and gives up (failing the COMMIT after
the data is in) when reads keep coming. Such commits take the gate exclusively, every read
takes it shared; reads never wait for a write itself, only for that checkpoint.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from foundation.errors import GraphStoreError

CACHE_SIZE = 256


class KuzuSession:
    """A ``kuzu.Connection`` and its prepared statements. Not thread-safe: one per thread."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._prepared: OrderedDict[str, Any] = OrderedDict()

    def run(
        self, query: str, params: Mapping[str, Any] | None = None, *, cached: bool = True
    ) -> list[list[Any]]:
        """Rows of ``query``; parameterized queries go through the statement cache unless
        ``cached`` is False: then it is planned knowing the parameters' values, which Kùzu
        0.11 needs for a parameter inside a recursive join's filter (``(e, n | WHERE …)``;
        prepared without values its binder refuses it as "ambiguous")."""
        try:
            if not params or not cached:
                result = self.connection.execute(query, dict(params or {}))
            else:
                result = self.connection.execute(self._statement(query), dict(params))
            rows: list[list[Any]] = result.get_all()
            result.close()
            return rows
        except RuntimeError as e:
            self._prepared.pop(query, None)
            raise GraphStoreError(f"Kùzu query failed: {e}") from e

    def _statement(self, query: str) -> Any:
        statement = self._prepared.get(query)
        if statement is None:
            from kuzu.prepared_statement import PreparedStatement

            statement = PreparedStatement(self.connection, query)
            if not statement.is_success():
                raise RuntimeError(statement.get_error_message())
            self._prepared[query] = statement
            if len(self._prepared) > CACHE_SIZE:
                self._prepared.popitem(last=False)
        else:
            self._prepared.move_to_end(query)
        return statement

    def forget_statements(self) -> None:
        """Drop prepared statements (after DDL their plans may be stale)."""
        self._prepared.clear()

    def close(self) -> None:
        self._prepared.clear()
        self.connection.close()


class ReadWriteGate:
    """Many readers or one exclusive holder; a waiting exclusive holder blocks new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._exclusive and self._readers == 0)
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
