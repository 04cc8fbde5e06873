"""Anthropic-style ids (`msg_01…`, `toolu_01…`, `req_01…`): ids.py's, with the `01`
and 22 hex digits the API's own ids have after their prefix."""

from __future__ import annotations

from .. import ids


def new_id(prefix: str) -> str:
    return ids.new_id(prefix, "01", 22)
