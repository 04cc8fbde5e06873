"""OpenAI-shaped errors: `{"error": {"message", "type", "param", "code"}}`.

Every failure leaves the server in this shape, including Sanic's own routing and
protocol errors (routes/error_handlers.py), so SDKs map them to their typed
exceptions and never see HTML. This module is pure: no Sanic, so the validation,
timing and fault code that raise APIError stays free of the web framework.
"""

from __future__ import annotations

import orjson

from .reply import Reply

# OpenAI's `type` for each status; clients mostly branch on the status code.
TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "server_error",
    503: "server_error",
    529: "server_error",  # Anthropic's "overloaded", injectable on every route
}


class APIError(Exception):
    """An error answered with OpenAI's JSON body. Raised anywhere in a handler."""

    quiet = True  # an expected answer, not a server fault: Sanic need not log it

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | int | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_ or TYPES.get(status, "invalid_request_error")
        self.extra_headers = headers or {}


def invalid(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def error_body(
    message: str, type_: str, param: str | None = None, code: str | int | None = None
) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    )


def error_reply(exc: APIError) -> Reply:
    return Reply(
        exc.status_code,
        error_body(exc.message, exc.type, exc.param, exc.code),
        exc.extra_headers,
    )
