"""Identifiers in OpenAI's formats."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    # os.urandom is cheaper than uuid4 and just as unique for a mock.
    return prefix + os.urandom(12).hex()


def tool_call_id() -> str:
    return "call_" + os.urandom(12).hex()


def ordered_id(prefix: str) -> str:
    """Like new_id, but ids sort by creation time (fixed-width hex nanoseconds first),
    so the response store finds its oldest entries from their names alone."""
    return f"{prefix}{time.time_ns():016x}{os.urandom(4).hex()}"
