"""Simulated latency: time to first token and inter-token latency.

TTFT = configured TTFT + prompt tokens x per-token prefill (the llm-d simulator's
model); decode adds one inter-token latency per token after the first.
Headers override per request: x-mock-ttft-ms (alias x-mock-latency-ms), x-mock-itl-ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Settings
from .errors import invalid

_MAX_MS = 600_000.0


@dataclass(slots=True, frozen=True)
class Timing:
    ttft: float  # seconds
    itl: float  # seconds

    @property
    def zero(self) -> bool:
        return self.ttft <= 0 and self.itl <= 0


def _header_ms(headers: Any, name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise invalid(f"Header {name} must be a number of milliseconds", param=name) from None
    if not 0 <= value <= _MAX_MS:
        raise invalid(f"Header {name} must be within [0, {_MAX_MS:.0f}] ms", param=name)
    return value


_SETTLED: dict[tuple[float, float], Timing] = {}  # the configured timings, made once


def timing_for(settings: Settings, headers: Any, prompt_tokens: int) -> Timing:
    ttft_ms = settings.ttft_ms
    itl_ms = settings.itl_ms
    overridden = "x-mock-ttft-ms" in headers or "x-mock-latency-ms" in headers
    if not overridden and "x-mock-itl-ms" not in headers and not settings.prefill_ms_per_token:
        # The usual case, every request alike: no Timing to build.
        timing = _SETTLED.get((ttft_ms, itl_ms))
        if timing is None:
            timing = _SETTLED[(ttft_ms, itl_ms)] = Timing(ttft_ms / 1000.0, itl_ms / 1000.0)
        return timing
    if overridden or "x-mock-itl-ms" in headers:
        override = _header_ms(headers, "x-mock-ttft-ms")
        if override is None:
            override = _header_ms(headers, "x-mock-latency-ms")
        if override is not None:
            ttft_ms = override
        itl_override = _header_ms(headers, "x-mock-itl-ms")
        if itl_override is not None:
            itl_ms = itl_override
    ttft_ms += settings.prefill_ms_per_token * prompt_tokens
    return Timing(ttft=ttft_ms / 1000.0, itl=itl_ms / 1000.0)
