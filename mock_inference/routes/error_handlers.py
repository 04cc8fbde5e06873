"""Sanic's error handlers: every failure, Sanic's own included, in OpenAI's shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed, NotFound, PayloadTooLarge, SanicException
from sanic.response import HTTPResponse

from ..errors import TYPES, APIError, error_body, error_reply
from .respond import to_sanic

log = logging.getLogger("mock_inference")


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
    code: str | int | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    body = error_body(message, TYPES.get(status, "invalid_request_error"), None, code)
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json")


def _api_error(request: Request, exc: APIError) -> HTTPResponse:
    _count(request, exc.status_code)
    return to_sanic(error_reply(exc))


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


# A path prefix and how its clients expect errors: the OpenAI-shaped response re-rendered
# (an API with its own error shape, e.g. Anthropic's, registers one).
Dialect = tuple[str, Callable[[HTTPResponse], HTTPResponse]]
Handler = Callable[[Request, Any], HTTPResponse]


def _in_dialect(handler: Handler, dialects: tuple[Dialect, ...]) -> Handler:
    def handle(request: Request, exc: Any) -> HTTPResponse:
        response = handler(request, exc)
        for prefix, reshape in dialects:
            if request.path.startswith(prefix):
                return reshape(response)
        return response

    return handle


def register(app: Sanic[Any, Any], dialects: tuple[Dialect, ...] = ()) -> None:
    handlers: tuple[tuple[type[Exception], Handler], ...] = (
        (APIError, _api_error),
        (NotFound, _not_found),
        (MethodNotAllowed, _method_not_allowed),
        (PayloadTooLarge, _too_large),
        (SanicException, _sanic_error),
        (Exception, _unexpected),
    )
    for exc_type, handler in handlers:
        app.error_handler.add(exc_type, _in_dialect(handler, dialects) if dialects else handler)
