"""Application factory: Sanic config, error handlers, routes, worker wiring."""

from __future__ import annotations

from functools import partial
from typing import Any

from sanic import Sanic

from . import errors
from .config import Settings
from .messages.errors import reshape as anthropic_shape
from .peers import Peers, serve_own
from .routes import chat, completions, embeddings, messages, models, ops
from .state import State

APP_NAME = "mock_inference"


def create_app(
    settings: Settings | None = None,
    name: str = APP_NAME,
    counters: Any = None,
    peers: Peers | None = None,
) -> Sanic:
    """counters: the shared "fail first N" table, peers: the other workers to ask for
    their metrics; both only when several workers run (supervisor.py)."""
    settings = settings or Settings.from_env()
    app = Sanic(name)
    cfg = app.config
    cfg.REQUEST_MAX_SIZE = settings.max_body_bytes
    cfg.FALLBACK_ERROR_FORMAT = "json"  # belt and braces: our handlers cover every error
    cfg.GRACEFUL_SHUTDOWN_TIMEOUT = settings.graceful_shutdown_seconds
    cfg.ACCESS_LOG = False  # an access log line costs more than the request itself
    cfg.MOTD = False
    cfg.KEEP_ALIVE_TIMEOUT = 75  # outlive client pools' idle timeouts, like uvicorn/vLLM
    cfg.RESPONSE_TIMEOUT = max(600, int(settings.timeout_fault_seconds) + 60)
    cfg.REQUEST_TIMEOUT = 60

    state = State(settings, counters)
    app.ctx.state = state
    # Errors on the Messages routes (Sanic's 404/405/413 included) in Anthropic's shape.
    errors.register(app, dialects=(("/v1/messages", anthropic_shape),))
    chat.register(app, state)
    completions.register(app, state)
    embeddings.register(app, state)
    messages_api = messages.register(app, state)
    models.register(app, state)
    ops.register(app, state, peers)
    if settings.fast_path:
        # Read by fastpath.FastPathProtocol: the routes it may answer itself.
        app.ctx.fast_routes = {
            b"/v1/chat/completions": partial(chat.answer_now, state),
            b"/v1/completions": partial(completions.answer_now, state),
            b"/v1/embeddings": partial(embeddings.answer_now, state),
            b"/v1/messages": messages_api.answer_now,
            b"/v1/messages/count_tokens": messages_api.count_now,
        }

    if peers is not None:

        @app.after_server_start
        async def _answer_peers(app: Sanic) -> None:
            app.ctx.peer_server = await serve_own(peers, state.metrics.render)

        @app.before_server_stop
        async def _stop_answering(app: Sanic) -> None:
            server = getattr(app.ctx, "peer_server", None)
            if server is not None:
                server.close()

    return app
