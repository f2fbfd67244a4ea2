"""A bounded read-through cache of node records for the embedded store.

Kùzu 0.11 answers a point lookup in about a millisecond, so a neighborhood of 14 nodes spent
more time fetching their properties than finding them. Neighborhoods around items keep meeting
the same values, categories, brands and concepts, so records are kept here, least recently used
out first. Any write clears it. A read only adds what it fetched if no write finished since the
read began (:attr:`generation`), so a record read from a snapshot older than a commit can never
outlive that commit in the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from kg.records import NodeRecord


class NodeCache:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._records: OrderedDict[tuple[str, str], NodeRecord] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def __len__(self) -> int:
        return len(self._records)

    def get(self, label: str, keys: Iterable[str]) -> dict[str, NodeRecord]:
        found: dict[str, NodeRecord] = {}
        with self._lock:
            for key in keys:
                record = self._records.get((label, key))
                if record is not None:
                    self._records.move_to_end((label, key))
                    found[key] = record
        return found

    def put(self, generation: int, records: Iterable[NodeRecord]) -> None:
        """Keep ``records`` read at ``generation`` unless a write has finished since."""
        if self.capacity <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            for record in records:
                self._records[(record.label, record.key)] = record
                self._records.move_to_end((record.label, record.key))
            while len(self._records) > self.capacity:
                self._records.popitem(last=False)

    def invalidate(self) -> None:
        """A write finished (or may have): forget everything, refuse reads begun before."""
        with self._lock:
            self._generation += 1
            self._records.clear()
