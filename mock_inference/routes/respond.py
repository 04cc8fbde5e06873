"""The one place a plain `Reply` becomes a Sanic response."""

from __future__ import annotations

from sanic.response import HTTPResponse

from ..reply import Reply


def to_sanic(reply: Reply) -> HTTPResponse:
    return HTTPResponse(
        reply.body, status=reply.status, headers=reply.headers, content_type=reply.content_type
    )
