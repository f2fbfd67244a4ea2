"""The bulk path of the Kùzu store: fresh rows go in through ``COPY FROM`` a temporary CSV.

Kùzu turns each row of an ``UNWIND $rows`` parameter into a struct, which costs tens of
microseconds a row; ``COPY`` from a file is one to two orders of magnitude faster. The store
decides which rows are fresh (not yet stored) first, so ``COPY`` never meets a duplicate and
upserts stay idempotent. ``COPY`` runs inside the batch's transaction, so a failure rolls the
whole batch back.

The CSV dialect: strings double-quoted with ``""`` escaping (relation keys bare when none of
a batch's keys needs quotes, which Kùzu reads several times faster), numbers and booleans
bare, NULL spelled :data:`~kg.kuzu_queries.NULL_MARKER` (Kùzu reads it as NULL quoted or
not), and list columns written as ``[]`` and filled by a second, parameterized statement
(Kùzu's CSV list syntax cannot carry arbitrary strings).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from kg.kuzu_queries import NULL_MARKER
from kg.validation import ValidRelation

_START, _END, _KEY = attrgetter("start"), attrgetter("end"), itemgetter(1)

_DIALECT: dict[str, Any] = {
    "quoting": csv.QUOTE_NONNUMERIC,
    "doublequote": True,
    "lineterminator": "\n",
}
_QUOTE_WHEN = (",", '"', "\n", "\r")
"""Characters that make a key need quotes in CSV; Kùzu keeps any other unquoted text as is
(spaces, tabs, brackets, backslashes, "NULL" included), and an empty key cannot occur."""
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


def relation_lines(
    rows: Sequence[ValidRelation],
    values: Sequence[Mapping[str, Any]],
    distinct: Mapping[int, Mapping[str, Any]],
    columns: Sequence[str],
) -> Iterable[str] | None:
    """Fresh relations as CSV lines (start key, end key, then ``columns``) in the dialect of
    :func:`write_csv`, or None when a value cannot survive the round trip (see :func:`prepare`).

    ``values`` are the rows' values and ``distinct`` the different ones by ``id``: rows share
    them, so the checks and the csv module run once per distinct mapping, and a line is two
    keys and that mapping's text. Keys go unquoted when none of them needs quotes: Kùzu's
    COPY reads quoted fields three to four times slower, and the csv module's writer spends
    microseconds a row deciding how to quote a 64-character key.
    """
    fields: list[tuple[list[str], str]] = []
    for get in (_START, _END):
        keys = list(map(_KEY, map(get, rows)))  # validated non-empty strings
        joined = "".join(keys)
        if "\x00" in joined or NULL_MARKER in keys:
            return None
        if any(ch in joined for ch in _QUOTE_WHEN):
            fields.append(([k.replace('"', '""') for k in keys], '"%s"'))
        else:
            fields.append((keys, "%s"))  # Kùzu parses unquoted fields several times faster
    (starts, start_field), (ends, end_field) = fields
    raw = {i: [mapping.get(c) for c in columns] for i, mapping in distinct.items()}
    if prepare(list(raw.values())) is None:  # the checks of prepare, on the distinct rows
        return None
    tails = {i: _csv_line([csv_value(x) for x in tail]) for i, tail in raw.items()}
    if len(tails) == 1:
        (tail,) = tails.values()
        line = f"{start_field},{end_field}{tail.replace('%', '%%')}"
        return map(line.__mod__, zip(starts, ends, strict=True))
    line = f"{start_field},{end_field}%s"
    return (line % (s, e, tails[id(v)]) for s, e, v in zip(starts, ends, values, strict=True))


def _csv_line(values: Sequence[Any]) -> str:
    """The rest of a line after two leading fields, as :func:`write_csv` writes ``values``."""
    out = io.StringIO()
    csv.writer(out, **_DIALECT).writerow(values)
    return ("," if values else "") + out.getvalue()


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write lines made by :func:`relation_lines`."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.writelines(lines)


def write_csv(path: Path, rows: Iterable[Sequence[Any]]) -> None:
    """Write prepared ``rows`` with the (C) csv writer: strings quoted, numbers bare."""
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, **_DIALECT).writerows(rows)
