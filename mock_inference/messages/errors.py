"""Anthropic's error shape and API-key check.

Every error on the Messages routes is
`{"type": "error", "error": {"type": ..., "message": ...}, "request_id": "req_..."}`
with the status Anthropic uses; the SDK picks its exception class from the status.
Errors raised by the shared helpers (JSON parsing, latency headers, injected faults)
are OpenAI-shaped `APIError`s and are re-rendered here, status and headers kept
(Sanic's own errors by routes/messages.reshape). No Sanic here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from ..errors import APIError
from ..reply import Reply
from .ids import new_id

# Anthropic's error `type` per status (docs: "Errors"); 529 is its "overloaded".
TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    return TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def invalid(message: str) -> APIError:
    """A 400 whose message is already in Anthropic's words (`field.path: problem`)."""
    return APIError(400, message, type_="invalid_request_error")


def request_id() -> str:
    return new_id("req_")


def body(status: int, message: str, rid: str) -> bytes:
    return orjson.dumps(
        {
            "type": "error",
            "error": {"type": error_type(status), "message": message},
            "request_id": rid,
        }
    )


def error_reply(exc: APIError) -> Reply:
    rid = request_id()
    return Reply(
        exc.status_code,
        body(exc.status_code, exc.message, rid),
        {**exc.extra_headers, "request-id": rid},
    )


def stream_error(message: str, status: int = 529) -> bytes:
    """The in-stream error event (Anthropic sends overloaded_error this way)."""
    data = orjson.dumps(
        {"type": "error", "error": {"type": error_type(status), "message": message}}
    )
    return b"event: error\ndata: " + data + b"\n\n"


class KeyCheck:
    """`x-api-key` (what the SDK sends) or `Authorization: Bearer` (its auth_token),
    checked against MOCK_API_KEY; nothing to check when no key is configured."""

    __slots__ = ("keys",)

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(keys)

    def __call__(self, headers: Any) -> None:
        if not self.keys:
            return
        key = headers.get("x-api-key")
        if key is None:
            auth = headers.get("authorization")
            if auth and auth.startswith("Bearer "):
                key = auth[7:]
        if key in self.keys:
            return
        message = "x-api-key header is required" if key is None else "invalid x-api-key"
        raise APIError(401, message, type_="authentication_error")
