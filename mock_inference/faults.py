"""Fault injection: random rates, a forced fault per request, and "fail the first N".

Per request, the header `x-mock-fault` forces one of: 429, 500, 502, 503, timeout
(hold the request far longer than any sane client timeout), stream_error (send an
error event mid-stream). `x-mock-fail-first: N` fails the first N requests that
share a key (`x-mock-fault-key`, else a digest of method, path and body, so an SDK
retrying the same request is recognised) and lets the next one through.

The "fail first N" counters live in shared memory so that every Sanic worker
sees the same count; without that, two workers would each fail N times.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .config import Settings
from .counters import SLOTS as _SLOTS
from .errors import APIError

FORCED = frozenset(("429", "500", "502", "503", "529", "timeout", "stream_error"))
_MESSAGES = {
    429: "Rate limit reached for requests (injected by the mock). Please retry after a while.",
    500: "The server had an error while processing your request (injected by the mock).",
    502: "Bad gateway (injected by the mock).",
    503: "The engine is currently overloaded (injected by the mock). Please try again later.",
    529: "Overloaded (injected by the mock).",  # Anthropic's status for an overloaded API
}
_CODES = {429: "rate_limit_exceeded", 500: None, 502: None, 503: "engine_overloaded", 529: None}


class Faults:
    def __init__(self, settings: Settings, counters: Any | None) -> None:
        self.settings = settings
        # Without shared memory (e.g. a single in-process app) plain lists do the job.
        self.counters = counters if counters is not None else [0] * (_SLOTS + 1)
        self.rate_429 = settings.fault_429_rate
        self.rate_500 = settings.fault_500_rate
        self.random_enabled = (self.rate_429 + self.rate_500) > 0
        self.rng = random.Random()

    def error(self, status: int, retry_after_ms: int | None = None) -> APIError:
        headers: dict[str, str] = {}
        if status == 429:
            ms = self.settings.retry_after_ms if retry_after_ms is None else retry_after_ms
            # retry-after-ms is what the openai SDK reads first; Retry-After is the standard.
            headers = {"retry-after": str(max(0, -(-ms // 1000))), "retry-after-ms": str(ms)}
        return APIError(
            status,
            _MESSAGES.get(status, "Injected fault"),
            code=_CODES.get(status),
            headers=headers,
        )

    def _bump(self, slot: int) -> int:
        counters = self.counters
        lock = getattr(counters, "get_lock", None)
        if lock is None:
            counters[slot] += 1
            return counters[slot]
        with lock():
            counters[slot] += 1
            return counters[slot]

    @staticmethod
    def forced_wait(headers: Any) -> bool:
        """Whether the request forces a fault that needs waiting (timeout, stream_error)."""
        forced = headers.get("x-mock-fault")
        return bool(forced) and forced.strip().lower() in ("timeout", "stream_error")

    def check(self, method: str, path: str, headers: Any, body: bytes) -> str | None:
        """Raise an injected error, or return a deferred fault ("timeout", "stream_error")."""
        retry_ms = headers.get("x-mock-retry-after-ms")
        retry_after = int(retry_ms) if retry_ms and retry_ms.isdigit() else None
        raw_forced = headers.get("x-mock-fault")
        if raw_forced:
            forced: str = raw_forced.strip().lower()
            if forced in ("timeout", "stream_error"):
                return forced
            if forced in FORCED:
                raise self.error(int(forced), retry_after)
        first = headers.get("x-mock-fail-first")
        if first:
            if not first.isdigit():
                raise APIError(
                    400,
                    "x-mock-fail-first must be a non-negative integer",
                    param="x-mock-fail-first",
                )
            key = (
                headers.get("x-mock-fault-key")
                or hashlib.blake2b(
                    method.encode() + path.encode() + body, digest_size=8
                ).hexdigest()
            )
            slot = 1 + int(hashlib.blake2b(key.encode(), digest_size=4).hexdigest(), 16) % _SLOTS
            if self._bump(slot) <= int(first):
                status = headers.get("x-mock-fail-status", "429")
                raise self.error(
                    int(status) if status in ("429", "500", "502", "503", "529") else 429,
                    retry_after,
                )
        if self.settings.fail_first and self._bump(0) <= self.settings.fail_first:
            raise self.error(self.settings.fail_first_status, retry_after)
        if self.random_enabled:
            roll = self.rng.random()
            if roll < self.rate_429:
                raise self.error(429, retry_after)
            if roll < self.rate_429 + self.rate_500:
                raise self.error(500)
        return None
