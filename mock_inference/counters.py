"""The "fail the first N" counters, shareable between worker processes.

Kept free of Sanic so the supervising process (supervisor.py) can create them
without importing the web stack.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

SLOTS = 4096  # keys hash into this many counters; slot 0 is MOCK_FAIL_FIRST's


def shared_counters() -> Any:
    """Created by the supervising process and handed to every worker."""
    ctx = multiprocessing.get_context("fork")  # the supervisor forks its workers
    return ctx.Array("l", SLOTS + 1)
