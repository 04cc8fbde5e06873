"""Identifiers in OpenAI's formats.

Drawn from a process-local Random, as messages/ids.py does: ids must be unique, not
secret, and os.urandom costs a system call per id on the fast path. Reseeded (from
the OS) after fork so that workers never share a sequence.
"""

from __future__ import annotations

import os
import random
from functools import partial

from .fresh import fresh_id

_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)


def _random_id(prefix: str) -> str:
    return f"{prefix}{_IDS.getrandbits(96):024x}"


def new_id(prefix: str) -> str:
    return fresh_id(prefix, partial(_random_id, prefix))


def tool_call_id() -> str:
    return new_id("call_")
