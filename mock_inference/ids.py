"""Identifiers in OpenAI's formats."""

from __future__ import annotations

import os


def new_id(prefix: str) -> str:
    # os.urandom is cheaper than uuid4 and just as unique for a mock.
    return prefix + os.urandom(12).hex()


def tool_call_id() -> str:
    return "call_" + os.urandom(12).hex()
