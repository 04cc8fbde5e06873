"""Anthropic-style ids (`msg_01…`, `toolu_01…`, `req_01…`).

Drawn from a process-local Random rather than os.urandom: ids must be unique, not
secret, and a syscall per id was a visible share of a fast-path request. Reseeded
after fork so that workers never share a sequence.
"""

from __future__ import annotations

import os
import random
from functools import partial

from ..fresh import fresh_id

_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)


def _random_id(prefix: str) -> str:
    return f"{prefix}01{_IDS.getrandbits(88):022x}"


def new_id(prefix: str) -> str:
    return fresh_id(prefix, partial(_random_id, prefix))
