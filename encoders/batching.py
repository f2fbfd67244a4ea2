"""Texts from concurrent requests encoded together: one forward pass for many callers.

A server answering many shoppers at once encodes one short query per search and a few texts
per question, each alone. A transformer's cost for one text is mostly fixed overhead, so a
batch of sixteen queries costs a few times one query, not sixteen times (the measured
figures are in BENCHMARKS.md). :class:`BatchingTextEncoder` wraps a loaded
:class:`~encoders.base.TextEncoder`: callers hand their texts to one encoding thread, which
takes everything waiting when it becomes free (up to ``max_texts``), encodes it in one call
and hands each caller its rows. An idle server adds no delay (the first request is taken at
once); a busy one batches by itself while the previous batch runs. A caller alone gets the
wrapped encoder's own vectors; callers batched together get its batch vectors
(:meth:`~encoders.base.TextEncoder.encode_batch`: under bf16 where the CPU has it, within
the encoder's bf16 tolerance, cosine 0.9999, of the fp32 ones).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

import numpy as np

from encoders.base import EncoderManifest, TextEncoder, Vectors
from shopkg.errors import EncoderError

MAX_TEXTS = 64
log = logging.getLogger(__name__)


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: Vectors | None = None
    error: BaseException | None = None


class BatchingTextEncoder(TextEncoder):
    """The wrapped encoder, fed by one thread that batches concurrent callers' texts."""

    def __init__(self, encoder: TextEncoder, max_texts: int = MAX_TEXTS) -> None:
        if max_texts < 1:
            raise ValueError(f"max_texts must be >= 1, not {max_texts}")
        self.encoder = encoder
        self.max_texts = max_texts
        self.batches = 0  # forward calls made, and the texts they took: for the benchmarks
        self.texts = 0
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._waiting = 0  # callers between handing their texts in and getting vectors

    @property
    def manifest(self) -> EncoderManifest:
        return self.encoder.manifest

    def __getattr__(self, name: str) -> object:
        # what the wrapped encoder says of itself (precision, device, ...) reads through
        return getattr(self.encoder, name)

    @property
    def busy(self) -> bool:
        """Whether callers are waiting or a batch is running: background work that could
        wait (warming caches) should then leave the encoder to the requests."""
        return self._waiting > 0

    def _encode_texts(self, texts: list[str]) -> Vectors:
        request = _Request(texts)
        self._start()
        with self._lock:
            self._waiting += 1
        self._queue.put(request)
        request.done.wait()
        with self._lock:
            self._waiting -= 1
        if request.error is not None:
            raise EncoderError(f"encoding failed: {request.error}") from request.error
        assert request.vectors is not None
        return request.vectors

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._closed:
                raise EncoderError("the batching encoder is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="shopkg-encode-batches", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            taken = [first]
            size = len(first.texts)
            while size < self.max_texts:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # close after this batch
                    break
                taken.append(more)
                size += len(more.texts)
            self._encode(taken)

    def _encode(self, taken: list[_Request]) -> None:
        texts = [text for request in taken for text in request.texts]
        try:
            # one caller alone gets exactly what the encoder gives it unwrapped
            encode = self.encoder.encode if len(taken) == 1 else self.encoder.encode_batch
            encoded = encode(texts)
            vectors = np.asarray(encoded.require_all(), dtype=np.float32)
        except BaseException as e:  # each caller meets the error, the thread goes on
            for request in taken:
                request.error = e
                request.done.set()
            return
        self.batches += 1
        self.texts += len(texts)
        start = 0
        for request in taken:
            request.vectors = vectors[start : start + len(request.texts)]
            start += len(request.texts)
            request.done.set()

    def close(self) -> None:
        """Stop the encoding thread once what is queued is done."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
