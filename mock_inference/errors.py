"""OpenAI-shaped errors: `{"error": {"message", "type", "param", "code"}}`.

Every failure leaves the server in this shape, including Sanic's own routing and
protocol errors, so SDKs map them to their typed exceptions and never see HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed, NotFound, PayloadTooLarge, SanicException
from sanic.response import HTTPResponse

from .reply import Reply

log = logging.getLogger("mock_inference")

# OpenAI's `type` for each status; clients mostly branch on the status code.
_TYPES = {
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
    529: "server_error",
}


class APIError(SanicException):
    """An error answered with OpenAI's JSON body. Raised anywhere in a handler."""

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
        super().__init__(message, status_code=status)
        self.status_code = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_ or _TYPES.get(status, "invalid_request_error")
        self.extra_headers = headers or {}


def invalid(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def error_body(
    message: str, type_: str, param: str | None = None, code: str | int | None = None
) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}
    )


def _count(request: Request, status: int) -> None:
    """Error answers show up in mock_http_requests_total like successful ones."""
    state = getattr(request.app.ctx, "state", None)
    if state is not None:
        route = request.route.path if request.route is not None else "unmatched"
        state.metrics.http[("/" + route.lstrip("/"), status)] += 1


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | int | None = None,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    body = error_body(message, type_ or _TYPES.get(status, "invalid_request_error"), param, code)
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json")


def error_reply(exc: APIError) -> Reply:
    return Reply(
        exc.status_code,
        error_body(exc.message, exc.type, exc.param, exc.code),
        exc.extra_headers,
    )


def _api_error(request: Request, exc: APIError) -> HTTPResponse:
    _count(request, exc.status_code)
    return error_reply(exc).to_sanic()


def _not_found(request: Request, exc: Exception) -> HTTPResponse:
    _count(request, 404)
    return error_response(404, f"Invalid URL ({request.method} {request.path})", code="not_found")


def _method_not_allowed(request: Request, exc: MethodNotAllowed) -> HTTPResponse:
    _count(request, 405)
    allowed = ", ".join(sorted(exc.allowed_methods or ())) if exc.allowed_methods else ""
    headers = {"allow": allowed} if allowed else None
    return error_response(
        405,
        f"Method {request.method} is not allowed for {request.path}",
        code="method_not_allowed",
        headers=headers,
    )


def _too_large(request: Request, exc: Exception) -> HTTPResponse:
    _count(request, 413)
    limit = request.app.config.REQUEST_MAX_SIZE
    return error_response(
        413, f"Request body is larger than the limit of {limit} bytes", code="payload_too_large"
    )


def _sanic_error(request: Request, exc: SanicException) -> HTTPResponse:
    status = getattr(exc, "status_code", 500) or 500
    _count(request, status)
    return error_response(status, str(exc) or "Request failed", code=None)


def _unexpected(request: Request, exc: Exception) -> HTTPResponse:
    log.exception("unhandled error on %s %s", request.method, request.path)
    _count(request, 500)
    return error_response(500, "The server had an error while processing your request.")


# A path prefix and how its clients expect errors: the OpenAI-shaped response re-rendered.
Dialect = tuple[str, Callable[[HTTPResponse], HTTPResponse]]


def _in_dialect(
    handler: Callable[..., HTTPResponse], dialects: tuple[Dialect, ...]
) -> Callable[[Request, Exception], HTTPResponse]:
    def handle(request: Request, exc: Exception) -> HTTPResponse:
        response = handler(request, exc)
        for prefix, reshape in dialects:
            if request.path.startswith(prefix):
                return reshape(response)
        return response

    return handle


def register(app: Sanic[Any, Any], dialects: tuple[Dialect, ...] = ()) -> None:
    for exc_type, handler in (
        (APIError, _api_error),
        (NotFound, _not_found),
        (MethodNotAllowed, _method_not_allowed),
        (PayloadTooLarge, _too_large),
        (SanicException, _sanic_error),
        (Exception, _unexpected),
    ):
        app.error_handler.add(exc_type, _in_dialect(handler, dialects) if dialects else handler)
