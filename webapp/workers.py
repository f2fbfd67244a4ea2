"""Several server processes on one listening socket: ``shopkg serve --workers N``.

One Python process answers on one core at a time (the GIL), so a machine with more cores
serves more shoppers with more processes. The parent binds the socket, then forks N workers
before anything heavy is loaded (no model, graph or database connection crosses a fork);
each worker builds its own app, loads and warms its own assistant (reading the published
build's graph read-only, which Kùzu allows from several processes) and serves the shared
socket with waitress's threads; the kernel hands each connection to one of them. The parent
only supervises: a worker that dies is started again (at most once a second), and SIGTERM or
SIGINT stops them all. What workers share lives in the metadata database (sessions, admin
overrides, which build is published); see docs/design-notes.md, "Serving".
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)
RESPAWN_PAUSE_S = 1.0


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening socket every worker accepts from."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def supervise(workers: int, serve: Callable[[int], None]) -> int:
    """Fork ``workers`` processes running ``serve(number)`` and keep them running until a
    signal stops the parent; returns the exit status for the parent."""
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for number in range(workers):
            children[_spawn(number, serve)] = number
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            number = children.pop(pid, -1)
            if number < 0 or stopping:
                continue
            log.error("worker %d (pid %d) exited with status %s; starting it again", number, pid,
                      os.waitstatus_to_exitcode(status))  # fmt: skip
            time.sleep(RESPAWN_PAUSE_S)
            if not stopping:
                children[_spawn(number, serve)] = number
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _spawn(number: int, serve: Callable[[int], None]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    status = 0  # the worker: default signal handling, serve until told to stop
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        serve(number)
    except BaseException:  # report and leave: the parent starts a new one
        log.exception("worker %d failed", number)
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.kill(pid, sig)
