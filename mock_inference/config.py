"""Settings read once from the environment.

Every knob is documented in README.md. Settings are a frozen dataclass: the worker
processes are forked (supervisor.py) and inherit them unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .cpus import parse_workers

REPLY_MODES = ("fixed", "echo", "filler", "script")
DEFAULT_REPLY = "This is a mock response from the development inference engine."


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _list(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    model_name: str = "mock-gpt"
    served_models: tuple[str, ...] = ()
    accept_unknown_models: bool = True
    max_model_len: int = 32768
    reply_mode: str = "fixed"
    reply_text: str = DEFAULT_REPLY
    filler_tokens: int = 32
    script_file: str | None = None
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    prefill_ms_per_token: float = 0.0
    fault_429_rate: float = 0.0
    fault_500_rate: float = 0.0
    retry_after_ms: int = 1000
    fail_first: int = 0
    fail_first_status: int = 429
    timeout_fault_seconds: float = 600.0
    api_keys: tuple[str, ...] = ()
    embedding_dim: int = 1536
    max_body_bytes: int = 4 * 1024 * 1024
    auto_tool_calls: bool = True
    graceful_shutdown_seconds: float = 1.0
    fast_path: bool = True
    responses_stored: int = 1000  # stored Responses kept, oldest dropped first
    memo_entries: int = 512  # request bodies remembered per worker (memo.py); 0: none
    memo_max_body: int = 64 * 1024  # larger bodies are never remembered

    @property
    def models(self) -> tuple[str, ...]:
        """MODEL_NAME first, then SERVED_MODELS without duplicates."""
        seen = [self.model_name]
        for name in self.served_models:
            if name not in seen:
                seen.append(name)
        return tuple(seen)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = env.get("MOCK_REPLY_MODE", "fixed").strip().lower() or "fixed"
        if mode not in REPLY_MODES:
            raise ValueError(f"MOCK_REPLY_MODE must be one of {REPLY_MODES}, got {mode!r}")
        script_file = env.get("MOCK_SCRIPT_FILE", "").strip() or None
        if mode == "script" and not script_file:
            raise ValueError("MOCK_REPLY_MODE=script needs MOCK_SCRIPT_FILE")
        settings = cls(
            host=env.get("MOCK_HOST", "127.0.0.1"),
            port=_int(env, "MOCK_PORT", 8000),
            workers=parse_workers(env.get("MOCK_WORKERS", "").strip() or "1"),
            model_name=env.get("MODEL_NAME", "mock-gpt").strip() or "mock-gpt",
            served_models=_list(env.get("SERVED_MODELS")),
            accept_unknown_models=_bool(env.get("ACCEPT_UNKNOWN_MODELS"), True),
            max_model_len=_int(env, "MOCK_MAX_MODEL_LEN", 32768),
            reply_mode=mode,
            reply_text=env.get("MOCK_REPLY_TEXT", DEFAULT_REPLY),
            filler_tokens=_int(env, "MOCK_FILLER_TOKENS", 32),
            script_file=script_file,
            ttft_ms=_float(env, "MOCK_TTFT_MS", 0.0),
            itl_ms=_float(env, "MOCK_ITL_MS", 0.0),
            prefill_ms_per_token=_float(env, "MOCK_PREFILL_MS_PER_TOKEN", 0.0),
            fault_429_rate=_float(env, "MOCK_FAULT_429_RATE", 0.0),
            fault_500_rate=_float(env, "MOCK_FAULT_500_RATE", 0.0),
            retry_after_ms=_int(env, "MOCK_RETRY_AFTER_MS", 1000),
            fail_first=_int(env, "MOCK_FAIL_FIRST", 0),
            fail_first_status=_int(env, "MOCK_FAIL_FIRST_STATUS", 429),
            timeout_fault_seconds=_float(env, "MOCK_TIMEOUT_FAULT_SECONDS", 600.0),
            api_keys=_list(env.get("MOCK_API_KEY")),
            embedding_dim=_int(env, "MOCK_EMBEDDING_DIM", 1536),
            max_body_bytes=_int(env, "MOCK_MAX_BODY_BYTES", 4 * 1024 * 1024),
            auto_tool_calls=_bool(env.get("MOCK_AUTO_TOOL_CALLS"), True),
            graceful_shutdown_seconds=_float(env, "MOCK_GRACEFUL_SHUTDOWN_SECONDS", 1.0),
            fast_path=_bool(env.get("MOCK_FAST_PATH"), True),
            responses_stored=_int(env, "MOCK_RESPONSES_STORED", 1000),
            memo_entries=_int(env, "MOCK_MEMO_ENTRIES", 512),
            memo_max_body=_int(env, "MOCK_MEMO_MAX_BODY_BYTES", 64 * 1024),
        )
        settings.check()
        return settings

    def check(self) -> None:
        for name in ("fault_429_rate", "fault_500_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {rate}")
        if self.fault_429_rate + self.fault_500_rate > 1.0:
            raise ValueError("MOCK_FAULT_429_RATE + MOCK_FAULT_500_RATE must not exceed 1")
        if self.embedding_dim < 1:
            raise ValueError("MOCK_EMBEDDING_DIM must be at least 1")
        if self.filler_tokens < 0:
            raise ValueError("MOCK_FILLER_TOKENS must not be negative")
        if self.fail_first_status not in (429, 500, 502, 503, 529):
            raise ValueError("MOCK_FAIL_FIRST_STATUS must be one of 429, 500, 502, 503, 529")
        if self.responses_stored < 1:
            raise ValueError("MOCK_RESPONSES_STORED must be at least 1")
        if self.memo_entries < 0 or self.memo_max_body < 0:
            raise ValueError("MOCK_MEMO_ENTRIES and MOCK_MEMO_MAX_BODY_BYTES must not be negative")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
