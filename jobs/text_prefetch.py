"""Item texts encoded while extraction runs: the build's two biggest CPU costs, overlapped.

Extraction is one Python thread (spaCy); the MiniLM encoder is torch, which releases the GIL
while it computes. On a 2-core machine the build used to run them one after the other, each
leaving part of the machine idle (extraction one core, encoding ~1.7). While the extract stage
runs, a background thread encodes the chunks the text index stage will ask for, with one torch
thread; the stage then takes what is done and encodes the rest with all threads.

Nothing here is saved: a killed build loses the work and the text index stage does it again.
The chunks are the stage's own (:data:`CHUNK` keys, in its order) and MiniLM's vectors do not
depend on the torch thread count, so a build's vectors are the same bits with or without it
(``tests/jobs/test_build_faults.py`` compares an interrupted build with an uninterrupted one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)
CHUNK = 256  # item texts per encoder call, in the text index stage and here alike
MAX_PREFETCHED = 200_000  # vectors kept in memory (~300 MB at 384 dimensions)

Chunk = tuple[tuple[str, ...], tuple[str, ...]]  # (keys, texts)


def chunks(keys: Sequence[str], texts: Sequence[str]) -> list[Chunk]:
    """``keys`` and their ``texts`` cut into the encoder calls the text index stage makes."""
    return [
        (tuple(keys[start : start + CHUNK]), tuple(texts[start : start + CHUNK]))
        for start in range(0, len(keys), CHUNK)
    ]


class TextPrefetch:
    """In a daemon thread: load the encoder, ask ``plan`` for the chunks, encode them until
    :meth:`take` stops it (all of it off the extract stage's thread, model loading included)."""

    def __init__(self, encoder: Callable[[], Any], plan: Callable[[], list[Chunk]]) -> None:
        self._encoder = encoder
        self._plan = plan
        self._done: dict[Chunk, npt.NDArray[np.float32]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shopkg-text-prefetch", daemon=True)
        self._threads_before: int | None = None

    def start(self) -> TextPrefetch:
        self._thread.start()
        return self

    def _run(self) -> None:
        import torch

        try:
            encoder = self._encoder()
            planned = self._plan()[: max(1, MAX_PREFETCHED // CHUNK)]
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(1)  # the other core is extraction's
            for chunk in planned:
                if self._stop.is_set():
                    return
                self._done[chunk] = encoder.encode(list(chunk[1])).require_all()
        except Exception:  # the text index stage encodes whatever is missing, and reports
            log.warning("encoding item texts ahead of the text index stage failed", exc_info=True)

    def take(self) -> dict[Chunk, npt.NDArray[np.float32]]:
        """Stop (after the chunk being encoded) and hand over the vectors of the done chunks."""
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join()
        if self._threads_before is not None:
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None
        done, self._done = self._done, {}
        return done
