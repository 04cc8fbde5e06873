"""A valid request whose answer has to wait: the hand-over from `answer_now` to the
Sanic route (streams, simulated latency, forced timeouts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from .timing import Timing

R = TypeVar("R")


@dataclass(slots=True)
class Waiting(Generic[R]):
    """Nothing has been counted or drawn for it yet, so the fast path can hand it to
    Sanic, and the Sanic route carries on from here without validating again."""

    request: R
    timing: Timing
    started: float  # time.perf_counter() when the request arrived
