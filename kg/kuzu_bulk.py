"""The bulk path of the Kùzu store: fresh rows go in through ``COPY FROM`` a temporary CSV.

Kùzu turns each row of an ``UNWIND $rows`` parameter into a struct, which costs tens of
microseconds a row; ``COPY`` from a file is one to two orders of magnitude faster. The store
decides which rows are fresh (not yet stored) first, so ``COPY`` never meets a duplicate and
upserts stay idempotent. ``COPY`` runs inside the batch's transaction, so a failure rolls the
whole batch back.

The CSV dialect: strings double-quoted with ``""`` escaping, numbers and booleans bare, NULL
spelled :data:`~kg.kuzu_queries.NULL_MARKER` (Kùzu reads it as NULL quoted or not), and list
columns written as ``[]`` and filled by a second, parameterized statement (Kùzu's CSV list
syntax cannot carry arbitrary strings).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kg.kuzu_queries import NULL_MARKER

BULK_MIN_ROWS = 256
"""Below this many fresh rows a parameterized CREATE is as fast and needs no file."""


def csv_value(value: Any) -> Any:
    """A value as the csv module should write it: None becomes the NULL marker, lists ``[]``."""
    if value is None:
        return NULL_MARKER
    if isinstance(value, list | tuple):
        return "[]"
    return value


def prepare(table: Sequence[Sequence[Any]]) -> list[Sequence[Any]] | None:
    """``table`` ready for :func:`write_csv`, or None when a value cannot survive the CSV round
    trip (a NUL byte, or a string equal to the NULL marker): those batches take the slow path."""
    columns: list[Sequence[Any]] = []
    for column in zip(*table, strict=True):
        strings = [v for v in column if type(v) is str]
        if strings and ("\x00" in "".join(strings) or NULL_MARKER in strings):
            return None
        if None in column and any(type(v) in (int, float, bool) for v in column):
            # Kùzu 0.11.3 reads the (quoted) NULL marker as NULL only in string columns; a
            # number column with gaps fails to cast, so such batches take the slow path
            return None
        if len(strings) != len(column) and (None in column or any(type(v) is list for v in column)):
            column = tuple(csv_value(v) for v in column)
        columns.append(column)
    return list(zip(*columns, strict=True))


def write_csv(path: Path, rows: Iterable[Sequence[Any]]) -> None:
    """Write prepared ``rows`` with the (C) csv writer: strings quoted, numbers bare."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(
            out, quoting=csv.QUOTE_NONNUMERIC, doublequote=True, lineterminator="\n"
        )
        writer.writerows(rows)
