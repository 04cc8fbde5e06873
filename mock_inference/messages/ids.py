"""Anthropic-style ids (`msg_01…`, `toolu_01…`, `req_01…`), from the same random hex
digits as the OpenAI-style ones (ids.py: process-local, renewed after fork)."""

from __future__ import annotations

from functools import partial

from ..fresh import fresh_id
from ..ids import random_hex


def _random_id(prefix: str) -> str:
    return prefix + "01" + random_hex(22)


def new_id(prefix: str) -> str:
    return fresh_id(prefix, partial(_random_id, prefix))
