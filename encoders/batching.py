"""Texts from concurrent requests encoded together: one forward pass for many callers.

A server answering many shoppers at once encodes one short query per search and a few texts
per question, each alone. A transformer's cost for one text is mostly fixed overhead, so a
batch of sixteen queries costs a few times one query, not sixteen times (the measured
figures are in BENCHMARKS.md). :class:`BatchingTextEncoder` wraps a loaded
:class:`~encoders.base.TextEncoder`: callers hand their texts to one encoding thread, which
takes everything waiting when it becomes free (up to ``max_texts``), encodes it in one call
and hands each caller its rows. An idle server adds no delay (the first request is taken at
once); a busy one batches by itself while the previous batch runs. A caller alone with at
most :data:`CHUNK_TEXTS` texts gets the wrapped encoder's own vectors; others get its batch
vectors
(:meth:`~encoders.base.TextEncoder.encode_batch`: under bf16 where the CPU has it, within
the encoder's bf16 tolerance, cosine 0.9999, of the fp32 ones).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from encoders.base import EncoderManifest, TextEncoder, Vectors
from foundation.errors import EncoderError

MAX_TEXTS = 32  # texts per forward pass at most (~150 ms of evidence on one core)
CHUNK_TEXTS = 16  # a caller's many texts go in chunks, so a query never waits long
SHORT_TEXTS = 2  # callers with this few texts (a query, a question) go first
log = logging.getLogger(__name__)


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: Vectors | None = None
    error: BaseException | None = None


class BatchingTextEncoder(TextEncoder):
    """The wrapped encoder, fed by one thread that batches concurrent callers' texts.

    Short requests (a search query, a question) are taken before long ones (an item's
    evidence), and long ones are cut into chunks of :data:`CHUNK_TEXTS`, so a query waits at
    most for one chunk's forward pass, not for a whole item's evidence.
    """

    def __init__(self, encoder: TextEncoder, max_texts: int = MAX_TEXTS) -> None:
        if max_texts < 1:
            raise ValueError(f"max_texts must be >= 1, not {max_texts}")
        self.encoder = encoder
        self.max_texts = max_texts
        self.batches = 0  # forward calls made, and the texts they took: for the benchmarks
        self.texts = 0
        self._short: deque[_Request] = deque()
        self._long: deque[_Request] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
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
        chunks = [texts[i : i + CHUNK_TEXTS] for i in range(0, len(texts), CHUNK_TEXTS)]
        requests = [_Request(chunk) for chunk in chunks]
        with self._ready:
            if self._closed:
                raise EncoderError("the batching encoder is closed")
            self._start()
            queue = self._short if len(texts) <= SHORT_TEXTS else self._long
            queue.extend(requests)
            self._waiting += 1
            self._ready.notify()
        try:
            for request in requests:
                request.done.wait()
        finally:
            with self._ready:
                self._waiting -= 1
        for request in requests:
            if request.error is not None:
                raise EncoderError(f"encoding failed: {request.error}") from request.error
        return np.concatenate([r.vectors for r in requests if r.vectors is not None])

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="shopkg-encode-batches", daemon=True
            )
            self._thread.start()

    def _take(self) -> list[_Request] | None:
        """The next batch: short requests first, then chunks of long ones, up to max_texts;
        None once closed and drained."""
        with self._ready:
            while not self._short and not self._long:
                if self._closed:
                    return None
                self._ready.wait()
            taken: list[_Request] = []
            size = 0
            for queue in (self._short, self._long):
                while queue and (not taken or size + len(queue[0].texts) <= self.max_texts):
                    request = queue.popleft()
                    taken.append(request)
                    size += len(request.texts)
            return taken

    def _run(self) -> None:
        while (taken := self._take()) is not None:
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
        with self._ready:
            self._closed = True
            thread, self._thread = self._thread, None
            self._ready.notify_all()
        if thread is not None:
            thread.join()
