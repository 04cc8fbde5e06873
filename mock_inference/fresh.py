"""The values that make each answer new: ids and the current time, and what stands in
for them while an answer is recorded as a template (memo.py).

Every id of every API and every timestamp in a body goes through `fresh_id` and `now`.
While `recording()` is active they return markers instead: an id keeps its prefix
and length (so a recorded body has the length of every real one) and ends in a nonce
drawn once per process, which no client can guess; the time is one 10-digit number
of the same kind. The recorder remembers how each marker's real value is made, so a
template can be filled in with new ones for every answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_NONCE = os.urandom(6).hex()  # 12 hex digits, per process
# 9xxxxxxxxx: ten digits like every Unix time until 2286, and never a real one here.
_NOW_MARKER = 9_000_000_000 + int.from_bytes(os.urandom(4), "big") % 1_000_000_000


class Recorder:
    """The markers handed out while recording, in order, with their value makers."""

    def __init__(self) -> None:
        self.markers: list[bytes] = []
        self.makers: list[Callable[[], str] | None] = []  # None: the current time
        self._now_index = -1
        self.usable = True  # False: an id too short to mark was handed out as a real one

    def id(self, prefix: str, make: Callable[[], str]) -> str:
        value = make()
        width = len(value) - len(prefix)
        serial = f"{len(self.markers):06d}"
        if width < len(_NONCE) + len(serial):
            self.usable = False
            return value
        marker = prefix + (_NONCE + serial).rjust(width, "0")
        self.markers.append(marker.encode())
        self.makers.append(make)
        return marker

    def now(self) -> int:
        if self._now_index < 0:
            self._now_index = len(self.markers)
            self.markers.append(str(_NOW_MARKER).encode())
            self.makers.append(None)
        return _NOW_MARKER


_recorder: Recorder | None = None


def fresh_id(prefix: str, make: Callable[[], str]) -> str:
    """`make()` (a new id starting with `prefix`), or its marker while recording."""
    if _recorder is None:
        return make()
    return _recorder.id(prefix, make)


def now() -> int:
    """The Unix time in whole seconds, or its marker while recording."""
    if _recorder is None:
        return int(time.time())
    return _recorder.now()


@contextmanager
def recording() -> Iterator[Recorder]:
    """Markers instead of fresh values until the block ends (one worker thread: the
    block never awaits, so no other request can see them)."""
    global _recorder
    if _recorder is not None:
        raise RuntimeError("recording() does not nest")
    _recorder = Recorder()
    try:
        yield _recorder
    finally:
        _recorder = None
