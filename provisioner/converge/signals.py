"""Holding Ctrl-C, SIGTERM and SIGHUP for the instant threads are handed their work."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Interrupted inside ThreadPoolExecutor.submit (between starting a thread and
    registering it), a thread runs on unregistered and shutdown(wait=True) does not
    wait for it: it went on changing Docker after "Interrupted" was printed (seen in
    CI). A signal that arrives meanwhile is delivered again right after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous: dict[int, Any] = {}

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(sig)
        if callable(handler):  # only handlers that raise in Python; default/ignore stay
            previous[sig] = handler
            signal.signal(sig, hold)
    try:
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, handler)
        if pending:
            signal.raise_signal(pending[0])
