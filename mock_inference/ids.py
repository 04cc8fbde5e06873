"""Identifiers in OpenAI's formats, and the random hex digits every id is made of.

Drawn from a process-local Random rather than os.urandom: ids must be unique, not
secret, and a system call per id was a visible share of a fast-path request. The
digits are drawn 4096 at a time (one big draw costs less than many small ones), and
both the generator and the digits in hand are renewed after fork, so that workers
never share a sequence.
"""

from __future__ import annotations

import os
import random
from functools import partial

from .fresh import fresh_id

_IDS = random.Random()
_BATCH = 4096  # hex digits per draw
_digits = ""
_used = 0


def _after_fork() -> None:
    global _digits, _used
    _IDS.seed()
    _digits, _used = "", 0


os.register_at_fork(after_in_child=_after_fork)


def random_hex(width: int) -> str:
    """`width` (at most 4096) random hex digits."""
    global _digits, _used
    end = _used + width
    if end > len(_digits):
        _digits = _IDS.getrandbits(4 * _BATCH).to_bytes(_BATCH // 2, "big").hex()
        _used, end = 0, width
    part = _digits[_used:end]
    _used = end
    return part


def _random_id(head: str, width: int) -> str:
    return head + random_hex(width)


def new_id(prefix: str, lead: str = "", width: int = 24) -> str:
    """`prefix`, `lead` and `width` random hex digits (OpenAI's: 24 after the prefix);
    a marker of the same length while an answer is recorded (fresh.py)."""
    return fresh_id(prefix, partial(_random_id, prefix + lead, width))


def tool_call_id() -> str:
    return new_id("call_")
